"""Writes: publishing a month (immutable snapshot, audit-logged) and refreshing the cache of
open months. Helpdesk records are only read."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, connection, transaction
from django.db.models import Max
from django.utils import timezone

from helpdesk.audit import audit_chain_head, audit_record
from helpdesk.clock import Month
from helpdesk.models import AuditEvent
from kpi import selectors
from kpi import today as kpi_today
from kpi.models import KpiDayFigures, KpiInputChange, KpiSnapshot
from kpi.today import Day

RECOMPUTE_LOCK = "kpi:lock:recompute-open-months"


@transaction.atomic
def kpi_snapshot_publish(*, month: Month, actor, note: str = "") -> KpiSnapshot:
    """Publish the month's current figures (computed fresh) as the next snapshot version,
    with the audit trail's chain head as it stood when they were computed."""
    head_id, head_hash = audit_chain_head() or (None, "")
    data = selectors.kpi_month_compute(month=month)
    for attempt in range(3):
        version = (KpiSnapshot.objects.filter(month=str(month)).aggregate(v=Max("version"))["v"] or 0) + 1
        try:
            with transaction.atomic():
                snap = KpiSnapshot.objects.create(
                    month=str(month),
                    version=version,
                    data=data,
                    published_at=timezone.now(),
                    published_by=actor if getattr(actor, "is_authenticated", False) else None,
                    note=note[:255],
                    audit_head_id=head_id,
                    audit_head_hash=head_hash,
                )
            break
        except IntegrityError:  # two admins publishing at once: the next version number
            if attempt == 2:
                raise
    audit_record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        obj=snap,
        object_type="kpi.kpisnapshot",
        object_id=f"{snap.month} v{snap.version}",
        changes={"month": snap.month, "version": snap.version},
        note=note,
    )
    transaction.on_commit(lambda: cache.set(selectors.cache_key(month), data, timeout=_ttl()))
    return snap


def _ttl() -> int:
    return settings.KPI_CACHE_SECONDS


def kpi_open_months(*, today: dt.date | None = None) -> list[Month]:
    """Months whose figures can still change: the last KPI_OPEN_MONTHS months (default 3,
    the current one included) and every month of the past two years that still has an
    unanswered email inquiry (a late answer joins that month's mean)."""
    if today is None:
        now = timezone.localtime(timezone.now())
        current = Month(now.year, now.month)
    else:
        current = Month(today.year, today.month)
    months = {current}
    m = current
    for _ in range(settings.KPI_OPEN_MONTHS - 1):
        m = m.prev()
        months.add(m)
    horizon = current
    for _ in range(24):
        horizon = horizon.prev()
    months.update(selectors.months_with_unanswered_email(since=horizon))
    return sorted(x for x in months if x <= current)


def kpi_recompute_months(*, months: list[Month]) -> dict[str, Any]:
    """Recompute and cache each month (nightly, and after imports)."""
    done = []
    for month in months:
        selectors.kpi_month_current(month=month, fresh=True)
        done.append(str(month))
    return {"months": done}


def kpi_recompute_open_months(*, today: dt.date | None = None) -> dict[str, Any]:
    """The nightly job, guarded against overlapping runs by a cache lock."""
    if not cache.add(RECOMPUTE_LOCK, "1", timeout=3600):
        return {"months": [], "skipped": "another run holds the lock"}
    try:
        result = kpi_recompute_months(months=kpi_open_months(today=today))
    finally:
        cache.delete(RECOMPUTE_LOCK)
    audit_record(
        actor=None,
        action=AuditEvent.Action.UPDATE,
        object_type="kpi.month_cache",
        changes=result,
        note="nightly KPI recompute",
    )
    return result


# --- the board's day figures, computed off the request -------------------------------------

VIEWED_REFRESH = dt.timedelta(hours=1)


