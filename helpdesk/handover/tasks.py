"""Celery tasks: handover (thin: ids in, call the service)."""

import logging
from pathlib import Path

from celery import shared_task

from helpdesk.handover.services import file_size, records_import
from helpdesk.imports.services import import_run_begin, import_run_finish
from helpdesk.models import ImportReject, ImportRun

logger = logging.getLogger(__name__)

__all__ = ["handover_import_file"]


# A wire name (ImportRun.queued_task stores it): fixed whatever module holds the task.
@shared_task(name="helpdesk.tasks.handover.handover_import_file", acks_late=True)
def handover_import_file(run_id: int, path: str) -> str:
    """Import an uploaded handover file into run `run_id`. A finished run is not run again
    (a redelivered message is harmless); a run interrupted half way (worker died) starts
    over, which the import's idempotency makes safe. The file is deleted once the run is
    finished, done or failed: it holds personal information."""
    run = ImportRun.objects.get(pk=run_id)
    if run.status in (ImportRun.Status.DONE, ImportRun.Status.FAILED):
        return run.summary()
    if run.status == ImportRun.Status.RUNNING:
        ImportReject.objects.filter(run=run).delete()  # restart after a crash: rejects are re-found
    file = Path(path)
    try:
        stream = file.open("rb")
    except OSError as exc:
        import_run_finish(
            run=run, read=0, created=0, updated=0, unchanged=0, rejected=0, error=f"cannot read upload: {exc.strerror}"
        )
        return run.summary()
    try:
        with stream:
            import_run_begin(run=run, total=file_size(stream))
            records_import(run=run, stream=stream, source_name=run.source_name)
    finally:
        run.refresh_from_db(fields=["status"])
        if run.status in (ImportRun.Status.DONE, ImportRun.Status.FAILED):
            file.unlink(missing_ok=True)
    logger.info("handover import run %s: %s", run.pk, run.summary())
    return run.summary()
