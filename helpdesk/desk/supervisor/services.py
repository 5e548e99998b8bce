"""The board's live panel as a board shows it (docs/desk-supervisor.md, "Stale figures,
bounded"): the stored figures within the bound, a refresh queued (helpdesk.desk.supervisor.tasks,
which runs refresh.py)."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.conf import settings
from django.core.cache import cache

from helpdesk.desk.supervisor import selectors
from helpdesk.desk.supervisor.tasks import board_days_refresh as refresh_task
from kpi.services import kpi_day_figures_display
from kpi.today import Day

REFRESH_ASKED = "desk:sv:refresh-asked"
logger = logging.getLogger(__name__)


def board_live_display(day: Day, now: dt.datetime | None = None, version: int | None = None) -> dict[str, Any]:
    """The live panel a board shows: the stored figures even when the data moved since, as
    long as they are of at most DESK_SUPERVISOR_MAX_STALE_SECONDS ago (`stale_as_of`: the
    moment they are of, shown on the page; a refresh is asked for), exact ones otherwise."""
    max_stale = dt.timedelta(seconds=settings.DESK_SUPERVISOR_MAX_STALE_SECONDS)
    figures, stale_as_of = kpi_day_figures_display(day=day, max_stale=max_stale, now=now, version=version)
    if stale_as_of is not None:
        request_refresh(day)
    return {**selectors.board_live(day=day, figures=figures, now=now), "stale_as_of": stale_as_of}


def request_refresh(day: Day) -> bool:
    """Enqueue the refresh task (with `day`) once per refresh period, whichever board asks;
    fails open — no Redis, no broker: the board still answers (the beat's run, or the bound,
    brings exact figures). Returns whether a task was enqueued."""
    try:
        if not cache.add(REFRESH_ASKED, "1", timeout=settings.DESK_SUPERVISOR_REFRESH_SECONDS):
            return False
        refresh_task.apply_async(args=[[str(day)]], ignore_result=True, retry=False)
    except Exception:  # the board's display must not fail on the queue
        logger.warning("board refresh not enqueued (no broker or cache)", exc_info=True)
        return False
    return True
