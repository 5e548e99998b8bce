"""Writes for the mail channel: store a message (idempotent by Message-ID), thread it into
an inquiry, adopt replies that arrived before it, and file imports.

Threading order (formats.md "Email"): In-Reply-To, References (newest first), the
`[EG-…]` reference in the subject, then stored messages that refer to this one. A message
from one of settings.HELPDESK_MAILBOX_ADDRESSES is outbound (an answer); any other is
inbound. A new inbound message that threads to nothing opens an email inquiry; an inbound
machine-generated one (auto-reply, bounce) does not. Only outbound mail that is not an
automatic acknowledgement counts as an answer, and the earliest one sets
`Inquiry.first_answered_at` — whatever order the messages were imported in."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import logging
from collections.abc import Iterable, Sequence
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import F, Max, Min, Q
from django.utils import timezone

from helpdesk.audit import audit_record
from helpdesk.imports.services import (
    ImportCounts,
    Outcome,
    import_run_progress,
    import_run_reject,
)
from helpdesk.inquiries.services import (
    ANSWERABLE_STATUSES,
    inquiry_create,
    inquiry_mark_answered,
    inquiry_mark_citizen_replied,
    inquiry_mark_first_answer,
)
from helpdesk.mail.outbox import outbox_acknowledge
from helpdesk.mail.parse.message import NotAMailMessage, ParsedMail, parse_message
from helpdesk.mail.parse.sources import MailItem
from helpdesk.mail.parse.threads import subject_refs, thread_candidates
from helpdesk.mail.selectors import mail_real_answers
from helpdesk.models import AuditEvent, EmailMessage, ImportRun, Inquiry, MailReference
from helpdesk.models.mail import Attachment
from helpdesk.notifications.services import notify_citizen_replied

logger = logging.getLogger(__name__)


COMMIT_EVERY = 500


@dataclasses.dataclass
class IngestResult:
    message: EmailMessage
    created: bool
    inquiry_created: bool = False


def mail_is_own_address(address: str) -> bool:
    return (address or "").strip().lower() in set(settings.HELPDESK_MAILBOX_ADDRESSES)


# --- the rules, once: the row path below and the bulk path (helpdesk.mail.bulk) both call them --


def mail_message_fields(
    *, parsed: ParsedMail, raw: bytes, source: str, fallback_received_at: dt.datetime | None, now: dt.datetime
) -> dict[str, Any]:
    """The EmailMessage columns of a parsed message (its inquiry aside): direction by the
    sender's address, sent and received times, the raw copy to keep."""
    outbound = mail_is_own_address(parsed.from_address)
    received_at = parsed.received_at or fallback_received_at or now
    sent_at = parsed.date or (received_at if outbound else None)
    return {
        "message_id": parsed.message_id,
        "direction": EmailMessage.Direction.OUTBOUND if outbound else EmailMessage.Direction.INBOUND,
        "source": source,
        "from_address": parsed.from_address,
        "from_name": parsed.from_name,
        "to_addresses": ", ".join(parsed.to_addresses),
        "subject": parsed.subject,
        "body_text": parsed.body_text,
        "body_html": parsed.body_html,
        "in_reply_to": parsed.in_reply_to,
        "references": " ".join(parsed.references),
        "sent_at": sent_at,
        "received_at": sent_at if outbound else received_at,
        "raw": raw if parsed.stored_raw is None else parsed.stored_raw,
        "is_auto_acknowledgement": parsed.is_auto,
        "charset_problem": parsed.charset_problem,
    }


def mail_reference_ids(*, parsed: ParsedMail) -> list[str]:
    """The MailReference rows of a message: In-Reply-To and References, once each, never itself."""
    ids = dict.fromkeys([*([parsed.in_reply_to] if parsed.in_reply_to else []), *parsed.references])
    return [mid for mid in ids if mid != parsed.message_id]


def mail_opens_inquiry(*, direction: str, is_auto: bool) -> bool:
    """A message that threads to nothing opens an inquiry when a person wrote it to us."""
    return direction == EmailMessage.Direction.INBOUND and not is_auto


