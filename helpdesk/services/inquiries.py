"""Writes on inquiries: create, update (optimistic concurrency), assign, status moves,
wrap-up. Every change is audit-logged from here."""

import datetime as dt
import secrets
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from helpdesk.errors import ConflictError, InvalidTransitionError, PermissionDeniedError
from helpdesk.models import AuditEvent, Call, EmailMessage, Inquiry
from helpdesk.roles import is_staff_operator, is_supervisor
from helpdesk.services.audit import audit_record, diff_fields

PII_FIELDS = frozenset({"requester_name", "requester_email", "requester_phone", "requester_organization", "body"})
UPDATABLE_FIELDS = frozenset(
    {
        "category",
        "subject",
        "body",
        "resolution",
        "ministry_guidance",
        "requester_name",
        "requester_email",
        "requester_phone",
        "requester_organization",
    }
)
# No 0/O/1/I/L: references are read out over the phone.
_REF_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


_ORDERED_TIMES = ("first_answered_at", "wrapup_completed_at", "resolved_at")


def _validate(inquiry: Inquiry) -> None:
    """Field validation plus the model's check constraints, checked in Python. The database
    enforces the same constraints; Django would validate each with its own SELECT (seven per
    inquiry, the largest cost of a bulk mail import), so they are checked here instead, to give
    a ValidationError naming the field rather than an IntegrityError."""
    inquiry.full_clean(validate_unique=False, validate_constraints=False)
    errors: dict[str, str] = {}
    for field in _ORDERED_TIMES:
        value = getattr(inquiry, field)
        if value is not None and value < inquiry.received_at:
            errors[field] = "受付日時より前の日時は指定できません。"
    if inquiry.call_id is not None and inquiry.channel != Inquiry.Channel.PHONE:
        errors["call"] = "通話を紐付けられるのは電話の問い合わせだけです。"
    if errors:
        raise ValidationError(errors)


def inquiry_new_ref(received_at: dt.datetime) -> str:
    local = timezone.localtime(received_at)
    return f"EG-{local:%Y%m%d}-{''.join(secrets.choice(_REF_ALPHABET) for _ in range(6))}"


def inquiry_create(
    *,
    channel: str,
    received_at: dt.datetime | None = None,
    subject: str = "",
    body: str = "",
    category: str = "",
    requester_name: str = "",
    requester_email: str = "",
    requester_phone: str = "",
    requester_organization: str = "",
    call: Call | None = None,
    source_message: EmailMessage | None = None,
    assigned_to=None,
    created_by=None,
    ref: str | None = None,
    **extra: Any,
) -> Inquiry:
    """Create an inquiry. A phone inquiry logged against a call takes the call's arrival
    as its received time unless told otherwise."""
    if received_at is None:
        received_at = call.arrived_at if call is not None else timezone.now()
    for attempt in range(5):
        inquiry = Inquiry(
            ref=ref or inquiry_new_ref(received_at),
            channel=channel,
            received_at=received_at,
            subject=subject,
            body=body,
            category=category,
            requester_name=requester_name,
            requester_email=requester_email,
            requester_phone=requester_phone,
            requester_organization=requester_organization,
            call=call,
            source_message=source_message,
            assigned_to=assigned_to,
            created_by=created_by,
            **extra,
        )
        _validate(inquiry)
        try:
            with transaction.atomic():
                inquiry.save(force_insert=True)
                if source_message is not None and source_message.inquiry_id is None:
                    EmailMessage.objects.filter(pk=source_message.pk).update(inquiry=inquiry)
                    source_message.inquiry = inquiry
                audit_record(
                    actor=created_by,
                    action=AuditEvent.Action.CREATE,
                    obj=inquiry,
                    changes={"channel": channel, "received_at": received_at.isoformat()},
                )
            return inquiry
        except IntegrityError:
            # A random ref collided (or the given ref/call is taken): retry only the former.
            if ref or not Inquiry.objects.filter(ref=inquiry.ref).exists() or attempt == 4:
                raise
    raise AssertionError("unreachable")


def _check_version(inquiry: Inquiry, expected_version: int | None) -> None:
    if expected_version is not None and inquiry.version != expected_version:
        raise ConflictError(
            "この問い合わせは他のユーザーによって更新されています。再読み込みしてください。",
            extra={"current_version": inquiry.version, "your_version": expected_version},
        )


def _lock(inquiry_id: int) -> Inquiry:
    return Inquiry.objects.select_for_update().get(pk=inquiry_id)


