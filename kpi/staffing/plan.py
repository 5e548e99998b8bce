"""The staffing plan of one month (docs/staffing.md): per open day and half-hour the arrivals
(recorded for a past month, forecast otherwise), AHT, patience, the agents Erlang A needs for
the month's answer-rate target and the answer rate they give; the roster's expected answer
rate, a what-if (+N agents from a date) and the cost of each.

A read: it writes nothing, so it is safe to call from a GET. Each half-hour must reach the
target on its own, which keeps the month at or above it too (the month's rate is the
arrival-weighted mean of its half-hours)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from helpdesk.calendar import ServiceCalendar, load_service_calendar
from helpdesk.clock import TOKYO, Month
from kpi import selectors as kpi_selectors
from kpi.models import PeriodType
from kpi.staffing import estimates
from kpi.staffing import forecast as fc
from kpi.staffing.erlang import agents_needed, answer_rate
from kpi.staffing.models import slot_start
from kpi.staffing.selectors import (
    hourly_cost_for,
    interval_history,
    ivr_deflection,
    ivr_windows,
    roster_for,
    surge_uplifts,
)

BASES = ("auto", "actual", "forecast")
HISTORY_WEEKS = 26
PARAMETER_WEEKS = 8
MIN_AGENTS_WHILE_OPEN = 1
MAX_QUEUE_TARGET = 0.995
MIN_YEAR, MAX_YEAR = 1990, 9998
MAX_WHAT_IF_AGENTS = 10_000


class PlanError(ValueError):
    """Bad input, named by the field it concerns (the API answers 400 with it)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class WhatIf:
    agents: int
    from_date: dt.date


def open_slots(calendar: ServiceCalendar, day: dt.date) -> list[int]:
    """Half-hours of the day that overlap its service hours."""
    hours = calendar.hours_on(day)
    if not hours:
        return []
    o = hours[0].hour * 60 + hours[0].minute
    c = hours[1].hour * 60 + hours[1].minute
    return [s for s in range(48) if s * 30 < c and s * 30 + 30 > o]


