"""A short shared cache for the board's heavy reads (the live figures, the wrap-ups).

Every supervisor's board polls every 30 s; at national scale (a 1 M-call month) computing a
day's figures takes seconds (bench/bench_board.py), so one computation serves every board
for DESK_SUPERVISOR_CACHE_SECONDS (15 s for today, 20× that for a day that is over). The key
carries a data version — the highest call, inquiry, mail and escalation ids, read from their
primary keys in one query — so a call import or a new inquiry shows on the next poll, not
after the TTL; changes to existing rows show within the TTL. 0 turns the cache off."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import connection

from helpdesk.models import Call, EmailMessage, Escalation, Inquiry
from kpi.today import Day

T = TypeVar("T")
DEFAULT_SECONDS = 15
PAST_DAY_FACTOR = 20


def data_version() -> str:
    tables = [m._meta.db_table for m in (Call, Inquiry, EmailMessage, Escalation)]
    sql = "SELECT " + ", ".join(f'(SELECT MAX(id) FROM "{t}")' for t in tables)
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return ".".join(str(v or 0) for v in cursor.fetchone())


def cached(name: str, day: Day, *, live: bool, compute: Callable[[], T]) -> T:
    seconds = getattr(settings, "DESK_SUPERVISOR_CACHE_SECONDS", DEFAULT_SECONDS)
    if seconds <= 0:
        return compute()
    key = f"desk:sv:{name}:{day}:{data_version()}"
    hit: Any = cache.get(key)
    if hit is not None:
        return hit
    value = compute()
    cache.set(key, value, seconds if live else seconds * PAST_DAY_FACTOR)
    return value