def mail_inquiry_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """The new email inquiry's fields, from the message that opens it (`mail_message_fields`)."""
    return {
        "received_at": fields["received_at"],
        "subject": (fields["subject"] or "")[:255],
        "body": fields["body_text"],
        "requester_name": fields["from_name"],
        "requester_email": valid_email(fields["from_address"]),
    }


def mail_message_audit(
    *,
    parsed: ParsedMail,
    raw: bytes,
    stored_raw: bytes | memoryview,
    direction: str,
    source: str,
    inquiry_ref: str | None,
) -> tuple[dict[str, Any], str]:
    """(changes, note) of the CREATE audit row of a stored message."""
    changes: dict[str, Any] = {
        "direction": direction,
        "source": source,
        "inquiry": inquiry_ref,
        "auto": parsed.auto_reason,
    }
    if parsed.dropped:
        changes["dropped_attachments"] = [
            {"filename": a.filename, "content_type": a.content_type, "size": a.size} for a in parsed.dropped
        ]
        changes["raw_size"] = len(raw)
        changes["stored_raw_size"] = len(stored_raw)
    note = f"{len(parsed.dropped)} attachment(s) over the size limit not kept" if parsed.dropped else ""
    return changes, note


def mail_moves_inquiry_start(
    *, direction: str, is_auto: bool, received_at: dt.datetime | None, inquiry_channel: str, inquiry_received_at
) -> bool:
    """A question that arrived before the follow-up which opened its email inquiry moves the
    inquiry's start (`_maybe_move_inquiry_start`)."""
    return (
        direction == EmailMessage.Direction.INBOUND
        and not is_auto
        and received_at is not None
        and inquiry_channel == Inquiry.Channel.EMAIL
        and received_at < inquiry_received_at
    )


# The messages that decide a thread's status (`mail_sync_inquiry_status`): the SQL filter and
# the same rule on one message's values, side by side.
_REAL = Q(is_auto_acknowledgement=False)
STATUS_ANSWERS = _REAL & Q(direction=EmailMessage.Direction.OUTBOUND) & ~Q(send_status=EmailMessage.SendStatus.FAILED)
STATUS_QUESTIONS = _REAL & Q(direction=EmailMessage.Direction.INBOUND)


def mail_status_answer(*, direction: str, is_auto: bool, send_status: str) -> bool:
    return (
        direction == EmailMessage.Direction.OUTBOUND and not is_auto and send_status != EmailMessage.SendStatus.FAILED
    )


def mail_status_question(*, direction: str, is_auto: bool) -> bool:
    return direction == EmailMessage.Direction.INBOUND and not is_auto


def mail_real_answer(*, direction: str, is_auto: bool, send_status: str, sent_at: dt.datetime | None) -> bool:
    """`mail_real_answers()` (selectors) on one message's values."""
    return (
        direction == EmailMessage.Direction.OUTBOUND
        and not is_auto
        and send_status in (EmailMessage.SendStatus.NOT_APPLICABLE, EmailMessage.SendStatus.SENT)
        and sent_at is not None
    )


CITIZEN_REPLIED, ANSWERED = "citizen_replied", "answered"
CITIZEN_REPLIED_NOTE, ANSWERED_NOTE = "citizen replied by mail", "answer in the mail thread"


def mail_status_move(
    *, status: str, latest_answer: dt.datetime | None, latest_question: dt.datetime | None
) -> str | None:
    """Which automatic move the thread asks for: CITIZEN_REPLIED (the citizen wrote after our
    latest answer), ANSWERED (our answer is the latest), or None (no answer yet, or a status
    that no such move starts from). The inquiry services re-check their own rule under a lock
    (an escalated inquiry with an open escalation stays escalated)."""
    if latest_answer is None:
        return None
    if latest_question is not None and latest_question > latest_answer:
        return CITIZEN_REPLIED if status in (Inquiry.Status.ANSWERED, Inquiry.Status.NEW) else None
    return ANSWERED if status in ANSWERABLE_STATUSES else None


def mail_reject_reason(*, not_mail: bool, name: str, text: str) -> str:
    """The reject reason of a message that could not be stored. No personal information: the
    exception class and a short, generic text (or the parser's own "not mail" reason)."""
    if not_mail:
        return f"not a mail message: {text}"
    return f"{name}: could not store the message"


