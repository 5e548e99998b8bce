"""A short shared cache for the board's panels (the live figures, wrap-ups, escalations,
complaints).

Every supervisor's board polls every 30 s; at national scale (a 1 M-call month) computing a
day's figures takes seconds (bench/bench_board.py), so one computation serves every board
for DESK_SUPERVISOR_CACHE_SECONDS (60 s for today, 20× that for a day that is over). The key
carries the data version — the KPI input version, which every committed insert, edit or
delete of the panels' inputs moves (database triggers) — so any change shows on the next
poll, and a generation every write on the board bumps (`invalidate`). 0 turns the cache off."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import cache

from kpi.selectors import kpi_input_version
from kpi.today import Day

T = TypeVar("T")
PAST_DAY_FACTOR = 20
GENERATION_KEY = "desk:sv:generation"


def invalidate() -> None:
    """After a write on the board: every cached panel is computed again on its next read."""
    try:
        cache.incr(GENERATION_KEY)
    except ValueError:
        cache.set(GENERATION_KEY, 1, None)


def data_version() -> str:
    """The KPI input version (`kpi.selectors.kpi_input_version`): moved by every committed
    change to the records, calendar, targets, users and roles the panels read — inserts and
    edits alike (database triggers, kpi migration 0005)."""
    return str(kpi_input_version())


def cached(
    name: str,
    day: Day,
    *,
    live: bool,
    compute: Callable[[], T],
    version: str | None = None,
    keep: Callable[[T], bool] | None = None,
    overwrite: bool = False,
) -> T:
    """`compute()` from the cache when its data has not changed; `version` lets a page that
    reads several panels read the data version once. A value `keep` refuses is not stored
    (the live panel of stale stored figures: the next poll looks again); `overwrite` stores
    without reading (the refresh task's exact panel replaces one another process put there)."""
    seconds = settings.DESK_SUPERVISOR_CACHE_SECONDS
    if seconds <= 0:
        return compute()
    key = f"desk:sv:{name}:{day}:{cache.get(GENERATION_KEY, 0)}:{version or data_version()}"
    if not overwrite:
        hit: Any = cache.get(key)
        if hit is not None:
            return hit
    value = compute()
    if keep is None or keep(value):
        cache.set(key, value, seconds if live else seconds * PAST_DAY_FACTOR)
    return value
