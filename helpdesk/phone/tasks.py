"""Celery tasks: phone (thin: ids in, call the service)."""

import datetime as dt
import logging

from celery import shared_task

from helpdesk.imports.services import import_run_finish
from helpdesk.models import ImportReject, ImportRun
from helpdesk.phone.importer import calls_import_run, remove_files
from helpdesk.phone.reclassify import calls_reclassify_service_hours

logger = logging.getLogger(__name__)

__all__ = ["calls_import_files", "calls_reclassify_service_hours_task"]


# The task name is a wire name: ImportRun.queued_task stores it for the sweeper, so it stays
# fixed whatever module holds the task.
@shared_task(name="helpdesk.tasks.phone.calls_import_files", acks_late=True)
def calls_import_files(
    run_id: int,
    paths: list[str],
    names: list[str],
    *,
    fmt: str,
    encoding: str = "utf-8",
    cdr_timezone: str = "Asia/Tokyo",
) -> str:
    """Import uploaded call files into run `run_id`, with progress on the run. A finished run
    is not run again (redelivery is harmless); one interrupted half way starts over, which
    the import's idempotency makes safe. The files (personal information) are deleted when
    the run is finished."""
    run = ImportRun.objects.get(pk=run_id)
    if run.status in (ImportRun.Status.DONE, ImportRun.Status.FAILED):
        return run.summary()
    if run.status == ImportRun.Status.RUNNING:
        ImportReject.objects.filter(run=run).delete()
    try:
        calls_import_run(run=run, paths=paths, names=names, fmt=fmt, encoding=encoding, cdr_timezone=cdr_timezone)
    except OSError as exc:
        import_run_finish(
            run=run, read=0, created=0, updated=0, unchanged=0, rejected=0, error=f"cannot read upload: {exc}"
        )
    except Exception:  # the run already records the failure (status failed, error)
        logger.warning("call import run %s failed", run_id, exc_info=True)
    finally:
        run.refresh_from_db(fields=["status"])
        if run.status in (ImportRun.Status.DONE, ImportRun.Status.FAILED):
            remove_files(paths)
    logger.info("call import run %s: %s", run.pk, run.summary())
    return run.summary()


@shared_task(name="helpdesk.tasks.phone.calls_reclassify_service_hours_task", acks_late=True)
def calls_reclassify_service_hours_task(start: str, end: str) -> int:
    return calls_reclassify_service_hours(start=dt.datetime.fromisoformat(start), end=dt.datetime.fromisoformat(end))
