"""A short shared cache for the board's panels (the live figures, wrap-ups, escalations,
complaints).

Every supervisor's board polls every 30 s; at national scale (a 1 M-call month) computing a
day's figures takes seconds (bench/bench_board.py), so one computation serves every board
for DESK_SUPERVISOR_CACHE_SECONDS (60 s for today, 20× that for a day that is over). The key
carries a data version — the highest call, inquiry, mail and escalation ids, read from their
primary keys in one query — so a call import, a new inquiry or an agent's new request shows on
the next poll, not after the TTL, and a generation every write on the board bumps
(`invalidate`), so the SV sees their own write at once; other changes to existing rows (an
answer recorded through the API) show within the TTL. 0 turns the cache off."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import connection

from helpdesk.models import Call, Complaint, EmailMessage, Escalation, Inquiry
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
    tables = [m._meta.db_table for m in (Call, Inquiry, EmailMessage, Escalation, Complaint)]
    sql = "SELECT " + ", ".join(f'(SELECT MAX(id) FROM "{t}")' for t in tables)
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return ".".join(str(v or 0) for v in cursor.fetchone())


def cached(name: str, day: Day, *, live: bool, compute: Callable[[], T], version: str | None = None) -> T:
    """`compute()` from the cache when its data has not changed; `version` lets a page that
    reads several panels read the data version once."""
    seconds = settings.DESK_SUPERVISOR_CACHE_SECONDS
    if seconds <= 0:
        return compute()
    key = f"desk:sv:{name}:{day}:{cache.get(GENERATION_KEY, 0)}:{version or data_version()}"
    hit: Any = cache.get(key)
    if hit is not None:
        return hit
    value = compute()
    cache.set(key, value, seconds if live else seconds * PAST_DAY_FACTOR)
    return value
