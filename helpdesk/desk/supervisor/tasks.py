"""Celery tasks of the supervisor's board: thin wrappers over its services."""

import datetime as dt

from celery import shared_task

from helpdesk.desk.supervisor import refresh


@shared_task(name="helpdesk.desk.supervisor.tasks.board_days_refresh")
def board_days_refresh(dates: list[str] | None = None) -> dict:
    return refresh.board_days_refresh(dates=[dt.date.fromisoformat(d) for d in dates or ()])
