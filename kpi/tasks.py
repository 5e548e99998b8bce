"""Celery tasks: thin wrappers over kpi.services."""

from celery import shared_task

from helpdesk.clock import Month
from kpi import services


@shared_task(name="kpi.tasks.kpi_recompute_open_months")
def kpi_recompute_open_months() -> dict:
    return services.kpi_recompute_open_months()


@shared_task(name="kpi.tasks.kpi_recompute_month")
def kpi_recompute_month(month: str) -> dict:
    return services.kpi_recompute_months(months=[Month.parse(month)])
