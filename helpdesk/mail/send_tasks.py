"""Celery tasks that send the outbox: one message now (queued by `outbox`), and the periodic
sweep. Thin: ids in, call `sender`, retry on transient errors. A module of their own so that
queueing a message (outbox → here → sender) never leads back to the intake."""

from celery import shared_task
from django.utils import timezone

from helpdesk.mail.sender import outbox_send, outbox_send_due
from helpdesk.models import EmailMessage

__all__ = ["mail_send_message", "mail_send_outbox"]


@shared_task(name="helpdesk.tasks.mail.mail_send_outbox", ignore_result=True)
def mail_send_outbox() -> dict:
    """Beat: send every due outbox row (and release claims left by dead senders)."""
    return outbox_send_due()


@shared_task(
    bind=True,
    name="helpdesk.tasks.mail.mail_send_message",
    ignore_result=True,
    max_retries=None,
    acks_late=True,
)
def mail_send_message(self, message_pk: int) -> str:
    """Send one outbox row now; on an SMTP failure retry with the outbox's back-off."""
    result = outbox_send(pk=message_pk, force=True)
    if result is None:
        return "not sendable (sent, claimed by another sender, or given up)"
    if (
        result.send_status == EmailMessage.SendStatus.FAILED
        and result.send_next_attempt_at is not None
        and not self.request.is_eager  # eager (demo/tests): the periodic sweep retries instead
    ):
        countdown = max(1, int((result.send_next_attempt_at - timezone.now()).total_seconds()))
        raise self.retry(countdown=countdown)
    return result.send_status
