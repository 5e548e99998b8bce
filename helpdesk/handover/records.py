"""helpdesk's own record types in the handover file: how each is exported and imported.

Natural keys: user → username; service_hours → weekday; calendar_day → date;
call → call_id; email → message_id; inquiry → ref; escalation, complaint and
security_incident → "key" (their handover_key UUID; a line without one gets a key derived
from its content, so re-importing a hand-written file is still idempotent). Canned
responses and internal notes: `helpdesk.handover.desk_records`.

The service week is written whole (a closed weekday with null hours). Records carry their
`created_at` / `updated_at`, set only when the import creates the row (codec.restore_stamps).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection, models
from django.db.models import OuterRef, Subquery

from helpdesk.audit import audit_record
from helpdesk.db import bulk_insert
from helpdesk.handover import bulk, codec, desk_records  # noqa: F401  (desk_records registers its types)
from helpdesk.handover.audit import audit_update
from helpdesk.handover.codec import (
    ImportContext,
    UnresolvedReference,
    b64decode,
    b64encode,
    boolean,
    format_clock,
    format_time,
    integer,
    parse_clock,
    parse_date,
    required_text,
    text,
    upsert,
)
from helpdesk.handover.registry import register_record_type
from helpdesk.models import (
    AgentProfile,
    Attachment,
    AuditEvent,
    CalendarDay,
    Call,
    Complaint,
    EmailMessage,
    Escalation,
    Inquiry,
    SecurityIncident,
    ServiceHours,
)

CHUNK = 2000


def _bulk(model, key_field: str, parse, *, prefetch=None, after=None):
    """A bulk importer from a per-line `parse(data, ctx) -> (key, values)`: the stored rows
    of all lines are fetched in one query and the new ones inserted with bulk_create."""

    def bulk_importer(items: list[dict], priors: list[str | None], ctx: ImportContext) -> list[str]:
        try:
            if prefetch is not None:
                prefetch(items, ctx)
            results: list[str] = [""] * len(items)
            parsed = []
            for index, data in enumerate(items):
                try:
                    key, values = parse(data, ctx)
                except UnresolvedReference:
                    if ctx.final:
                        raise
                    results[index] = "defer"
                    continue
                parsed.append((index, key, values, codec.line_stamps(model, data)))
            keys = [key for _, key, _, _ in parsed]
            if len(set(keys)) != len(keys):
                raise ValueError("the same key twice among lines imported together")
            existing = model._default_manager.in_bulk(keys, field_name=key_field) if keys else {}
            new, new_stamps, touched = [], [], []
            for index, key, values, stamps in parsed:
                instance = existing.get(key)
                if instance is None:
                    instance = model(**{key_field: key}, **values)
                    codec.clean(instance)
                    new.append(instance)
                    new_stamps.append((instance, stamps))
                    results[index] = "created"
                else:
                    results[index] = audit_update(
                        instance, codec.update_existing(instance, values), ctx, prior=priors[index]
                    )
                touched.append(instance)
            model._default_manager.bulk_create(new, batch_size=500)
            codec.restore_stamps(model, new_stamps)
            if after is not None:
                after(touched)
            return results
        finally:
            ctx.clear_cache()

    return bulk_importer


def export_users():
    user_model = get_user_model()
    profiles = dict(AgentProfile.objects.values_list("user_id", "pbx_login"))
    for user in user_model._default_manager.order_by("pk").iterator(chunk_size=CHUNK):
        yield {
            "type": "user",
            "username": user.get_username(),
            "first_name": getattr(user, "first_name", ""),
            "last_name": getattr(user, "last_name", ""),
            "email": getattr(user, "email", ""),
            "pbx_login": profiles.get(user.pk, ""),
        }


def import_user(data: dict, ctx: ImportContext) -> str:
    """A missing user is created inactive, without password or role; an existing one is
    left as the receiving instance has it (only a missing PBX login is added)."""
    user_model = get_user_model()
    username = required_text(data, "username")
    pbx_login = text(data, "pbx_login")
    user = user_model._default_manager.filter(**{user_model.USERNAME_FIELD: username}).first()
    outcome = "unchanged"
    if user is None:
        user = user_model(
            **{user_model.USERNAME_FIELD: username},
            first_name=text(data, "first_name"),
            last_name=text(data, "last_name"),
            email=text(data, "email"),
            is_active=False,
        )
        user.set_unusable_password()
        user.full_clean(exclude=["password"])
        user.save()
        outcome = "created"
    if pbx_login and not AgentProfile.objects.filter(user=user).exists():
        if AgentProfile.objects.filter(pbx_login=pbx_login).exists():
            raise ValueError(f"PBX login {pbx_login!r} already belongs to another user")
        AgentProfile.objects.create(user=user, pbx_login=pbx_login)
        outcome = "created" if outcome == "created" else "updated"
    return outcome


def export_service_hours():
    """The whole week, one line per weekday: a closed weekday (no ServiceHours row) is written
    with null hours, so that the receiving instance closes it too (its fresh database opens
    Monday–Friday by default)."""
    rows = {row.weekday: row for row in ServiceHours.objects.all()}
    for weekday in range(7):
        row = rows.get(weekday)
        yield {
            "type": "service_hours",
            "weekday": weekday,
            "opens_at": format_clock(row.opens_at) if row else None,
            "closes_at": format_clock(row.closes_at) if row else None,
        }


def import_service_hours(data: dict, ctx: ImportContext) -> str:
    weekday = integer(data, "weekday")
    if weekday is None:
        raise KeyError("weekday")
    if weekday < 0 or weekday > 6:
        raise ValueError("field 'weekday' must be 0 (Monday) to 6 (Sunday)")
    opens_at = parse_clock(data["opens_at"], field="opens_at")
    closes_at = parse_clock(data["closes_at"], field="closes_at")
    if opens_at is None and closes_at is None:
        return _close_weekday(weekday, ctx)
    if opens_at is None or closes_at is None:
        raise ValueError("'opens_at' and 'closes_at' are both set (open) or both null (closed)")
    values = {"opens_at": opens_at, "closes_at": closes_at}
    instance, outcome = upsert(ServiceHours, lookup={"weekday": weekday}, values=values)
    return audit_update(instance, outcome, ctx)


def _close_weekday(weekday: int, ctx: ImportContext) -> str:
    """A weekday the file says is closed: its row goes (audited), if there is one."""
    row = ServiceHours.objects.filter(weekday=weekday).first()
    if row is None:
        return "unchanged"
    old = {"opens_at": format_clock(row.opens_at), "closes_at": format_clock(row.closes_at)}
    row.delete()
    audit_record(
        actor=getattr(ctx.run, "created_by", None),
        action=AuditEvent.Action.DELETE,
        object_type="helpdesk.servicehours",
        object_id=str(weekday),
        changes={"old": old, "new": None},
        note=f"handover import run {getattr(ctx.run, 'pk', '')}",
    )
    return "updated"


def export_calendar_days():
    for row in CalendarDay.objects.order_by("date").iterator(chunk_size=CHUNK):
        yield {
            "type": "calendar_day",
            "date": row.date.isoformat(),
            "kind": row.kind,
            "opens_at": format_clock(row.opens_at),
            "closes_at": format_clock(row.closes_at),
            "note": row.note,
        }


def import_calendar_day(data: dict, ctx: ImportContext) -> str:
    values = {
        "kind": required_text(data, "kind"),
        "opens_at": parse_clock(data.get("opens_at"), field="opens_at"),
        "closes_at": parse_clock(data.get("closes_at"), field="closes_at"),
        "note": text(data, "note"),
    }
    instance, outcome = upsert(CalendarDay, lookup={"date": parse_date(data["date"], field="date")}, values=values)
    return audit_update(instance, outcome, ctx)


CALL_TIMES = ("arrived_at", "queued_at", "answered_at", "ended_at")


def export_calls():
    for c in Call.objects.order_by("pk").iterator(chunk_size=CHUNK):
        yield {
            "type": "call",
            "call_id": c.call_id,
            "arrived_at": format_time(c.arrived_at),
            "caller": c.caller,
            "outcome": c.outcome,
            "in_service_hours": c.in_service_hours,
            "queue": c.queue,
            "queued_at": format_time(c.queued_at),
            "answered_at": format_time(c.answered_at),
            "ended_at": format_time(c.ended_at),
            "agent": c.agent,
            "acw_seconds": c.acw_seconds,
            "source": c.source,
            "content_hash": c.content_hash,
            "created_at": format_time(c.created_at),
            "updated_at": format_time(c.updated_at),
        }


def import_call(data: dict, ctx: ImportContext) -> str:
    key, values = _parse_call(data, ctx)
    instance, outcome = upsert(Call, lookup={"call_id": key}, values=values, stamps=codec.line_stamps(Call, data))
    return audit_update(instance, outcome, ctx)


def _parse_call(data: dict, ctx: ImportContext) -> tuple[str, dict]:
    outcome_value = required_text(data, "outcome")
    values = {
        "arrived_at": ctx.time(data, "arrived_at", required=True),
        "caller": text(data, "caller"),
        "outcome": outcome_value,
        "in_service_hours": boolean(data, "in_service_hours", default=outcome_value != Call.Outcome.OUT_OF_HOURS),
        "queue": text(data, "queue"),
        "queued_at": ctx.time(data, "queued_at"),
        "answered_at": ctx.time(data, "answered_at"),
        "ended_at": ctx.time(data, "ended_at"),
        "agent": text(data, "agent"),
        "acw_seconds": integer(data, "acw_seconds"),
        "source": text(data, "source") or Call.Source.HANDOVER,
        "content_hash": text(data, "content_hash"),
    }
    return required_text(data, "call_id"), values


def export_emails():
    qs = (
        EmailMessage.objects.select_related("inquiry")
        .only("inquiry__ref", *[f.name for f in EmailMessage._meta.concrete_fields])
        .prefetch_related("attachments")
        .order_by("pk")
    )
    for m in qs.iterator(chunk_size=500):
        yield {
            "type": "email",
            "message_id": m.message_id,
            "direction": m.direction,
            "source": m.source,
            "inquiry": codec.inquiry_reference(m.inquiry.ref if m.inquiry_id else None),
            "from_address": m.from_address,
            "from_name": m.from_name,
            "to_addresses": m.to_addresses,
            "subject": m.subject,
            "body_text": m.body_text,
            "body_html": m.body_html,
            "in_reply_to": m.in_reply_to,
            "references": m.references,
            "sent_at": format_time(m.sent_at),
            "received_at": format_time(m.received_at),
            "is_auto_acknowledgement": m.is_auto_acknowledgement,
            "charset_problem": m.charset_problem,
            "send_status": m.send_status,
            "send_attempts": m.send_attempts,
            "last_send_error": m.last_send_error,
            "raw": b64encode(m.raw),
            "attachments": [_attachment_out(a) for a in sorted(m.attachments.all(), key=lambda a: a.pk)],
            "created_at": format_time(m.created_at),
        }


def _attachment_out(a: Attachment) -> dict[str, Any]:
    return {
        "filename": a.filename,
        "content_type": a.content_type,
        "size": a.size,
        "content": b64encode(a.content),
        "truncated": a.truncated,
    }


def _attachments_in(data: dict) -> list[dict[str, Any]]:
    items = data.get("attachments") or []
    if not isinstance(items, list):
        raise ValueError("field 'attachments' must be a list")
    out = []
    for item in items:
        if not isinstance(item, dict):
            raise ValueError("each attachment must be an object")
        size = integer(item, "size")
        if size is None or size < 0:
            raise ValueError("attachment needs a non-negative 'size'")
        content = item.get("content")
        out.append(
            {
                "filename": text(item, "filename"),
                "content_type": text(item, "content_type"),
                "size": size,
                "content": None if content is None else b64decode(content, field="attachments.content"),
                "truncated": boolean(item, "truncated"),
            }
        )
    return out


def _parse_email(data: dict, ctx: ImportContext) -> tuple[str, dict, list[dict], bool]:
    """(message_id, values, attachments, retry): `retry` when the inquiry it links to is
    not there yet (the message is stored now, the link set when the line is retried)."""
    inquiry, retry = None, False
    reference = data.get("inquiry")
    if reference is not None:
        try:
            inquiry = ctx.inquiry(reference)
        except UnresolvedReference:
            if ctx.final:
                raise
            retry = True
    values = {
        "direction": required_text(data, "direction"),
        "source": text(data, "source") or EmailMessage.Source.HANDOVER,
        "from_address": text(data, "from_address"),
        "from_name": text(data, "from_name"),
        "to_addresses": text(data, "to_addresses"),
        "subject": text(data, "subject"),
        "body_text": text(data, "body_text"),
        "body_html": text(data, "body_html"),
        "in_reply_to": text(data, "in_reply_to"),
        "references": text(data, "references"),
        "sent_at": ctx.time(data, "sent_at"),
        "received_at": ctx.time(data, "received_at"),
        "is_auto_acknowledgement": boolean(data, "is_auto_acknowledgement"),
        "charset_problem": boolean(data, "charset_problem"),
        "send_status": text(data, "send_status"),
        "send_attempts": integer(data, "send_attempts", default=0),
        "last_send_error": text(data, "last_send_error"),
        "raw": b64decode(data["raw"], field="raw"),
    }
    if inquiry is not None:
        # Links are set or moved by the file, never removed: a message without an
        # "inquiry" keeps the link its inquiry line gave it (the opening message).
        values["inquiry"] = inquiry
    return required_text(data, "message_id"), values, _attachments_in(data), retry


def _sync_attachments(instance: EmailMessage, wanted: list[dict], stored: list[dict], outcome: str) -> str:
    """Make the message's attachments those of the line; an unchanged message whose
    attachments differ becomes "updated"."""
    if [{**a, "content": b64encode(a["content"])} for a in wanted] == stored:
        return outcome
    if stored:
        instance.attachments.all().delete()
    Attachment.objects.bulk_create([Attachment(message=instance, **a) for a in wanted])
    if outcome == "unchanged":
        instance._handover_changed = ["attachments"]  # type: ignore[attr-defined]  # read by audit_update
        return "updated"
    return outcome


def import_email(data: dict, ctx: ImportContext) -> str:
    key, values, attachments, retry = _parse_email(data, ctx)
    if retry:
        ctx.retry_later()
    instance, outcome = upsert(
        EmailMessage, lookup={"message_id": key}, values=values, stamps=codec.line_stamps(EmailMessage, data)
    )
    stored = [_attachment_out(a) for a in instance.attachments.order_by("pk")] if outcome != "created" else []
    outcome = _sync_attachments(instance, attachments, stored, outcome)
    return audit_update(instance, outcome, ctx)


def bulk_import_emails(items: list[dict], priors: list[str | None], ctx: ImportContext) -> list[str]:
    """Many messages at once: their inquiries, stored rows and attachments in one query
    each, the new ones inserted with bulk_create."""
    try:
        ctx.prefetch("ref", {d["inquiry"].get("ref") for d in items if isinstance(d.get("inquiry"), dict)})
        parsed = [_parse_email(data, ctx) for data in items]
        keys = [p[0] for p in parsed]
        if len(set(keys)) != len(keys):
            raise ValueError("the same key twice among lines imported together")
        existing = EmailMessage.objects.in_bulk(keys, field_name="message_id")
        stored: dict[int, list[dict]] = {}
        for a in Attachment.objects.filter(message__in=list(existing.values())).order_by("pk"):
            stored.setdefault(a.message_id, []).append(_attachment_out(a))
        results, new, new_stamps = [], [], []
        new_attachments: list[Attachment] = []
        for index, (key, values, attachments, retry) in enumerate(parsed):
            instance = existing.get(key)
            if instance is None:
                instance = EmailMessage(message_id=key, **values)
                codec.clean(instance)
                new.append((instance, attachments))
                new_stamps.append((instance, codec.line_stamps(EmailMessage, items[index])))
                outcome = "created"
            else:
                outcome = codec.update_existing(instance, values)
                outcome = _sync_attachments(instance, attachments, stored.get(instance.pk, []), outcome)
                outcome = audit_update(instance, outcome, ctx, prior=priors[index])
            results.append(outcome + ("+retry" if retry else ""))
        EmailMessage.objects.bulk_create([m for m, _ in new], batch_size=200)
        codec.restore_stamps(EmailMessage, new_stamps)
        for message, attachments in new:
            new_attachments.extend(Attachment(message=message, **a) for a in attachments)
        Attachment.objects.bulk_create(new_attachments, batch_size=200)
        return results
    finally:
        ctx.clear_cache()


def export_inquiries():
    qs = Inquiry.objects.select_related("call", "assigned_to", "created_by").order_by("pk")
    for i in qs.values(
        "ref",
        "channel",
        "status",
        "received_at",
        "call__call_id",
        "source_message__message_id",
        "category",
        "subject",
        "body",
        "resolution",
        "ministry_guidance",
        "requester_name",
        "requester_email",
        "requester_phone",
        "requester_organization",
        "assigned_to__username",
        "created_by__username",
        "first_answered_at",
        "wrapup_completed_at",
        "resolved_at",
        "version",
        "created_at",
        "updated_at",
    ).iterator(chunk_size=CHUNK):
        yield {
            "type": "inquiry",
            "ref": i["ref"],
            "channel": i["channel"],
            "status": i["status"],
            "received_at": format_time(i["received_at"]),
            "call_id": i["call__call_id"],
            "message_id": i["source_message__message_id"],
            "category": i["category"],
            "subject": i["subject"],
            "body": i["body"],
            "resolution": i["resolution"],
            "ministry_guidance": i["ministry_guidance"],
            "requester_name": i["requester_name"],
            "requester_email": i["requester_email"],
            "requester_phone": i["requester_phone"],
            "requester_organization": i["requester_organization"],
            "assigned_to": i["assigned_to__username"],
            "created_by": i["created_by__username"],
            "first_answered_at": format_time(i["first_answered_at"]),
            "wrapup_completed_at": format_time(i["wrapup_completed_at"]),
            "resolved_at": format_time(i["resolved_at"]),
            "version": i["version"],
            "created_at": format_time(i["created_at"]),
            "updated_at": format_time(i["updated_at"]),
        }


def import_inquiry(data: dict, ctx: ImportContext) -> str:
    key, values = _parse_inquiry(data, ctx)
    instance, outcome = upsert(Inquiry, lookup={"ref": key}, values=values, stamps=codec.line_stamps(Inquiry, data))
    message = values["source_message"]
    if message is not None and message.inquiry_id is None:
        # The opening message belongs to the inquiry it opened.
        EmailMessage.objects.filter(pk=message.pk, inquiry__isnull=True).update(inquiry=instance)
    return audit_update(instance, outcome, ctx)


def _prefetch_refs(items: list[dict], ctx: ImportContext) -> None:
    refs = {d["inquiry"].get("ref") for d in items if isinstance(d.get("inquiry"), dict)}
    ctx.prefetch("ref", refs)


def _prefetch_inquiry_refs(items: list[dict], ctx: ImportContext) -> None:
    ctx.prefetch("call", {d.get("call_id") for d in items})
    ctx.prefetch("message", {d.get("message_id") for d in items})


def _link_opening_messages(inquiries: list) -> None:
    ids = [i.source_message_id for i in inquiries if i.source_message_id]
    if ids:
        opened = Inquiry.objects.filter(source_message=OuterRef("pk")).values("pk")[:1]
        EmailMessage.objects.filter(pk__in=ids, inquiry__isnull=True).update(inquiry=Subquery(opened))


def _parse_inquiry(data: dict, ctx: ImportContext) -> tuple[str, dict]:
    call = ctx.call(data["call_id"]) if data.get("call_id") else None
    message = ctx.message(data["message_id"]) if data.get("message_id") else None
    version = integer(data, "version", default=1)
    values = {
        "channel": required_text(data, "channel"),
        "status": text(data, "status") or Inquiry.Status.NEW,
        "received_at": ctx.time(data, "received_at", required=True),
        "call": call,
        "source_message": message,
        "category": text(data, "category"),
        "subject": text(data, "subject"),
        "body": text(data, "body"),
        "resolution": text(data, "resolution"),
        "ministry_guidance": boolean(data, "ministry_guidance"),
        "requester_name": text(data, "requester_name"),
        "requester_email": text(data, "requester_email"),
        "requester_phone": text(data, "requester_phone"),
        "requester_organization": text(data, "requester_organization"),
        "assigned_to": ctx.user(data.get("assigned_to")),
        "created_by": ctx.user(data.get("created_by")),
        "first_answered_at": ctx.time(data, "first_answered_at"),
        "wrapup_completed_at": ctx.time(data, "wrapup_completed_at"),
        "resolved_at": ctx.time(data, "resolved_at"),
        "version": version,
    }
    return required_text(data, "ref"), values


def _keyed_export(type_name: str, model, fields: tuple[str, ...]):
    """The export of a record type keyed by its handover_key: a line per row, "type" and "key"
    first, then `fields` in that order — a foreign key to a user as its username, to an
    inquiry as its reference, a date-time in the file's time format, anything else as stored."""
    paths = {}
    for name in fields:
        field = model._meta.get_field(name)
        if field.is_relation:
            paths[name] = f"{name}__ref" if field.related_model is Inquiry else f"{name}__username"
        else:
            paths[name] = name

    def export():
        qs = model.objects.order_by("pk").values("handover_key", *paths.values())
        for row in qs.iterator(chunk_size=CHUNK):
            line = {"type": type_name, "key": str(row["handover_key"])}
            for name, path in paths.items():
                value = row[path]
                if path == "inquiry__ref":
                    value = codec.inquiry_reference(value)
                elif isinstance(model._meta.get_field(name), models.DateTimeField):
                    value = format_time(value)
                line[name] = value
            yield line

    return export