def _find_inquiry(
    *, parsed: ParsedMail, referrers: Sequence[tuple[int, int | None, dt.datetime | None]]
) -> Inquiry | None:
    candidates = thread_candidates(in_reply_to=parsed.in_reply_to, references=parsed.references)
    if candidates:
        found = dict(
            EmailMessage.objects.filter(message_id__in=candidates, inquiry__isnull=False).values_list(
                "message_id", "inquiry_id"
            )
        )
        for mid in candidates:
            if mid in found:
                return Inquiry.objects.get(pk=found[mid])
    refs = subject_refs(parsed.subject)
    if refs:
        inquiry = Inquiry.objects.filter(ref__in=refs).first()
        if inquiry is not None:
            return inquiry
    # Messages stored earlier that refer to this one (a reply imported before its question).
    threaded = sorted(
        ((i, pk, at) for i, pk, at in referrers if pk is not None), key=lambda r: (r[2] is None, r[2], r[0])
    )
    if threaded:
        return Inquiry.objects.get(pk=threaded[0][1])
    return None


def _adopt_orphans(*, message: EmailMessage, inquiry: Inquiry) -> int:
    """Attach stored messages with no inquiry that refer (directly or through each other)
    to `message`."""
    adopted = 0
    frontier = [message.message_id]
    seen: set[str] = set(frontier)
    while frontier:
        orphans = list(
            EmailMessage.objects.filter(
                inquiry__isnull=True, reference_rows__referenced_message_id__in=frontier
            ).distinct()
        )
        frontier = []
        for orphan in orphans:
            if orphan.message_id in seen:
                continue
            seen.add(orphan.message_id)
            frontier.append(orphan.message_id)
        if orphans:
            adopted += EmailMessage.objects.filter(pk__in=[o.pk for o in orphans], inquiry__isnull=True).update(
                inquiry=inquiry
            )
    return adopted


def mail_refresh_first_answer(*, inquiry: Inquiry) -> bool:
    """first_answered_at = the earliest real answer (outbound, sent, not an automatic
    acknowledgement) at or after the question arrived. Idempotent."""
    earliest = (
        mail_real_answers()
        .filter(inquiry=inquiry, sent_at__gte=inquiry.received_at)
        .aggregate(first=Min("sent_at"))["first"]
    )
    if earliest is None:
        return False
    return inquiry_mark_first_answer(inquiry=inquiry, at=earliest)


def _maybe_move_inquiry_start(*, inquiry: Inquiry, message: EmailMessage) -> None:
    """The question arrived after a follow-up that already opened the inquiry: the inquiry
    starts at the earlier message. `received_at` feeds the mail response time, so this is a
    correction like any other: version bumped, audit row with the old and new time and the
    reason."""
    if not mail_moves_inquiry_start(
        direction=message.direction,
        is_auto=message.is_auto_acknowledgement,
        received_at=message.received_at,
        inquiry_channel=inquiry.channel,
        inquiry_received_at=inquiry.received_at,
    ):
        return
    assert message.received_at is not None  # (mail_moves_inquiry_start says so)
    locked = Inquiry.objects.select_for_update().get(pk=inquiry.pk)
    old = locked.received_at
    reason = "earlier message of the thread imported later"
    # Two UPDATEs: the source message is a one-to-one, freed before it is taken again.
    Inquiry.objects.filter(pk=inquiry.pk).update(source_message=None)
    Inquiry.objects.filter(pk=inquiry.pk).update(
        received_at=message.received_at,
        source_message=message,
        subject=(message.subject or locked.subject)[:255],
        body=message.body_text or locked.body,
        version=F("version") + 1,
        updated_at=timezone.now(),
    )
    inquiry.refresh_from_db()
    audit_record(
        actor=None,
        action=AuditEvent.Action.UPDATE,
        obj=inquiry,
        changes={
            "received_at": {"old": old.isoformat(), "new": message.received_at.isoformat()},
            "source_message": {"old": locked.source_message_id, "new": message.pk},
            "reason": reason,
        },
        note=reason,
    )


