"""Writes: publishing a month (immutable snapshot, audit-logged) and refreshing the cache of
open months. Helpdesk records are only read."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from helpdesk.audit import audit_chain_head, audit_record
from helpdesk.clock import Month
from helpdesk.models import AuditEvent
from kpi import selectors
from kpi.models import KpiSnapshot

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