def _keyed_import(model, parse):
    """The line-by-line import of a record type keyed by its handover_key (`parse`: the line's
    key and values)."""

    def import_line(data: dict, ctx: ImportContext) -> str:
        key, values = parse(data, ctx)
        instance, outcome = upsert(
            model, lookup={"handover_key": key}, values=values, stamps=codec.line_stamps(model, data)
        )
        return audit_update(instance, outcome, ctx)

    return import_line


def _parse_escalation(data: dict, ctx: ImportContext) -> tuple:
    inquiry = ctx.inquiry(data["inquiry"])
    target = required_text(data, "target")
    escalated_at = ctx.time(data, "escalated_at", required=True)
    key = codec.parse_key(data.get("key")) or codec.derived_key(
        "escalation", inquiry.ref, target, escalated_at.isoformat()
    )
    values = {
        "inquiry": inquiry,
        "target": target,
        "organization": text(data, "organization"),
        "escalated_at": escalated_at,
        "returned_at": ctx.time(data, "returned_at"),
        "note": text(data, "note"),
        "answer": text(data, "answer"),
        "requested_by": ctx.user(data.get("requested_by")),
        "escalated_by": ctx.user(data.get("escalated_by")),
    }
    return key, values


def _parse_complaint(data: dict, ctx: ImportContext) -> tuple:
    inquiry = ctx.inquiry(data["inquiry"])
    received_at = ctx.time(data, "received_at", required=True)
    key = codec.parse_key(data.get("key")) or codec.derived_key("complaint", inquiry.ref, received_at.isoformat())
    values = {
        "inquiry": inquiry,
        "received_at": received_at,
        "cause": text(data, "cause") or Complaint.Cause.UNCONFIRMED,
        "description": text(data, "description"),
        "recorded_by": ctx.user(data.get("recorded_by")),
        "confirmed_by": ctx.user(data.get("confirmed_by")),
        "confirmed_at": ctx.time(data, "confirmed_at"),
    }
    return key, values


