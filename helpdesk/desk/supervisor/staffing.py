"""The board's staffing panel (issue 16 item 5): for the board's day and the next, per
half-hour, the agents the staffing plan needs for the month's answer-rate target
(`kpi.staffing.plan.staffing_plan`, Erlang A), the agents rostered, and — for a day that
has begun — the agents who actually answered calls (`kpi.today.answering_agents_by_slot`).
A half-hour is short when fewer are rostered than needed.

Planning a month reads its calls (11–25 s for a 1 M-call month, bench/bench_board.py), so a
month's plan is cached. A month not yet over is planned from a forecast that moves with the
day: cached for PLAN_CACHE_SECONDS, keyed by the month and the day it was computed on. A month
that is over is planned from its own records alone, whatever the day: keyed by the month and
the data it reads — the highest record ids (`cache.data_version`) and the roster's and staffing
cost's row counts and last edits — and kept PAST_PLAN_CACHE_SECONDS, so it is planned once,
not once a day or every ten minutes. The panel loads after the board (htmx `load`), so the
board itself never waits for it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.db.models import Count, Max
from django.utils import timezone

from helpdesk.clock import TOKYO, Month
from helpdesk.desk.supervisor.cache import data_version
from kpi.staffing.models import RosterSlot, StaffingCost, slot_of, slot_start
from kpi.staffing.plan import PlanError, staffing_plan
from kpi.today import Day, answering_agents_by_slot

PLAN_CACHE_SECONDS = 600
PAST_PLAN_CACHE_SECONDS = 6 * 3600


@dataclass(frozen=True)
class SlotCell:
    needed: int | None
    rostered: int | None
    answering: int | None

    @property
    def short(self) -> int:
        if self.needed is None or self.rostered is None:
            return 0
        return max(0, self.needed - self.rostered)


def month_plan(month: Month, *, now: dt.datetime | None = None) -> dict[str, Any]:
    """The month's plan, from the cache when computed today; {"error": …} when the month
    cannot be planned (no call history)."""
    now = now or timezone.now()
    today = now.astimezone(TOKYO).date()
    if month.end.astimezone(TOKYO).date() <= today:
        key, seconds = f"desk:sv:staffing:{month}:over:{_plan_inputs_version()}", PAST_PLAN_CACHE_SECONDS
    else:
        key, seconds = f"desk:sv:staffing:{month}:{today}", PLAN_CACHE_SECONDS
    plan = cache.get(key)
    if plan is None:
        try:
            plan = staffing_plan(month=month, now=now)
        except PlanError as exc:
            plan = {"error": str(exc), "field": exc.field}
        cache.set(key, plan, seconds)
    return plan


def _plan_inputs_version() -> str:
    """What a finished month's plan reads besides the calendar and targets: the records
    (highest ids) and the roster and staffing costs (row counts and last edits, so an edit or
    a deletion plans again). Three queries."""
    roster = RosterSlot.objects.aggregate(n=Count("id"), t=Max("updated_at"))
    cost = StaffingCost.objects.aggregate(n=Count("id"), t=Max("updated_at"))
    stamps = [f"{r['n']}.{r['t'].timestamp() if r['t'] else 0}" for r in (roster, cost)]
    return ":".join([data_version(), *stamps])


def _day_slots(plan: dict[str, Any], day: dt.date) -> dict[int, dict[str, Any]]:
    for d in plan.get("days", []):
        if d["date"] == str(day):
            return {slot_of(dt.time.fromisoformat(s["start"])): s for s in d["slots"]}
    return {}


def staffing_panel(*, day: Day, now: dt.datetime | None = None) -> dict[str, Any]:
    now = now or timezone.now()
    days = [day, day.next()]
    plans = {}
    for d in days:
        if d.month not in plans:
            plans[d.month] = month_plan(d.month, now=now)
    answering = answering_agents_by_slot(day=day) if day.start <= now else {}
    per_day = {d: _day_slots(plans[d.month], d.date) for d in days}
    slots = sorted({s for cells in per_day.values() for s in cells} | set(answering))
    rows: list[dict[str, Any]] = []
    for s in slots:
        cells = []
        for i, d in enumerate(days):
            row = per_day[d].get(s)
            cells.append(
                SlotCell(
                    needed=row["agents_needed"] if row else None,
                    rostered=row.get("rostered") if row else None,
                    answering=answering.get(s) if i == 0 and day.start <= now else None,
                )
            )
        rows.append({"start": f"{slot_start(s):%H:%M}", "cells": cells})
    errors = sorted({p["error"] for p in plans.values() if "error" in p})
    first = plans[day.month]
    return {
        "days": days,
        "rows": rows,
        "errors": errors,
        "has_roster": any(p.get("roster") == "present" for p in plans.values()),
        "target": first.get("target"),
        "basis": {str(m): p.get("basis") for m, p in plans.items()},
        "short_slots": sum(1 for r in rows for c in r["cells"] if c.short),
    }