@contextmanager
def _figures_write() -> Iterator[None]:
    """A write of stored day figures alone (a mark that a board viewed them, that they are
    still current, or the figures themselves): derived data, computed again from the records
    when lost. On PostgreSQL, when the request holds no transaction of its own, committed
    without waiting for the disk (`synchronous_commit` off for that transaction only): a
    crash may lose the write, never a record, and the board's request does not wait for an
    fsync (docs/desk-supervisor.md, "Stored ahead"). Inside a caller's transaction (which may
    hold records or audit rows) nothing changes."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
        yield


def _viewed(pk: int, now: dt.datetime) -> None:
    with _figures_write():
        KpiDayFigures.objects.filter(pk=pk).update(viewed_at=now)


def kpi_day_figures(*, day: Day, now: dt.datetime | None = None) -> dict[str, Any]:
    """The day's board figures (`kpi.today.day_figures_compute`, decoded): the stored ones
    when they were computed at the current input version (the refresh task's), computed now
    and stored otherwise — never figures of older data. A past day's carry its mail figure;
    a day still running, its phone figures only (the mail figure moves with the clock)."""
    now = now or timezone.now()
    as_of, _ = kpi_today.day_bounds(day, now)
    version = selectors.kpi_input_version()
    row = selectors.kpi_day_figures_stored(date=day.date)
    if row is not None and kpi_today.day_figures_current(
        row.data, version=version, stored_version=row.version, as_of=as_of, day=day
    ):
        if now - row.viewed_at > VIEWED_REFRESH:
            _viewed(row.pk, now)
        return kpi_today.day_figures_decode(row.data)
    if row is not None and (data := kpi_day_figures_revalidate(row, day=day, version=version, now=now)) is not None:
        return kpi_today.day_figures_decode(data)
    return kpi_today.day_figures_decode(kpi_day_figures_store(day=day, version=version, now=now))


def kpi_day_figures_revalidate(
    row: KpiDayFigures,
    *,
    day: Day,
    version: int,
    now: dt.datetime,
    open_loads: dict[int, dict[int, int]] | None = None,
    viewed: bool = True,
) -> dict[str, Any] | None:
    """Stored figures of an older input version that are still the day's (docs/desk-supervisor.md,
    "Per-day input versions"): when no change since touched what they read (the day's version,
    `kpi.selectors.kpi_day_versions`, is the one they were computed at), they are marked current
    at `version` — read before, like any version — and returned; the agents' open load, which is
    the present's, read again if an inquiry changed meanwhile. None when the day's own inputs
    changed (or the row predates the per-day versions): compute them. One query, two when the
    open load moved, then one UPDATE. `open_loads`: the open load by its version, read once for
    every row a run revalidates (it is the present's, the same for every day). `viewed`: False
    for a day the task stores ahead (no board asked: `viewed_at` is left as it is)."""
    as_of, _ = kpi_today.day_bounds(day, now)
    depends = row.data.get("depends")
    if depends is None or not kpi_today.day_figures_current(
        row.data, version=row.version, stored_version=row.version, as_of=as_of, day=day
    ):
        return None
    day_version, open_version = selectors.kpi_day_versions(depends=depends)
    if day_version != depends["day_version"]:
        return None
    data = row.data
    if open_version != depends["open_version"]:
        loads = {} if open_loads is None else open_loads
        if open_version not in loads:
            loads[open_version] = kpi_today.open_inquiries_by_assignee(statuses=kpi_today.OPEN_STATUSES)
        load = loads[open_version]
        data = {
            **data,
            "open_by_assignee": {str(uid): n for uid, n in load.items()},
            "depends": {**depends, "open_version": open_version},
        }
    with _figures_write():
        KpiDayFigures.objects.filter(pk=row.pk, version__lte=version).update(
            version=version,
            data=data,
            computed_at=now,
            **({"viewed_at": now} if viewed and now - row.viewed_at > VIEWED_REFRESH else {}),
        )
    return data


def kpi_day_figures_display(
    *, day: Day, max_stale: dt.timedelta, now: dt.datetime | None = None, version: int | None = None
) -> tuple[dict[str, Any], dt.datetime | None]:
    """For the board's display only (never an export, the month or a snapshot): the day's
    figures and, when they are not at the current input version, the moment they are of.
    Stored figures of an older version are served while that moment is at most `max_stale`
    ago (a zero bound: never) — exactly that version's figures, never mixed; older or none →
    `kpi_day_figures` (computed now, exact). Fresh figures come back with `None`. `version`:
    the input version the caller read this request (one read per page)."""
    now = now or timezone.now()
    as_of, _ = kpi_today.day_bounds(day, now)
    version = selectors.kpi_input_version() if version is None else version
    row = selectors.kpi_day_figures_stored(date=day.date)
    if row is not None and kpi_today.day_figures_current(
        row.data, version=row.version, stored_version=row.version, as_of=as_of, day=day
    ):
        fresh = row.version == version
        if not fresh and (data := kpi_day_figures_revalidate(row, day=day, version=version, now=now)) is not None:
            return kpi_today.day_figures_decode(data), None  # an edit of another day: still current
        if fresh or (max_stale > dt.timedelta(0) and now - row.computed_at <= max_stale):
            if now - row.viewed_at > VIEWED_REFRESH:
                _viewed(row.pk, now)
            return kpi_today.day_figures_decode(row.data), None if fresh else row.computed_at
    return kpi_day_figures(day=day, now=now), None


# `viewed_at` of a day stored ahead that no board asked for yet
NEVER_VIEWED = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


def kpi_day_figures_store(
    *, day: Day, version: int, now: dt.datetime | None = None, viewed: bool = True
) -> dict[str, Any]:
    """Compute the day's figures and store them at `version` — the input version read BEFORE
    computing (so they saw at least its data). A row stored at a later version is kept.
    `viewed`: False when no board asked (stored ahead): `viewed_at`, which says which days the
    task keeps fresh first, is not moved (NEVER_VIEWED for a new row)."""
    now = now or timezone.now()
    as_of, _ = kpi_today.day_bounds(day, now)
    started = time.perf_counter()
    # what the figures read, then the versions of that (before computing, like `version`)
    depends = kpi_today.day_depends(day=day, as_of=as_of)
    day_version, open_version = selectors.kpi_day_versions(depends=depends)
    data = json.loads(json.dumps(kpi_today.day_figures_compute(day=day, as_of=as_of), cls=DjangoJSONEncoder))
    data["depends"] = {**depends, "day_version": day_version, "open_version": open_version}
    values = {
        "version": version,
        "data": data,
        "computed_at": now,
        "compute_ms": round((time.perf_counter() - started) * 1000),
    }
    viewed_at = {"viewed_at": now if viewed else NEVER_VIEWED}
    with _figures_write(), transaction.atomic():
        updated = KpiDayFigures.objects.filter(date=day.date, version__lte=version).update(
            **values, **(viewed_at if viewed else {})
        )
        if not updated and not KpiDayFigures.objects.filter(date=day.date).exists():
            try:
                with transaction.atomic():
                    KpiDayFigures.objects.create(date=day.date, **values, **viewed_at)
            except IntegrityError:  # another process stored the day meanwhile: theirs stands
                pass
    return data


def kpi_input_log_compact(*, batch: int = 100_000) -> int:
    """Fold the input log's rows of one (kind, hour) among its `batch` oldest into one row with
    their sum (no version moves: the input version, a day's, the open load's); returns the rows
    removed. A (kind, hour) with one row is left as it is, so a log already folded is not
    rewritten: the log keeps a row per (kind, hour) ever touched (on SQLite, one: every row is
    global). The rows inserted carry the sums of exactly the rows deleted (PostgreSQL: one
    `DELETE … RETURNING` feeding the `INSERT`), so a writer's row committed meanwhile is never
    lost and two compactions at once cannot double-count."""
    table = KpiInputChange._meta.db_table
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"WITH batch AS (SELECT id, kind, at FROM {table} ORDER BY id LIMIT %s), "
                "folded AS (SELECT kind, at FROM batch GROUP BY kind, at HAVING COUNT(*) > 1), "
                f"gone AS (DELETE FROM {table} WHERE id IN (SELECT b.id FROM batch b JOIN folded f "
                "ON f.kind = b.kind AND f.at IS NOT DISTINCT FROM b.at) RETURNING kind, at, n), "
                f"kept AS (INSERT INTO {table} (kind, at, n) SELECT kind, at, SUM(n) FROM gone "
                "GROUP BY kind, at RETURNING 1) "
                "SELECT (SELECT COUNT(*) FROM gone) - (SELECT COUNT(*) FROM kept)",
                [batch],
            )
            return int(cursor.fetchone()[0])
    # SQLite: one writer at a time; the transaction reads and deletes the same rows
    with transaction.atomic():
        rows = list(KpiInputChange.objects.order_by("id").values_list("id", "kind", "at", "n")[:batch])
        groups: dict[tuple[str, dt.datetime | None], list[tuple[int, int]]] = {}
        for pk, kind, at, n in rows:
            groups.setdefault((kind, at), []).append((pk, n))
        folded = {key: members for key, members in groups.items() if len(members) > 1}
        if not folded:
            return 0
        KpiInputChange.objects.filter(id__in=[pk for members in folded.values() for pk, _ in members]).delete()
        KpiInputChange.objects.bulk_create(
            KpiInputChange(kind=kind, at=at, n=sum(n for _, n in members)) for (kind, at), members in folded.items()
        )
        return sum(len(members) - 1 for members in folded.values())


def kpi_day_figures_refresh(
    *,
    days: list[Day],
    now: dt.datetime | None = None,
    ahead: list[Day] | None = None,
    ahead_seconds: float = 0.0,
) -> dict[str, Any]:
    """Store the figures of `days` whose stored ones are not at the current version (the
    refresh task: after an import or an edit, before a board asks), then those of the days
    `ahead` (newest first) for as long as `ahead_seconds` allows: the days no board asked for
    yet, stored before one does (docs/desk-supervisor.md, "Stored ahead"). A day whose stored
    figures are still its own costs one query (`kpi_day_figures_revalidate`); only a day whose
    own inputs changed, or that has none stored, is computed. `ahead_left`: the days the
    budget did not reach (the next run goes on with them)."""
    now = now or timezone.now()
    kpi_input_log_compact()
    version = selectors.kpi_input_version()
    open_loads: dict[int, dict[int, int]] = {}

    def bring(day: Day, *, viewed: bool = True) -> bool:
        """The day's stored figures at `version`; whether they had to be computed."""
        row = selectors.kpi_day_figures_stored(date=day.date)
        as_of, _ = kpi_today.day_bounds(day, now)
        if row is not None and kpi_today.day_figures_current(
            row.data, version=version, stored_version=row.version, as_of=as_of, day=day
        ):
            # still of the current data: they are the figures as of this run (what the board's
            # stale bound is measured from, `kpi_day_figures_display`)
            KpiDayFigures.objects.filter(pk=row.pk, version=version, computed_at__lt=now).update(computed_at=now)
            return False
        if row is not None and (
            kpi_day_figures_revalidate(row, day=day, version=version, now=now, open_loads=open_loads, viewed=viewed)
            is not None
        ):
            return False  # an edit of another day only
        kpi_day_figures_store(day=day, version=version, now=now, viewed=viewed)
        return True

    done = [str(day) for day in days if bring(day)]
    stored_ahead: list[str] = []
    asked = set(days)
    pending = [day for day in ahead or () if day not in asked]
    deadline = time.monotonic() + ahead_seconds
    while pending and time.monotonic() < deadline:
        day = pending.pop(0)
        if bring(day, viewed=False):
            stored_ahead.append(str(day))
    return {"version": version, "days": done, "ahead": stored_ahead, "ahead_left": len(pending)}