def _parse_security_incident(data: dict, ctx: ImportContext) -> tuple:
    occurred_at = ctx.time(data, "occurred_at", required=True)
    detected_at = ctx.time(data, "detected_at", required=True)
    severity = required_text(data, "severity")
    kind = text(data, "kind") or SecurityIncident.Kind.OTHER
    key = codec.parse_key(data.get("key")) or codec.derived_key(
        "security_incident", occurred_at.isoformat(), detected_at.isoformat(), kind
    )
    values = {
        "occurred_at": occurred_at,
        "detected_at": detected_at,
        "severity": severity,
        "kind": kind,
        "description": text(data, "description"),
        "reported_by": ctx.user(data.get("reported_by")),
    }
    return key, values


def _copy_or(copy_importer, orm_importer):
    """The bulk importer of a type: the COPY importer when the run uses it (ctx.copy,
    PostgreSQL), else the ORM bulk importer (SQLite)."""

    def bulk_importer(
        items: list[dict], priors: list[str | None], ctx: ImportContext, prepared: bulk.Prepared | None = None
    ) -> list[str]:
        if ctx.copy:
            return copy_importer(items, priors, ctx, prepared)
        return orm_importer(items, priors, ctx)

    return bulk_importer


def _copy(copy_type: bulk.CopyType, on_stored=None):
    def importer(
        items: list[dict], priors: list[str | None], ctx: ImportContext, prepared: bulk.Prepared | None = None
    ) -> list[str]:
        return bulk.copy_import(copy_type, items, priors, ctx, on_stored=on_stored, prepared=prepared)

    return importer


