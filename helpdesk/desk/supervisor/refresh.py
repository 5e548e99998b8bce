"""The board's day figures brought to the current input version and its panels put in the
shared cache: what the refresh task runs (docs/desk-supervisor.md, "Day figures off the
request"). Apart from services.py, which queues that task, so neither imports the other back."""

from __future__ import annotations

import datetime as dt
from functools import partial
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from helpdesk.clock import Month
from helpdesk.desk.supervisor import selectors
from helpdesk.desk.supervisor.cache import cached, data_version
from kpi.selectors import kpi_day_figures_to_refresh, kpi_days_with_inputs, kpi_input_version
from kpi.services import kpi_day_figures, kpi_day_figures_refresh
from kpi.today import Day

REFRESH_LOCK = "desk:sv:lock:refresh"
# A day a board asked for within this long is kept fresh by the task (today and yesterday always).
KEEP_FRESH = dt.timedelta(days=7)


def board_live(day: Day, now: dt.datetime | None = None) -> dict[str, Any]:
    """The live panel from the day's stored KPI figures (computed and stored when they are not
    at the current input version): exact, what the refresh task puts in the shared cache."""
    return selectors.board_live(day=day, figures=kpi_day_figures(day=day, now=now), now=now)


def _warm(day: Day, *, live: bool, version: str, now: dt.datetime) -> None:
    """The day's panels into the shared cache under the keys the views read."""
    cached("live", day, live=live, compute=partial(_live_exact, day, now), version=version, overwrite=True)
    cached("wrapups", day, live=live, compute=partial(selectors.wrapup_problems, day=day), version=version)
    cached("complaints", day, live=True, compute=partial(selectors.complaints_panel, day=day), version=version)


def store_ahead_since(now: dt.datetime) -> dt.datetime | None:
    """Where the days stored ahead begin: the first day of the month
    DESK_SUPERVISOR_STORE_AHEAD_MONTHS - 1 before the current one (default 3: the KPI's open
    months); None when 0 (nothing stored ahead)."""
    months = settings.DESK_SUPERVISOR_STORE_AHEAD_MONTHS
    if months <= 0:
        return None
    month = Month.of(now)
    for _ in range(months - 1):
        month = month.prev()
    return month.start


def board_days_refresh(*, dates: list[dt.date] | None = None, now: dt.datetime | None = None) -> dict[str, Any]:
    """Bring the stored figures of today, yesterday, the days a board asked for in the last
    KEEP_FRESH and `dates` to the current input version, then fill the shared cache with the
    live and wrap-up panels of those days, so that the next board reads both; then, for at
    most DESK_SUPERVISOR_STORE_AHEAD_SECONDS, store the figures of every other day with
    records since `store_ahead_since` (docs/desk-supervisor.md, "Stored ahead"), so that a
    board opening a past day finds them. Does nothing when nothing changed; one run at a time
    (a cache lock)."""
    now = now or timezone.now()
    if not cache.add(REFRESH_LOCK, "1", timeout=600):
        return {"skipped": "another refresh holds the lock"}
    try:
        today = Day.today(now)
        days = {today, today.prev(), *(Day(d) for d in dates or ())}
        days.update(Day(d) for d in kpi_day_figures_to_refresh(since=now - KEEP_FRESH, version=kpi_input_version()))
        since = store_ahead_since(now)
        ahead = [Day(d) for d in kpi_days_with_inputs(since=since) if d <= today.date] if since else []
        result = kpi_day_figures_refresh(
            days=sorted(days, key=lambda d: d.date, reverse=True),
            now=now,
            ahead=ahead,
            ahead_seconds=settings.DESK_SUPERVISOR_STORE_AHEAD_SECONDS,
        )
        if settings.DESK_SUPERVISOR_CACHE_SECONDS > 0:
            version = data_version()
            for day in days:
                _warm(day, live=day == today, version=version, now=now)
            # what is open now: one panel for every day, under today's key (views._escalations)
            cached(
                "escalations", today, live=True, compute=partial(selectors.open_escalations, now=now), version=version
            )
        return result
    finally:
        cache.delete(REFRESH_LOCK)


def _live_exact(day: Day, now: dt.datetime) -> dict[str, Any]:
    return {**board_live(day, now), "stale_as_of": None}
