"""Celery tasks: mail. Thin: ids in, call a service, retry on transient errors."""

from celery import shared_task

from helpdesk.models import EmailMessage, ImportRun

__all__ = ["mail_import_run", "mail_poll_imap", "mail_send_message", "mail_send_outbox"]


@shared_task(name="helpdesk.tasks.mail.mail_poll_imap", ignore_result=True)
def mail_poll_imap() -> str:
    """Beat: poll the IMAP mailbox. Overlapping runs are refused by the intake's lock."""
    from helpdesk.mail.imap import ImapIntakeBusy
    from helpdesk.mail.imap import mail_poll_imap as poll

    try:
        return poll().summary()
    except ImapIntakeBusy:
        return "skipped: another poll is running"


@shared_task(name="helpdesk.tasks.mail.mail_send_outbox", ignore_result=True)
def mail_send_outbox() -> dict:
    """Beat: send every due outbox row (and release claims left by dead senders)."""
    from helpdesk.mail.outbox import outbox_send_due

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
    from helpdesk.mail.outbox import outbox_send

    result = outbox_send(pk=message_pk, force=True)
    if result is None:
        return "not sendable (sent, claimed by another sender, or given up)"
    if (
        result.send_status == EmailMessage.SendStatus.FAILED
        and result.send_next_attempt_at is not None
        and not self.request.is_eager  # eager (demo/tests): the periodic sweep retries instead
    ):
        from django.utils import timezone

        countdown = max(1, int((result.send_next_attempt_at - timezone.now()).total_seconds()))
        raise self.retry(countdown=countdown)
    return result.send_status


@shared_task(name="helpdesk.tasks.mail.mail_import_run", ignore_result=True)
def mail_import_run(run_pk: int, paths: list[str], delete_after: bool = False) -> str:
    """Import uploaded mail files into a pending ImportRun."""
    from pathlib import Path

    from helpdesk.mail.intake import mail_import_paths

    run = ImportRun.objects.get(pk=run_pk)
    if run.status in (ImportRun.Status.DONE, ImportRun.Status.FAILED):
        return run.summary()  # a redelivery, or a run the sweeper already gave up on
    try:
        run = mail_import_paths(paths=paths, run=run)
    finally:
        if delete_after:
            for p in paths:
                Path(p).unlink(missing_ok=True)
    return run.summary()