def _prepare(copy_type: bulk.CopyType):
    def prepare(items: list[dict], priors: list[str | None]) -> bulk.Prepared | None:
        if bulk.wants_prepare(copy_type, priors):
            return bulk.prepare_rows(copy_type, items)
        return bulk.prepare_links(copy_type, items)

    return prepare


def _email_attachments(parsed: list, results: list[str], ids: dict, stored_at: dict) -> set[int]:
    """Attachments of the emails just written in bulk: COPYed for new messages; for stored
    ones compared with the line and replaced when they differ (as _sync_attachments)."""
    rows: list[tuple] = []
    for index, (key, _values, rest) in enumerate(parsed):
        if results[index] == "created":
            message = ids[key]
            rows.extend(
                (message, a["filename"], a["content_type"], a["size"], a["content"], a["truncated"]) for a in rest[0]
            )
    if rows:
        bulk_insert(Attachment, ["message", "filename", "content_type", "size", "content", "truncated"], rows)
    changed: set[int] = set()
    by_pk = {pk: index for index, (pk, _c, _f) in stored_at.items() if results[index] != "defer"}
    if by_pk:
        stored: dict[int, list[dict]] = {}
        for a in Attachment.objects.filter(message_id__in=list(by_pk)).order_by("pk"):
            stored.setdefault(a.message_id, []).append(_attachment_out(a))
        for pk, index in by_pk.items():
            wanted = parsed[index][2][0]
            if [{**a, "content": b64encode(a["content"])} for a in wanted] != stored.get(pk, []):
                Attachment.objects.filter(message_id=pk).delete()
                Attachment.objects.bulk_create([Attachment(message_id=pk, **a) for a in wanted])
                changed.add(index)
    return changed