def mail_sync_inquiry_status(*, inquiry: Inquiry) -> Inquiry:
    """The status the thread says (docs/api.md "Inquiry status"), whatever order its
    messages were imported in: if the latest real message is our answer (outbound, not an
    automatic acknowledgement, not a failed send), the inquiry is answered — awaiting the
    citizen; if the citizen wrote after our latest answer, it is back in progress. A thread
    with no answer yet leaves the status as it is."""
    latest = EmailMessage.objects.filter(inquiry=inquiry).aggregate(
        answer=Max("received_at", filter=STATUS_ANSWERS), question=Max("received_at", filter=STATUS_QUESTIONS)
    )
    # The services re-check under a row lock; a status that no move can start from skips
    # the lock (a second answer, a re-import, a resolved thread: most messages of an import).
    move = mail_status_move(status=inquiry.status, latest_answer=latest["answer"], latest_question=latest["question"])
    if move == CITIZEN_REPLIED:
        return inquiry_mark_citizen_replied(inquiry=inquiry, note=CITIZEN_REPLIED_NOTE)
    if move == ANSWERED:
        return inquiry_mark_answered(inquiry=inquiry, note=ANSWERED_NOTE)
    return inquiry


def mail_store(
    *,
    raw: bytes,
    source: str,
    parsed: ParsedMail | None = None,
    fallback_received_at: dt.datetime | None = None,
    acknowledge: bool | None = None,
) -> IngestResult:
    """Store one raw message and thread it. Idempotent: a Message-ID already stored returns
    the stored row (created=False) and changes nothing. Raises NotAMailMessage for bytes
    that are not mail.

    An attachment over HELPDESK_ATTACHMENT_MAX_BYTES is kept neither as an Attachment
    (only its name, type and size) nor in the stored raw copy: that copy keeps the headers
    and text parts with a short note in place of each dropped part, and the CREATE audit
    event lists what was dropped."""
    if parsed is None:
        parsed = parse_message(raw, max_attachment_bytes=settings.HELPDESK_ATTACHMENT_MAX_BYTES)
    existing = EmailMessage.objects.filter(message_id=parsed.message_id).first()
    if existing is not None:
        return IngestResult(existing, False)
    fields = mail_message_fields(
        parsed=parsed, raw=raw, source=source, fallback_received_at=fallback_received_at, now=timezone.now()
    )
    try:
        with transaction.atomic():
            message = EmailMessage(**fields)
            message.save(force_insert=True)
            result = _thread_new_message(message=message, parsed=parsed)
            if parsed.attachments:
                Attachment.objects.bulk_create(
                    [
                        Attachment(
                            message=message,
                            filename=a.filename,
                            content_type=a.content_type,
                            size=a.size,
                            content=a.content,
                            truncated=a.truncated,
                        )
                        for a in parsed.attachments
                    ]
                )
            changes, note = mail_message_audit(
                parsed=parsed,
                raw=raw,
                stored_raw=message.raw,
                direction=message.direction,
                source=source,
                inquiry_ref=result.message.inquiry.ref if result.message.inquiry else None,
            )
            audit_record(actor=None, action=AuditEvent.Action.CREATE, obj=message, changes=changes, note=note)
            if acknowledge is None:
                acknowledge = settings.HELPDESK_SEND_ACKNOWLEDGEMENT and source != EmailMessage.Source.FILE
            if result.inquiry_created and acknowledge:
                assert result.message.inquiry is not None  # it was just created for this message
                outbox_acknowledge(inquiry=result.message.inquiry, in_reply_to=message)
    except IntegrityError:
        # A concurrent intake stored the same Message-ID first: what is stored wins.
        existing = EmailMessage.objects.filter(message_id=parsed.message_id).first()
        if existing is None:
            raise
        return IngestResult(existing, False)
    return result


def valid_email(address: str) -> str:
    try:
        validate_email(address)
    except ValidationError:
        return ""
    return address[:254]


