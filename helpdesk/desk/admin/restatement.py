"""What a change to the contract settings or the service calendar would restate, shown to
the admin BEFORE it is saved: the change is applied inside a savepoint that is always
rolled back, the KPI months it decides are computed before and after (the KPI app's own
`kpi_month_compute`, one definition), and the figures that differ are listed per month with
its publication, if any. Nothing is written, audited or cached by a preview."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Max, Min

from helpdesk.clock import TOKYO, Month, month_range
from helpdesk.models import Call
from kpi.models import KpiSnapshot, PeriodType
from kpi.selectors import kpi_month_compute

# A contract period may span years: the preview computes at most this many months (the
# most recent ones) and says how many more the change also decides.
MAX_PREVIEW_MONTHS = 24

METRIC_LABELS = {
    "answer_rate": "応答率",
    "average_handle_time": "平均処理時間",
    "email_average_response_time": "メール平均回答時間",
    "first_contact_resolution": "一次解決率",
    "complaints": "苦情件数",
    "security_incidents": "セキュリティ事故",
}
KEY_LABELS = {
    "target": "目標",
    "met": "達成",
    "value": "値",
    "seconds": "秒",
    "count": "件数",
    "calls_acw_capped": "後処理上限で打ち切った通話",
    "acw_limit_seconds": "後処理上限（秒）",
    "offered": "入電",
    "answered": "応答",
}


@dataclass(frozen=True)
class Change:
    what: str
    before: Any
    after: Any


@dataclass
class RestatedMonth:
    month: Month
    published_version: int | None
    changes: list[Change] = field(default_factory=list)


@dataclass
class Preview:
    months: list[RestatedMonth]  # months whose figures change, oldest first
    unchanged: list[Month]  # months the setting decides whose figures stay the same
    not_computed: int = 0  # older months beyond MAX_PREVIEW_MONTHS


RATE_METRICS = frozenset({"answer_rate", "first_contact_resolution"})


def _fmt(metric: str, key: str, value: Any) -> Any:
    """A value as the admin reads it: 達成/未達, rates in %, period types by name."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "達成" if value else "未達"
    if metric in RATE_METRICS and key in ("value", "target") and isinstance(value, int | float):
        return f"{value * 100:.1f}%"
    if isinstance(value, float):
        return round(value, 1)
    return value


def _changes(before: dict[str, Any], after: dict[str, Any]) -> list[Change]:
    out: list[Change] = []
    if before.get("period_type") != after.get("period_type"):
        labels: dict[str | None, str] = dict(PeriodType.choices)
        old, new = before.get("period_type"), after.get("period_type")
        out.append(Change("期区分", labels.get(old, old), labels.get(new, new)))
    for metric, label in METRIC_LABELS.items():
        old, new = before.get(metric) or {}, after.get(metric) or {}
        for key, key_label in KEY_LABELS.items():
            if key in old and old.get(key) != new.get(key):
                out.append(
                    Change(f"{label}の{key_label}", _fmt(metric, key, old.get(key)), _fmt(metric, key, new.get(key)))
                )
    return out


def preview(*, months: Iterable[Month], apply: Callable[[], None]) -> Preview:
    """Compute `months` now and with `apply()` run in a savepoint that is rolled back."""
    wanted = sorted(set(months), key=lambda m: (m.year, m.month))
    not_computed = max(0, len(wanted) - MAX_PREVIEW_MONTHS)
    wanted = wanted[not_computed:]
    now = dt.datetime.now(TOKYO)
    before = {m: kpi_month_compute(month=m, now=now) for m in wanted}
    with transaction.atomic():
        apply()
        after = {m: kpi_month_compute(month=m, now=now) for m in wanted}
        transaction.set_rollback(True)
    published: dict[str, int] = {}
    for month, version in KpiSnapshot.objects.filter(month__in=[str(m) for m in wanted]).values_list(
        "month", "version"
    ):
        published[month] = max(version, published.get(month, 0))
    restated, unchanged = [], []
    for m in wanted:
        changes = _changes(before[m], after[m])
        if changes:
            restated.append(RestatedMonth(m, published.get(str(m)), changes))
        else:
            unchanged.append(m)
    return Preview(months=restated, unchanged=unchanged, not_computed=not_computed)


def months_with_calls() -> list[Month]:
    """Every month from the first call to the last: what a change of the regular week touches."""
    span = Call.objects.aggregate(first=Min("arrived_at"), last=Max("arrived_at"))
    if span["first"] is None:
        return []
    first, last = span["first"].astimezone(TOKYO), span["last"].astimezone(TOKYO)
    return month_range(Month(first.year, first.month), Month(last.year, last.month))


def month_of(day: dt.date) -> Month:
    return Month(day.year, day.month)