@transaction.atomic
def inquiry_update(*, inquiry: Inquiry, actor, data: dict[str, Any], expected_version: int | None) -> Inquiry:
    """Change editable fields. `expected_version` is the version the client read: a stale
    one raises ConflictError instead of overwriting someone else's change."""
    if not is_staff_operator(actor):
        raise PermissionDeniedError("問い合わせを更新する権限がありません。")
    unknown = set(data) - UPDATABLE_FIELDS
    if unknown:
        raise InvalidTransitionError(f"更新できない項目です: {', '.join(sorted(unknown))}")
    locked = _lock(inquiry.pk)
    _check_version(locked, expected_version)
    changes = diff_fields(locked, data, pii_fields=PII_FIELDS)
    if not changes:
        return locked
    for field, value in data.items():
        setattr(locked, field, value)
    locked.version += 1
    _validate(locked)
    locked.save(update_fields=[*data.keys(), "version", "updated_at"])
    audit_record(actor=actor, action=AuditEvent.Action.UPDATE, obj=locked, changes=changes)
    return locked


@transaction.atomic
def inquiry_assign(*, inquiry: Inquiry, actor, assignee, expected_version: int | None = None) -> Inquiry:
    """Agents take inquiries for themselves; supervisors assign anyone."""
    if not is_staff_operator(actor):
        raise PermissionDeniedError("担当者を変更する権限がありません。")
    if assignee is not None and assignee != actor and not is_supervisor(actor):
        raise PermissionDeniedError("他の担当者への割当はSVのみ行えます。")
    locked = _lock(inquiry.pk)
    _check_version(locked, expected_version)
    old = locked.assigned_to_id
    if old == (assignee.pk if assignee else None):
        return locked
    locked.assigned_to = assignee
    locked.version += 1
    locked.save(update_fields=["assigned_to", "version", "updated_at"])
    audit_record(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        obj=locked,
        changes={"assigned_to": {"old": old, "new": assignee.pk if assignee else None}},
    )
    return locked


@transaction.atomic
def inquiry_transition(
    *, inquiry: Inquiry, actor, status: str, expected_version: int | None = None, at: dt.datetime | None = None
) -> Inquiry:
    """Move an inquiry along its workflow (Inquiry.TRANSITIONS). Resolving stamps
    `resolved_at`; a phone inquiry's wrap-up is completed no later than its resolution."""
    if not is_staff_operator(actor):
        raise PermissionDeniedError("状態を変更する権限がありません。")
    locked = _lock(inquiry.pk)
    _check_version(locked, expected_version)
    if not locked.can_transition_to(status):
        raise InvalidTransitionError(
            f"「{locked.get_status_display()}」から「{Inquiry.Status(status).label}」へは変更できません。",
            extra={"from": locked.status, "to": status, "allowed": list(Inquiry.TRANSITIONS[locked.status])},
        )
    at = at or timezone.now()
    old = locked.status
    locked.status = status
    fields = ["status", "version", "updated_at"]
    if status in (Inquiry.Status.RESOLVED, Inquiry.Status.CLOSED) and locked.resolved_at is None:
        locked.resolved_at = max(at, locked.received_at)
        fields.append("resolved_at")
    if status == Inquiry.Status.IN_PROGRESS and old in (Inquiry.Status.RESOLVED, Inquiry.Status.CLOSED):
        locked.resolved_at = None  # reopened
        fields.append("resolved_at")
    locked.version += 1
    locked.save(update_fields=fields)
    audit_record(
        actor=actor, action=AuditEvent.Action.TRANSITION, obj=locked, changes={"status": {"old": old, "new": status}}
    )
    return locked


@transaction.atomic
def inquiry_complete_wrapup(
    *, inquiry: Inquiry, actor, at: dt.datetime | None = None, expected_version: int | None = None
) -> Inquiry:
    """The agent finished the record for a phone call: the end of after-call work when the
    PBX does not measure it (kpi.md §2). Completing twice keeps the first time."""
    if not is_staff_operator(actor):
        raise PermissionDeniedError("後処理を完了する権限がありません。")
    locked = _lock(inquiry.pk)
    _check_version(locked, expected_version)
    if locked.wrapup_completed_at is not None:
        return locked
    locked.wrapup_completed_at = max(at or timezone.now(), locked.received_at)
    locked.version += 1
    locked.save(update_fields=["wrapup_completed_at", "version", "updated_at"])
    audit_record(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        obj=locked,
        changes={"wrapup_completed_at": {"old": None, "new": locked.wrapup_completed_at.isoformat()}},
    )
    return locked


def inquiry_mark_first_answer(*, inquiry: Inquiry, at: dt.datetime) -> bool:
    """Set first_answered_at if it is unset or later than `at` (mail may be imported out of
    order). Single UPDATE, so concurrent answers cannot race. Returns whether it changed."""
    from django.db.models import Q

    changed = (
        Inquiry.objects.filter(pk=inquiry.pk)
        .filter(Q(first_answered_at__isnull=True) | Q(first_answered_at__gt=at))
        .update(first_answered_at=at)
    )
    if changed:
        inquiry.first_answered_at = at
    return bool(changed)