def _thread_new_message(*, message: EmailMessage, parsed: ParsedMail) -> IngestResult:
    ids = mail_reference_ids(parsed=parsed)
    if ids:
        MailReference.objects.bulk_create([MailReference(message=message, referenced_message_id=mid) for mid in ids])
    # Stored messages that refer to this one: (pk, inquiry_id, received_at). One query
    # serves both threading (a reply already in an inquiry) and adopting orphans.
    referrers = list(
        EmailMessage.objects.filter(reference_rows__referenced_message_id=message.message_id)
        .values_list("pk", "inquiry_id", "received_at")
        .distinct()
    )
    inquiry = _find_inquiry(parsed=parsed, referrers=referrers)
    inquiry_created = False
    if inquiry is None and mail_opens_inquiry(direction=message.direction, is_auto=message.is_auto_acknowledgement):
        inquiry = inquiry_create(
            channel=Inquiry.Channel.EMAIL,
            source_message=message,
            **mail_inquiry_fields(
                {f: getattr(message, f) for f in ("received_at", "subject", "body_text", "from_name", "from_address")}
            ),
        )
        inquiry_created = True
    if inquiry is None:
        return IngestResult(message, True)  # an answer or auto-reply to something not (yet) here
    if message.inquiry_id != inquiry.pk:
        EmailMessage.objects.filter(pk=message.pk).update(inquiry=inquiry)
        message.inquiry = inquiry
    if not inquiry_created:
        _maybe_move_inquiry_start(inquiry=inquiry, message=message)
        notify_citizen_replied(inquiry=inquiry, message=message)
    adopted = _adopt_orphans(message=message, inquiry=inquiry) if any(r[1] is None for r in referrers) else 0
    if not (inquiry_created and adopted == 0):
        # (A brand-new inquiry with nothing adopted has no answer yet: skip the queries.)
        mail_refresh_first_answer(inquiry=inquiry)
        if adopted or not message.is_auto_acknowledgement:
            mail_sync_inquiry_status(inquiry=inquiry)
    return IngestResult(message, True, inquiry_created)


def _reject_reason(exc: Exception) -> str:
    return mail_reject_reason(not_mail=isinstance(exc, NotAMailMessage), name=type(exc).__name__, text=str(exc))


def mail_import_items(
    *,
    run: ImportRun,
    items: Iterable[MailItem],
    counts: ImportCounts,
    source: str = EmailMessage.Source.FILE,
    batch: int = COMMIT_EVERY,
) -> ImportCounts:
    """Store each item in its own savepoint and commit every `batch` items (one commit per
    message would spend most of the time waiting for the disk). Counts go into `counts`
    as they are committed, so a run that stops half way still reports what it stored; a
    re-run picks up the rest (idempotent by Message-ID)."""
    iterator = iter(items)
    while True:
        pending = ImportCounts()
        with transaction.atomic():
            for item in itertools.islice(iterator, batch):
                pending.read += 1
                pending.add(import_one(run=run, item=item, source=source))
        if not pending.read:
            break
        for field, value in pending.as_kwargs().items():
            setattr(counts, field, getattr(counts, field) + value)
        import_run_progress(run=run, done=counts.read)
    return counts


def import_one(*, run: ImportRun, item: MailItem, source: str, parsed: ParsedMail | None = None) -> Outcome:
    """One item on the row path: stored (in its own savepoint) or rejected with its line and
    reason. `parsed`: the message already parsed (the bulk path hands over what it cannot take)."""
    if item.error:
        import_run_reject(
            run=run,
            source_name=item.source_name,
            reason=item.error,
            line=item.line,
            offset=item.offset,
            raw=item.raw[:65536],
        )
        return "rejected"
    try:
        # mail_store writes inside its own savepoint: a failure rolls back this message only.
        result = mail_store(raw=item.raw, source=source, parsed=parsed, fallback_received_at=item.mtime)
    except Exception as exc:  # one bad message never stops the import
        logger.warning(
            "mail import: message at %s offset %s rejected (%s)", item.source_name, item.offset, type(exc).__name__
        )
        import_run_reject(
            run=run,
            source_name=item.source_name,
            reason=_reject_reason(exc),
            line=item.line,
            offset=item.offset,
            raw=item.raw,
        )
        return "rejected"
    return "created" if result.created else "unchanged"
