"""The board's day figures off the request (docs/desk-supervisor.md, "Day figures off the
request"): the refresh the Celery task runs after an import or an edit, and the live panel
built from the stored figures."""

from __future__ import annotations

import datetime as dt
import logging
from functools import partial
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from helpdesk.desk.supervisor import selectors
from helpdesk.desk.supervisor.cache import cached, data_version
from kpi.selectors import kpi_day_figures_to_refresh, kpi_input_version
from kpi.services import kpi_day_figures, kpi_day_figures_display, kpi_day_figures_refresh
from kpi.today import Day

REFRESH_LOCK = "desk:sv:lock:refresh"
REFRESH_ASKED = "desk:sv:refresh-asked"
logger = logging.getLogger(__name__)
# A day a board asked for within this long is kept fresh by the task (today and yesterday always).
KEEP_FRESH = dt.timedelta(days=7)


def board_live(day: Day, now: dt.datetime | None = None) -> dict[str, Any]:
    """The live panel from the day's stored KPI figures (computed and stored when they are not
    at the current input version): exact, what the refresh task puts in the shared cache."""
    return selectors.board_live(day=day, figures=kpi_day_figures(day=day, now=now), now=now)


def board_live_display(day: Day, now: dt.datetime | None = None) -> dict[str, Any]:
    """The live panel a board shows: the stored figures even when the data moved since, as
    long as they are of at most DESK_SUPERVISOR_MAX_STALE_SECONDS ago (`stale_as_of`: the
    moment they are of, shown on the page; a refresh is asked for), exact ones otherwise."""
    max_stale = dt.timedelta(seconds=settings.DESK_SUPERVISOR_MAX_STALE_SECONDS)
    figures, stale_as_of = kpi_day_figures_display(day=day, max_stale=max_stale, now=now)
    if stale_as_of is not None:
        request_refresh(day)
    return {**selectors.board_live(day=day, figures=figures, now=now), "stale_as_of": stale_as_of}


def request_refresh(day: Day) -> bool:
    """Enqueue the refresh task (with `day`) once per refresh period, whichever board asks;
    fails open — no Redis, no broker: the board still answers (the beat's run, or the bound,
    brings exact figures). Returns whether a task was enqueued."""
    from helpdesk.desk.supervisor.tasks import board_days_refresh as task

    try:
        if not cache.add(REFRESH_ASKED, "1", timeout=settings.DESK_SUPERVISOR_REFRESH_SECONDS):
            return False
        task.apply_async(args=[[str(day)]], ignore_result=True, retry=False)
    except Exception:  # the board's display must not fail on the queue
        logger.warning("board refresh not enqueued (no broker or cache)", exc_info=True)
        return False
    return True


def _warm(day: Day, *, live: bool, version: str, now: dt.datetime) -> None:
    """The day's panels into the shared cache under the keys the views read."""
    cached("live", day, live=live, compute=partial(_live_exact, day, now), version=version, overwrite=True)
    cached("wrapups", day, live=live, compute=partial(selectors.wrapup_problems, day=day), version=version)
    cached("complaints", day, live=True, compute=partial(selectors.complaints_panel, day=day), version=version)


def board_days_refresh(*, dates: list[dt.date] | None = None, now: dt.datetime | None = None) -> dict[str, Any]:
    """Bring the stored figures of today, yesterday, the days a board asked for in the last
    KEEP_FRESH and `dates` to the current input version, then fill the shared cache with the
    live and wrap-up panels of those days, so that the next board reads both. Does nothing
    when nothing changed; one run at a time (a cache lock)."""
    now = now or timezone.now()
    if not cache.add(REFRESH_LOCK, "1", timeout=600):
        return {"skipped": "another refresh holds the lock"}
    try:
        today = Day.today(now)
        days = {today, today.prev(), *(Day(d) for d in dates or ())}
        days.update(Day(d) for d in kpi_day_figures_to_refresh(since=now - KEEP_FRESH, version=kpi_input_version()))
        result = kpi_day_figures_refresh(days=sorted(days, key=lambda d: d.date, reverse=True), now=now)
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