def _parse_email_bulk(data: dict, ctx) -> tuple:
    key, values, attachments, _retry = _parse_email(data, ctx)
    return key, values, attachments


COPY_CALL = bulk.CopyType(Call, "call_id", _parse_call)


def _email_link(data: dict) -> tuple[Any, str, str]:
    """A retried email line's key and inquiry reference (the link-only retry)."""
    return data["message_id"], *codec.parse_inquiry_reference(data["inquiry"])


COPY_EMAIL = bulk.CopyType(
    EmailMessage,
    "message_id",
    _parse_email_bulk,
    pending=("inquiry",),
    keep_if_null=("inquiry",),
    link_line=_email_link,
)


COPY_INQUIRY = bulk.CopyType(Inquiry, "ref", _parse_inquiry, pending=("call", "source_message"))


COPY_ESCALATION = bulk.CopyType(Escalation, "handover_key", _parse_escalation, pending=("inquiry",))


COPY_COMPLAINT = bulk.CopyType(Complaint, "handover_key", _parse_complaint, pending=("inquiry",))


COPY_INCIDENT = bulk.CopyType(SecurityIncident, "handover_key", _parse_security_incident)


def _link_opening_messages_sql(copy_type: bulk.CopyType):
    """After inquiries are written in bulk: the opening message belongs to the inquiry it
    opened, when it has no inquiry yet (import_inquiry's rule), one UPDATE."""

    def importer(
        items: list[dict], priors: list[str | None], ctx: ImportContext, prepared: bulk.Prepared | None = None
    ) -> list[str]:
        results = bulk.copy_import(copy_type, items, priors, ctx, prepared=prepared)

        with connection.cursor() as cursor:
            # By key, probe by probe (the messages without an inquiry may be most of the
            # table mid-import: never a hash of them, nor of the inquiries, per batch).
            pairs = (
                f"SELECT r.source_message_id AS message, t.id AS inquiry FROM {bulk.resolved_source(copy_type)} "
                f"JOIN LATERAL (SELECT x.id FROM {Inquiry._meta.db_table} x WHERE x.ref = s.ref OFFSET 0) t ON true "
                "WHERE r.source_message_id IS NOT NULL"
            )
            table = EmailMessage._meta.db_table
            update = (
                f"UPDATE {table} m SET inquiry_id = p.inquiry FROM p "
                "WHERE m.id = p.message AND m.inquiry_id IS NULL RETURNING m.id, m.xmin"
            )
            if not ctx.links_noted:
                cursor.execute(f"WITH p AS MATERIALIZED ({pairs}) {update}")
            else:
                # Messages noted for a link-only retry and untouched since (`intact`: read in
                # the statement's snapshot, before this write moves their xmin) keep it: their
                # note takes the xmin of this write, which is their link. One statement, in
                # the server (the pairs never cross to the importer and back).
                links = bulk.links_table(cursor, COPY_EMAIL)
                cursor.execute(
                    f"WITH p AS MATERIALIZED ({pairs}), "
                    f"intact AS MATERIALIZED (SELECT h.pk FROM {links} h JOIN {table} m ON m.id = h.pk AND m.xmin = h.x "
                    "WHERE h.pk IN (SELECT message FROM p)), "
                    f"u AS ({update}) "
                    f"UPDATE {links} h SET x = u.xmin FROM u JOIN intact ON intact.pk = u.id WHERE h.pk = u.id"
                )
        return results

    return importer


