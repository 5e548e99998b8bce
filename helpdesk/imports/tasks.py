"""Celery tasks: import runs (thin: call the service)."""

from celery import shared_task

from helpdesk.imports.services import import_runs_sweep

__all__ = ["import_runs_sweep_task"]


@shared_task(name="helpdesk.tasks.imports.import_runs_sweep_task", ignore_result=True)
def import_runs_sweep_task() -> str:
    """Beat: fail runs whose worker is gone, queue stale pending runs again once."""
    return import_runs_sweep().summary()
