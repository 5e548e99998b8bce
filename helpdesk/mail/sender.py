"""Sending the outbox over SMTP: claim a row, send it, record the outcome with back-off;
the periodic sweep sends what is due. Called by the send tasks (mail/send_tasks.py) only."""

from __future__ import annotations

import datetime as dt
import email as email_pkg
import email.utils
import logging
from email.message import EmailMessage as MimeMessage
from email.policy import SMTP

from django.core.mail import EmailMessage as DjangoEmailMessage
from django.core.mail import get_connection
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from helpdesk.audit import audit_record
from helpdesk.inquiries.services import inquiry_mark_first_answer
from helpdesk.models import AuditEvent, EmailMessage, Inquiry
from helpdesk.notifications.services import notify_reply_failed

logger = logging.getLogger(__name__)


MAX_ATTEMPTS = 8


BACKOFF_BASE_SECONDS = 60


BACKOFF_MAX_SECONDS = 3600


STALE_SENDING_AFTER = dt.timedelta(minutes=15)


def outbox_backoff(attempts: int) -> int:
    """Seconds to wait after the `attempts`-th failure: 60, 120, 240 … capped at an hour."""
    return min(BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0), BACKOFF_MAX_SECONDS)


class _WireMessage(MimeMessage):
    """A stdlib message that serializes the way Django's SMTP backend asks (`linesep`)."""

    def as_bytes(self, unixfrom: bool = False, policy=None, linesep: str | None = None) -> bytes:
        policy = policy or self.policy
        if linesep is not None:
            policy = policy.clone(linesep=linesep)
        return super().as_bytes(unixfrom=unixfrom, policy=policy)


class _RawEmail(DjangoEmailMessage):
    """Hands Django's mail backend our already-built message, byte for byte."""

    def __init__(self, mime: MimeMessage, from_email: str, to: list[str]):
        super().__init__(from_email=from_email, to=to)
        self._mime = mime

    def message(self, *args, **kwargs):
        return self._mime


def _claim(pk: int) -> EmailMessage | None:
    with transaction.atomic():
        message = (
            EmailMessage.objects.select_for_update(skip_locked=True)
            .filter(
                pk=pk,
                direction=EmailMessage.Direction.OUTBOUND,
                send_status__in=[EmailMessage.SendStatus.QUEUED, EmailMessage.SendStatus.FAILED],
                send_next_attempt_at__isnull=False,
            )
            .first()
        )
        if message is None:
            return None
        message.send_status = EmailMessage.SendStatus.SENDING
        message.send_attempts += 1
        message.send_claimed_at = timezone.now()
        message.save(update_fields=["send_status", "send_attempts", "send_claimed_at"])
    return message


def outbox_send(*, pk: int, force: bool = False) -> EmailMessage | None:
    """Send one outbound message if it is due (or `force`, for the per-message task).
    Returns the row in its new state, or None if someone else has it / it is not sendable."""
    if not force:
        due = EmailMessage.objects.filter(pk=pk, send_next_attempt_at__lte=timezone.now()).exists()
        if not due:
            return None
    message = _claim(pk)
    if message is None:
        return None

    mime = email_pkg.message_from_bytes(bytes(message.raw), _class=_WireMessage, policy=SMTP)
    now = timezone.now()
    del mime["Date"]
    mime["Date"] = email.utils.format_datetime(timezone.localtime(now))
    recipients = [a.strip() for a in message.to_addresses.split(",") if a.strip()]
    try:
        connection = get_connection(fail_silently=False)
        sent = connection.send_messages([_RawEmail(mime, message.from_address, recipients)])
        if not sent:
            raise RuntimeError("the mail backend accepted no message")
    except Exception as exc:
        return _record_failure(message, exc)
    with transaction.atomic():
        message.raw = mime.as_bytes()
        message.send_status = EmailMessage.SendStatus.SENT
        message.sent_at = now
        message.received_at = now
        message.send_next_attempt_at = None
        message.last_send_error = ""
        message.save(
            update_fields=["raw", "send_status", "sent_at", "received_at", "send_next_attempt_at", "last_send_error"]
        )
        audit_record(
            actor=None,
            action=AuditEvent.Action.SEND,
            obj=message,
            changes={"send_status": {"old": "sending", "new": "sent"}, "attempts": message.send_attempts},
        )
        if message.inquiry_id and not message.is_auto_acknowledgement:
            inquiry = Inquiry.objects.get(pk=message.inquiry_id)
            inquiry_mark_first_answer(inquiry=inquiry, at=max(now, inquiry.received_at))
    return message


def _record_failure(message: EmailMessage, exc: Exception) -> EmailMessage:
    error = f"{type(exc).__name__}: {exc}"[:500]
    give_up = message.send_attempts >= MAX_ATTEMPTS
    message.send_status = EmailMessage.SendStatus.FAILED
    message.last_send_error = error
    message.send_next_attempt_at = (
        None if give_up else timezone.now() + dt.timedelta(seconds=outbox_backoff(message.send_attempts))
    )
    with transaction.atomic():
        message.save(update_fields=["send_status", "last_send_error", "send_next_attempt_at"])
        audit_record(
            actor=None,
            action=AuditEvent.Action.SEND,
            obj=message,
            changes={
                "send_status": {"old": "sending", "new": "failed"},
                "attempts": message.send_attempts,
                "gave_up": give_up,
            },
            note=error[:255],
        )
        if give_up:
            notify_reply_failed(message=message)
    logger.warning("outbox: message %s attempt %s failed: %s", message.pk, message.send_attempts, type(exc).__name__)
    return message


def outbox_release_stale(*, older_than: dt.timedelta = STALE_SENDING_AFTER) -> int:
    """Rows stuck in `sending` (the sender died): failed, delivery unknown, not retried."""
    cutoff = timezone.now() - older_than
    stale = EmailMessage.objects.filter(send_status=EmailMessage.SendStatus.SENDING, send_claimed_at__lt=cutoff)
    count = 0
    for message in stale:
        with transaction.atomic():
            changed = EmailMessage.objects.filter(pk=message.pk, send_status=EmailMessage.SendStatus.SENDING).update(
                send_status=EmailMessage.SendStatus.FAILED,
                send_next_attempt_at=None,
                last_send_error="送信中に中断されました（配信状況不明）。確認のうえ再送してください。",
            )
            if changed:
                audit_record(
                    actor=None,
                    action=AuditEvent.Action.SEND,
                    obj=message,
                    changes={"send_status": {"old": "sending", "new": "failed"}, "delivery": "unknown"},
                )
                notify_reply_failed(message=message)
                count += changed
    return count


def outbox_due_ids(*, limit: int = 200) -> list[int]:
    return list(
        EmailMessage.objects.filter(
            Q(send_status=EmailMessage.SendStatus.QUEUED) | Q(send_status=EmailMessage.SendStatus.FAILED),
            send_next_attempt_at__lte=timezone.now(),
        )
        .order_by("send_next_attempt_at", "id")
        .values_list("id", flat=True)[:limit]
    )


def outbox_send_due(*, limit: int = 200) -> dict[str, int]:
    """The periodic sweep: release stale claims, then send everything due."""
    released = outbox_release_stale()
    sent = failed = 0
    for pk in outbox_due_ids(limit=limit):
        result = outbox_send(pk=pk)
        if result is None:
            continue
        if result.send_status == EmailMessage.SendStatus.SENT:
            sent += 1
        else:
            failed += 1
    return {"sent": sent, "failed": failed, "released": released}