register_record_type("user", export_users, import_user, 10, counter=lambda: get_user_model()._default_manager.count())


# The whole week is written, closed weekdays too: always seven lines.
register_record_type("service_hours", export_service_hours, import_service_hours, 12, counter=lambda: 7)


register_record_type("calendar_day", export_calendar_days, import_calendar_day, 14, CalendarDay.objects.count)


register_record_type(
    "call",
    export_calls,
    import_call,
    20,
    Call.objects.count,
    bulk_importer=_copy_or(_copy(COPY_CALL), _bulk(Call, "call_id", _parse_call)),
    bulk_prepare=_prepare(COPY_CALL),
)


register_record_type(
    "email",
    export_emails,
    import_email,
    30,
    EmailMessage.objects.count,
    bulk_importer=_copy_or(_copy(COPY_EMAIL, on_stored=_email_attachments), bulk_import_emails),
    bulk_prepare=_prepare(COPY_EMAIL),
)


register_record_type(
    "inquiry",
    export_inquiries,
    import_inquiry,
    40,
    Inquiry.objects.count,
    bulk_importer=_copy_or(
        _link_opening_messages_sql(COPY_INQUIRY),
        _bulk(Inquiry, "ref", _parse_inquiry, prefetch=_prefetch_inquiry_refs, after=_link_opening_messages),
    ),
    bulk_prepare=_prepare(COPY_INQUIRY),
)