def _days(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


def _after_break(calendar: ServiceCalendar, days: list[dt.date]) -> set[dt.date]:
    out = set()
    for d in days:
        if not calendar.hours_on(d):
            continue
        prev = d - dt.timedelta(days=1)
        while (d - prev).days < 15 and not calendar.hours_on(prev):
            prev -= dt.timedelta(days=1)
        if (d - prev).days >= fc.LONG_BREAK_GAP_DAYS:
            out.add(d)
    return out


def _period_types(first: Month, last: Month) -> dict[tuple[int, int], str]:
    out, m = {}, first
    while m <= last:
        out[(m.year, m.month)] = kpi_selectors.kpi_period_type(month=m)
        m = m.next()
    return out


def _target(month: Month, period_type: str, override: float | None) -> tuple[float, str]:
    if override is not None:
        if not (isinstance(override, int | float) and 0 < override < 1):
            raise PlanError("target", "target は 0 より大きく 1 未満の数（例: 0.70）にしてください。")
        return float(override), "override"
    t = kpi_selectors.kpi_target_for(month=month)
    value = t.answer_rate_normal if period_type == PeriodType.NORMAL else t.answer_rate_busy
    return float(value), "contract"


def staffing_plan(
    *,
    month: Month,
    target: float | None = None,
    basis: str = "auto",
    what_if: WhatIf | None = None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    if not MIN_YEAR <= month.year <= MAX_YEAR:  # 0000-01 parses, but no calendar has it
        raise PlanError("month", f"month は {MIN_YEAR}〜{MAX_YEAR} 年の範囲にしてください: {month}")
    if basis not in BASES:
        raise PlanError("basis", f"basis は {', '.join(BASES)} のいずれかにしてください。")
    if what_if and abs(what_if.agents) > MAX_WHAT_IF_AGENTS:
        raise PlanError("what_if_agents", f"what_if_agents は ±{MAX_WHAT_IF_AGENTS} 以内にしてください。")
    if what_if and not (month.first_day <= what_if.from_date < month.end.date()):
        raise PlanError("what_if_from", f"what_if_from は {month} 内の日付にしてください。")
    now = now or timezone.now()
    today = now.astimezone(TOKYO).date()
    first, last = month.first_day, month.end.date() - dt.timedelta(days=1)
    hist_first = first - dt.timedelta(weeks=HISTORY_WEEKS)
    calendar = load_service_calendar(hist_first - dt.timedelta(days=15), last)
    period_type = kpi_selectors.kpi_period_type(month=month)
    target_value, target_source = _target(month, period_type, target)
    month_days = _days(first, last)
    targets = {d: open_slots(calendar, d) for d in month_days}
    targets = {d: s for d, s in targets.items() if s}

    recorded = interval_history(first=first, last=last) if basis != "forecast" else []
    if basis == "actual" and not recorded:
        raise PlanError("basis", f"{month} の通話記録がないため actual では計画できません。")
    use_actual = basis == "actual" or (basis == "auto" and recorded and month.end.date() <= today)

    forecast_info = None
    effects: dict[str, Any] = {"surges": [], "ivr": None, "ivr_cells": {}}
    if use_actual:
        arrivals = {(r.date, r.slot): float(r.offered) for r in recorded}
        for r in recorded:  # half-hours the calendar calls closed but calls were taken in hours
            targets.setdefault(r.date, [])
            if r.slot not in targets[r.date]:
                targets[r.date] = sorted([*targets[r.date], r.slot])
        pooled = estimates.aht_pooled(recorded)
        by_cell = estimates.aht_by_date_slot(recorded, pooled=pooled)
        aht = {cell: by_cell.get(cell, pooled) for cell in _cells(targets)}
        patience = estimates.patience_mle(recorded)
        ivr_share = _ivr_share(recorded)
    else:
        hist_last = min(today, first) - dt.timedelta(days=1)
        stats = interval_history(first=hist_first, last=hist_last, counts_only=True) if hist_last >= hist_first else []
        if not stats:
            raise PlanError("month", f"{month} を予測するための通話記録（直近{HISTORY_WEEKS}週）がありません。")
        history = _history(stats, calendar)
        ctx = fc.Context(
            period_of=_period_types(Month.of(_aware(hist_first)), month),
            after_break=_after_break(calendar, _days(hist_first, last)),
        )
        bt = fc.backtest(history, ctx)
        method = bt.chosen if bt else "profile"
        offset = sum(
            1 for d in _days(hist_last + dt.timedelta(days=1), first - dt.timedelta(days=1)) if open_slots(calendar, d)
        )
        arrivals = fc.forecast(history, targets, ctx, method=method, offset_days=offset)
        recent = interval_history(first=hist_last - dt.timedelta(weeks=PARAMETER_WEEKS, days=-1), last=hist_last)
        pooled = estimates.aht_pooled(recent)
        by_slot = estimates.aht_by_slot(recent, pooled=pooled)
        aht = {(d, s): by_slot.get(s, pooled) for d, s in _cells(targets)}
        patience = estimates.patience_mle(recent)
        ivr_share = _ivr_share(recent)
        effects = _apply_effects(
            arrivals, hist_first=hist_first, hist_last=hist_last, first=first, last=last, ivr_share=ivr_share
        )
        forecast_info = {
            "method": method,
            "history_from": str(min(history)),
            "history_to": str(max(history)),
            "backtest": _backtest_json(bt),
            "period_factor": round(fc.fit_factors(history, ctx).period.get(period_type, 1.0), 3),
            "surges": effects["surges"],
            "ivr_announcements": effects["ivr"],
        }

    roster = roster_for(first=first, last=last)
    has_roster = bool(roster)
    hourly_cost = hourly_cost_for(month=month)
    theta = patience.seconds
    # The contract's rate counts IVR hang-ups as unanswered; the queue must answer that much
    # more of the callers who reach it.
    reach_default = 1 - ivr_share

    def reach_of(cell: tuple[dt.date, int]) -> float:
        # an IVR announcement deflects callers: each one is an IVR abandon in the contract's rate
        return reach_default - effects["ivr_cells"].get(cell, 0.0)

    def queue_target_for(reach: float) -> float:
        return min(MAX_QUEUE_TARGET, target_value / reach) if reach > 0 else MAX_QUEUE_TARGET

    queue_target = queue_target_for(reach_default)
    unreachable = 0  # half-hours where even a queue that answers everyone misses the target

    days_out: list[dict[str, Any]] = []
    totals = {
        "callers": 0.0,
        "arrivals": 0.0,
        "needed": 0.0,
        "rostered": 0.0,
        "what_if": 0.0,
        "h_need": 0.0,
        "h_rost": 0.0,
        "h_wi": 0.0,
    }
    for day in sorted(targets):
        slots_out = []
        d = {
            "callers": 0.0,
            "arrivals": 0.0,
            "needed": 0.0,
            "rostered": 0.0,
            "what_if": 0.0,
            "h_need": 0.0,
            "h_rost": 0.0,
            "h_wi": 0.0,
        }
        peak_needed = 0
        for s in targets[day]:
            lam = max(0.0, arrivals.get((day, s), 0.0))
            h = aht[(day, s)]
            need = agents_needed(
                arrivals=lam,
                aht_seconds=h,
                patience_seconds=theta,
                target=queue_target_for(reach_of((day, s))),
                minimum=MIN_AGENTS_WHILE_OPEN,
            )
            r_need = _rate(lam, h, theta, need)
            row = {
                "start": f"{slot_start(s):%H:%M}",
                "arrivals": round(lam, 2),
                "aht_seconds": round(h, 1),
                "patience_seconds": round(theta, 1),
                "agents_needed": need,
                "expected_answer_rate": round(r_need, 4),
            }
            d["arrivals"] += lam
            if reach_of((day, s)) <= 0 or target_value / reach_of((day, s)) > MAX_QUEUE_TARGET:
                unreachable += 1
            d["callers"] += lam / max(reach_of((day, s)), 1e-9)
            d["needed"] += lam * r_need
            d["h_need"] += need / 2
            peak_needed = max(peak_needed, need)
            if has_roster:
                rost = roster.get((day, s), 0)
                r_rost = _rate(lam, h, theta, rost)
                row.update(rostered=rost, short=max(0, need - rost), expected_answer_rate_rostered=round(r_rost, 4))
                d["rostered"] += lam * r_rost
                d["h_rost"] += rost / 2
                base = rost
            else:
                base = need
            if what_if:
                wi = max(0, base + what_if.agents) if day >= what_if.from_date else base
                r_wi = _rate(lam, h, theta, wi)
                row.update(what_if_agents=wi, expected_answer_rate_what_if=round(r_wi, 4))
                d["what_if"] += lam * r_wi
                d["h_wi"] += wi / 2
            slots_out.append(row)
        for k in totals:
            totals[k] += d[k]
        days_out.append(
            {
                "date": str(day),
                "arrivals": round(d["arrivals"], 1),
                "agents_needed_peak": peak_needed,
                "agent_hours_needed": d["h_need"],
                "expected_answer_rate_needed": _share(d["needed"], d["callers"]),
                **(
                    {
                        "agent_hours_rostered": d["h_rost"],
                        "expected_answer_rate_rostered": _share(d["rostered"], d["callers"]),
                    }
                    if has_roster
                    else {}
                ),
                **(
                    {
                        "agent_hours_what_if": d["h_wi"],
                        "expected_answer_rate_what_if": _share(d["what_if"], d["callers"]),
                    }
                    if what_if
                    else {}
                ),
                "slots": slots_out,
            }
        )

    def cost(hours: float) -> int | None:
        return None if hourly_cost is None else round(hours * hourly_cost)

    summary: dict[str, Any] = {
        "open_days": len(days_out),
        "arrivals": round(totals["arrivals"], 1),
        "expected_answer_rate_needed": _share(totals["needed"], totals["callers"]),
        "agent_hours_needed": totals["h_need"],
        "cost_needed_yen": cost(totals["h_need"]),
        "half_hours_target_unreachable": unreachable,
    }
    if has_roster:
        summary.update(
            expected_answer_rate_rostered=_share(totals["rostered"], totals["callers"]),
            agent_hours_rostered=totals["h_rost"],
            cost_rostered_yen=cost(totals["h_rost"]),
            agent_hours_short=sum(r.get("short", 0) for day in days_out for r in day["slots"]) / 2,
        )
    if what_if:
        summary.update(
            expected_answer_rate_what_if=_share(totals["what_if"], totals["callers"]),
            agent_hours_what_if=totals["h_wi"],
            cost_what_if_yen=cost(totals["h_wi"]),
        )
    return {
        "month": str(month),
        "period_type": period_type,
        "target": target_value,
        "target_source": target_source,
        "basis": "actual" if use_actual else "forecast",
        "model": "erlang_a",
        "parameters": {
            "patience_seconds": round(theta, 1),
            "patience_source": patience.source,
            "patience_abandons": patience.abandons,
            "aht_seconds_pooled": round(pooled, 1),
            "ivr_abandon_share": round(ivr_share, 4),
            "queue_target": round(queue_target, 4),
        },
        "forecast": forecast_info,
        "roster": "present" if has_roster else None,
        "hourly_cost_yen": hourly_cost,
        "what_if": {
            "agents": what_if.agents,
            "from": str(what_if.from_date),
            "base": "rostered" if has_roster else "needed",
        }
        if what_if
        else None,
        "summary": summary,
        "days": days_out,
    }


SURGE_PERSIST_DAYS = 28
SURGE_LOOKBACK_DAYS = 14


def _apply_effects(
    arrivals: dict, *, hist_first: dt.date, hist_last: dt.date, first: dt.date, last: dt.date, ivr_share: float
) -> dict[str, Any]:
    """What the FAQ app knows and the history does not yet show, applied to a forecast in
    place: a topic surge flagged in the last two weeks raises every half-hour by the topic's
    excess share of inquiries until four weeks after the surge's period; an approved IVR
    announcement lowers the calls reaching the queue by the deflection measured on past
    announcements, in the half-hours it runs."""
    surges = surge_uplifts(since=hist_last - dt.timedelta(days=SURGE_LOOKBACK_DAYS - 1), until=hist_last)
    applied = []
    for u in surges:
        until = u.period_end + dt.timedelta(days=SURGE_PERSIST_DAYS)
        for cell in arrivals:
            if cell[0] <= until:
                arrivals[cell] *= 1 + u.excess_share
        applied.append(
            {
                "cluster": u.cluster,
                "label": u.label,
                "period": [str(u.period_start), str(u.period_end)],
                "excess_share": round(u.excess_share, 4),
                "applied_until": str(until),
            }
        )
    ivr_cells: dict[tuple[dt.date, int], float] = {}
    windows = ivr_windows(first=first, last=last)
    ivr_info = None
    if windows:
        effect = ivr_deflection(first=hist_first, last=hist_last)
        delta = effect.deflection if effect else 0.0
        for day, slot in list(arrivals):
            begins = dt.datetime.combine(day, slot_start(slot), TOKYO)
            ends = begins + dt.timedelta(minutes=30)
            if delta and ivr_share < 1 and any(s < ends and e > begins for s, e in windows):
                ivr_cells[(day, slot)] = delta
                # the forecast counts callers who reached the queue without an announcement
                arrivals[(day, slot)] *= max(0.0, 1 - ivr_share - delta) / (1 - ivr_share)
        ivr_info = {
            "windows": [[s.isoformat(), e.isoformat()] for s, e in windows],
            "deflection": round(delta, 4),
            "measured_announcements": effect.announcements if effect else 0,
        }
    return {"surges": applied, "ivr": ivr_info, "ivr_cells": ivr_cells}


def _ivr_share(stats: list) -> float:
    ivr = sum(s.ivr_abandoned for s in stats)
    offered = sum(s.offered for s in stats)
    return ivr / (ivr + offered) if ivr + offered else 0.0


def _rate(arrivals: float, aht: float, patience: float, agents: int) -> float:
    if arrivals <= 0:
        return 1.0
    return answer_rate(arrivals=arrivals, aht_seconds=aht, patience_seconds=patience, agents=agents)


def _share(part: float, whole: float) -> float | None:
    return round(part / whole, 4) if whole > 0 else None


def _cells(targets: dict[dt.date, list[int]]) -> list[tuple[dt.date, int]]:
    return [(d, s) for d, slots in targets.items() for s in slots]


def _aware(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(12), TOKYO)


def _history(stats: list, calendar: ServiceCalendar) -> fc.History:
    """Open days from the first recorded day on, every open half-hour present (0 if no call)."""
    first = min(s.date for s in stats)
    last = max(s.date for s in stats)
    history: fc.History = {}
    for d in _days(first, last):
        slots = open_slots(calendar, d)
        if slots:
            history[d] = dict.fromkeys(slots, 0.0)
    for s in stats:
        history.setdefault(s.date, {})[s.slot] = float(s.offered)
    return history


def _backtest_json(bt: fc.Backtest | None) -> dict[str, Any] | None:
    if bt is None:
        return None
    return {
        "weeks": bt.weeks,
        "mae_per_half_hour": {m: round(v, 3) for m, v in bt.mae.items()},
        "wape": {m: round(v, 4) for m, v in bt.wape.items()},
        "chosen": bt.chosen,
    }
