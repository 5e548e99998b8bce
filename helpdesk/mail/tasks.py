"""Celery tasks of mail intake: the IMAP poll and file imports. Thin: ids in, call a
service. The sending tasks are in send_tasks.py, so the intake (which queues
acknowledgements) never imports this module back."""

from pathlib import Path

from celery import shared_task

from helpdesk.mail.files import mail_import_paths
from helpdesk.mail.imap import ImapIntakeBusy
from helpdesk.mail.imap import mail_poll_imap as poll
from helpdesk.models import ImportRun

__all__ = ["mail_import_run", "mail_poll_imap"]


@shared_task(name="helpdesk.tasks.mail.mail_poll_imap", ignore_result=True)
def mail_poll_imap() -> str:
    """Beat: poll the IMAP mailbox. Overlapping runs are refused by the intake's lock."""
    try:
        return poll().summary()
    except ImapIntakeBusy:
        return "skipped: another poll is running"


@shared_task(name="helpdesk.tasks.mail.mail_import_run", ignore_result=True)
def mail_import_run(run_pk: int, paths: list[str], delete_after: bool = False) -> str:
    """Import uploaded mail files into a pending ImportRun."""

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