register_record_type(
    "escalation",
    _keyed_export(
        "escalation",
        Escalation,
        (
            "inquiry",
            "target",
            "organization",
            "escalated_at",
            "returned_at",
            "note",
            "answer",
            "requested_by",
            "escalated_by",
            "created_at",
        ),
    ),
    _keyed_import(Escalation, _parse_escalation),
    50,
    Escalation.objects.count,
    bulk_importer=_copy_or(
        _copy(COPY_ESCALATION), _bulk(Escalation, "handover_key", _parse_escalation, prefetch=_prefetch_refs)
    ),
    bulk_prepare=_prepare(COPY_ESCALATION),
)


register_record_type(
    "complaint",
    _keyed_export(
        "complaint",
        Complaint,
        ("inquiry", "received_at", "cause", "description", "recorded_by", "confirmed_by", "confirmed_at", "created_at"),
    ),
    _keyed_import(Complaint, _parse_complaint),
    60,
    Complaint.objects.count,
    bulk_importer=_copy_or(
        _copy(COPY_COMPLAINT), _bulk(Complaint, "handover_key", _parse_complaint, prefetch=_prefetch_refs)
    ),
    bulk_prepare=_prepare(COPY_COMPLAINT),
)


register_record_type(
    "security_incident",
    _keyed_export(
        "security_incident",
        SecurityIncident,
        ("occurred_at", "detected_at", "severity", "kind", "description", "reported_by", "created_at"),
    ),
    _keyed_import(SecurityIncident, _parse_security_incident),
    70,
    SecurityIncident.objects.count,
    bulk_importer=_copy_or(_copy(COPY_INCIDENT), _bulk(SecurityIncident, "handover_key", _parse_security_incident)),
    bulk_prepare=_prepare(COPY_INCIDENT),
)
