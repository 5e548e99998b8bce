"""Reads for staffing: the queue's history per date and half-hour, aggregated in the database
(one GROUP BY over the calls, no Python loop over rows), the roster and the hourly cost.

Per half-hour (Asia/Tokyo, by the call's arrival):
- offered: in-hours calls that reached the queue (answered + every queue abandon; IVR
  abandons and out-of-hours calls never reached an agent's queue);
- ivr_abandoned: in-hours callers who hung up in the IVR — they count against the
  contract's answer rate, so the plan raises the queue's target to make up for them;
- handle_seconds: Σ (connected + ACW) over answered calls, with the KPI engine's own
  per-call expression (`kpi.metrics.HandleParts` over `acw_inputs()`), so AHT here is the contract's AHT;
- abandons: callers who gave up (hung up in the queue or left with a key) — observed
  patience times. Timeouts (the PBX's maximum wait) and "no agent logged in" exits end the
  wait without the caller deciding, so they are censored like answered calls;
- wait_seconds: Σ time in queue of every offered call (from queue entry, else arrival, to
  the answer or the end), the exposure of the patience MLE.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, cast

from django.db.models import Count, F, FloatField, Func, IntegerField, Q, Sum, Value
from django.db.models.functions import Coalesce, Greatest

from helpdesk.clock import TOKYO, Month
from helpdesk.models import Call
from kpi.metrics import TOKYO_OFFSET, HandleParts, SecondsBetween, acw_inputs
from kpi.selectors import kpi_target_for, kpi_transaction
from kpi.staffing.models import RosterSlot, StaffingCost

OFFERED_OUTCOMES = (Call.Outcome.ANSWERED, *Call.QUEUE_ABANDON_OUTCOMES)
PATIENCE_OUTCOMES = (Call.Outcome.QUEUE_ABANDONED, Call.Outcome.QUEUE_EXIT_KEY)


class HalfHourIndex(Func):
    """Half-hours since 1970-01-01 00:00 on the Tokyo wall clock (Japan keeps UTC+9 all
    year): one integer to group by, cheaper than a date plus an hour plus a minute."""

    output_field = IntegerField()
    arity = 1

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(
            compiler,
            connection,
            template=f"FLOOR((EXTRACT(EPOCH FROM %(expressions)s)::double precision + {TOKYO_OFFSET}) / 1800)::int",
            **extra,
        )

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(
            compiler,
            connection,
            template=f"((CAST(strftime('%%%%s', %(expressions)s) AS INTEGER) + {TOKYO_OFFSET}) / 1800)",
            **extra,
        )


EPOCH = dt.date(1970, 1, 1)


@dataclass(frozen=True)
class IntervalStats:
    date: dt.date
    slot: int
    offered: int
    answered: int
    handle_seconds: float
    abandons: int
    wait_seconds: float
    ivr_abandoned: int = 0


def interval_history(*, first: dt.date, last: dt.date, counts_only: bool = False) -> list[IntervalStats]:
    """Queue statistics per (date, half-hour) for calls that arrived on days first..last.
    `counts_only`: offered and IVR counts alone (what a forecast needs), three times cheaper
    over a long history than the handle and wait sums."""
    start = dt.datetime.combine(first, dt.time(), TOKYO)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), TOKYO)
    # The KPI engine's own handle definition (talk + ACW by kpi-rules §2), with the ACW limit
    # of the contract period the history ends in.
    parts = HandleParts.build(kpi_target_for(month=Month(last.year, last.month)).acw_limit_seconds)
    connected, acw = parts.connected, parts.acw
    wait = Greatest(
        SecondsBetween(Coalesce(F("answered_at"), F("ended_at")), Coalesce(F("queued_at"), F("arrived_at"))),
        Value(0.0),
    )
    offered = Q(outcome__in=OFFERED_OUTCOMES)
    rows = (
        Call.objects.filter(arrived_at__gte=start, arrived_at__lt=end, in_service_hours=True)
        .filter(offered | Q(outcome=Call.Outcome.IVR_ABANDONED))
        .annotate(half_hour=HalfHourIndex("arrived_at"), **({} if counts_only else acw_inputs()))
        .values("half_hour")
        .annotate(
            n_offered=Count("id", filter=offered),
            n_ivr=Count("id", filter=Q(outcome=Call.Outcome.IVR_ABANDONED)),
            **(
                {}
                if counts_only
                else {
                    "n_answered": Count("id", filter=Q(outcome=Call.Outcome.ANSWERED)),
                    "handle": Sum(connected + acw, filter=Q(outcome=Call.Outcome.ANSWERED), output_field=FloatField()),
                    "n_abandons": Count("id", filter=Q(outcome__in=PATIENCE_OUTCOMES, ended_at__isnull=False)),
                    "waited": Sum(wait, filter=offered, output_field=FloatField()),
                }
            ),
        )
        .order_by("half_hour")
    )
    with kpi_transaction():  # JIT off, as for every KPI read
        # The annotations depend on counts_only: the rows are plain dicts to the type checker.
        fetched = cast(list[dict[str, Any]], list(rows))
    return [
        IntervalStats(
            date=EPOCH + dt.timedelta(days=r["half_hour"] // 48),
            slot=r["half_hour"] % 48,
            offered=r["n_offered"],
            answered=r.get("n_answered", 0),
            handle_seconds=float(r.get("handle") or 0.0),
            abandons=r.get("n_abandons", 0),
            wait_seconds=float(r.get("waited") or 0.0),
            ivr_abandoned=r["n_ivr"],
        )
        for r in fetched
    ]


def queue_waits(*, first: dt.date, last: dt.date) -> list[tuple[float, bool]]:
    """(seconds waited, gave up?) of every offered call: the input of a Kaplan–Meier curve."""
    start = dt.datetime.combine(first, dt.time(), TOKYO)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), TOKYO)
    wait = Greatest(
        SecondsBetween(Coalesce(F("answered_at"), F("ended_at")), Coalesce(F("queued_at"), F("arrived_at"))),
        Value(0.0),
    )
    rows = (
        Call.objects.filter(arrived_at__gte=start, arrived_at__lt=end, in_service_hours=True)
        .filter(outcome__in=OFFERED_OUTCOMES)
        .annotate(waited=wait)
        .values_list("waited", "outcome")
    )
    return [(float(w), o in PATIENCE_OUTCOMES) for w, o in rows if w is not None]


def roster_for(*, first: dt.date, last: dt.date) -> dict[tuple[dt.date, int], int]:
    return {
        (d, s): a
        for d, s, a in RosterSlot.objects.filter(date__gte=first, date__lte=last).values_list("date", "slot", "agents")
    }


def hourly_cost_for(*, month: Month) -> int | None:
    row = StaffingCost.objects.filter(valid_from__lte=month.first_day).order_by("-valid_from").first()
    return row.hourly_cost_yen if row else None


# --- effects the FAQ app knows about ----------------------------------------------------------


@dataclass(frozen=True)
class SurgeUplift:
    cluster: int
    label: str
    period_start: dt.date
    period_end: dt.date
    excess_share: float  # (count − baseline) ÷ every inquiry received in the surge's period


def surge_uplifts(*, since: dt.date, until: dt.date) -> list[SurgeUplift]:
    """Surges the FAQ app flagged whose period touches [since, until]: how much of all
    inquiries the topic added above its baseline (the largest per topic)."""
    from faq.models import SurgeAlert
    from helpdesk.models import Inquiry

    best: dict[int, SurgeUplift] = {}
    alerts = SurgeAlert.objects.filter(period_end__gte=since, period_start__lte=until).select_related("cluster")
    for alert in alerts:
        start = dt.datetime.combine(alert.period_start, dt.time(), TOKYO)
        end = dt.datetime.combine(alert.period_end + dt.timedelta(days=1), dt.time(), TOKYO)
        total = Inquiry.objects.filter(received_at__gte=start, received_at__lt=end).count()
        if not total:
            continue
        share = max(0.0, alert.count - alert.baseline) / total
        cid = alert.cluster.cluster_id
        if cid not in best or share > best[cid].excess_share:
            best[cid] = SurgeUplift(cid, alert.cluster.label, alert.period_start, alert.period_end, share)
    return sorted(best.values(), key=lambda u: u.cluster)


@dataclass(frozen=True)
class IvrEffect:
    deflection: float  # extra share of in-hours callers who hang up in the IVR while it runs
    announcements: int  # approved announcements measured
    callers_during: int


IVR_BASELINE_DAYS = 28


def ivr_deflection(*, first: dt.date, last: dt.date) -> IvrEffect | None:
    """From approved IVR announcements that started between first and last: the IVR
    hang-up share of in-hours callers while each ran, minus the share in the 28 days before
    it, weighted by callers. A caller who hears "see the FAQ page" and hangs up is a call
    deflected — and an IVR abandon in the contract's answer rate."""
    from faq.models import IvrAnnouncement

    start = dt.datetime.combine(first, dt.time(), TOKYO)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), TOKYO)
    runs = IvrAnnouncement.objects.filter(
        status=IvrAnnouncement.Status.APPROVED, starts_at__gte=start, starts_at__lt=end
    ).values_list("starts_at", "ends_at")
    weighted = 0.0
    callers = measured = 0
    counted = Q(in_service_hours=True, outcome__in=(*OFFERED_OUTCOMES, Call.Outcome.IVR_ABANDONED))
    ivr = Q(outcome=Call.Outcome.IVR_ABANDONED)
    for a_start, a_end in runs:
        assert a_start is not None and a_end is not None  # the filter above excludes NULLs
        before_start = a_start - dt.timedelta(days=IVR_BASELINE_DAYS)
        agg = Call.objects.filter(counted, arrived_at__gte=before_start, arrived_at__lt=a_end).aggregate(
            during=Count("id", filter=Q(arrived_at__gte=a_start)),
            during_ivr=Count("id", filter=Q(arrived_at__gte=a_start) & ivr),
            before=Count("id", filter=Q(arrived_at__lt=a_start)),
            before_ivr=Count("id", filter=Q(arrived_at__lt=a_start) & ivr),
        )
        if not agg["during"] or not agg["before"]:
            continue
        effect = agg["during_ivr"] / agg["during"] - agg["before_ivr"] / agg["before"]
        weighted += max(0.0, effect) * agg["during"]
        callers += agg["during"]
        measured += 1
    if not callers:
        return None
    return IvrEffect(weighted / callers, measured, callers)


def ivr_windows(*, first: dt.date, last: dt.date) -> list[tuple[dt.datetime, dt.datetime]]:
    """Approved announcements that run at some point between first and last."""
    from faq.models import IvrAnnouncement

    start = dt.datetime.combine(first, dt.time(), TOKYO)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), TOKYO)
    runs = IvrAnnouncement.objects.filter(
        status=IvrAnnouncement.Status.APPROVED, starts_at__lt=end, ends_at__gt=start
    ).values_list("starts_at", "ends_at")
    # The filter excludes NULLs; the check only tells the type checker so.
    return [(s, e) for s, e in runs if s is not None and e is not None]
