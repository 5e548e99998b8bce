"""The board's staffing panel (issue 16 item 5): for the board's day and the next, per
half-hour, the agents the staffing plan needs for the month's answer-rate target
(`kpi.staffing.plan.staffing_plan`, Erlang A), the agents rostered, and — for a day that
has begun — the agents who actually answered calls (`kpi.today.answering_agents_by_slot`).
A half-hour is short when fewer are rostered than needed.

Planning a month takes a second or two (forecast, backtest), so a month's plan is cached
for PLAN_CACHE_SECONDS, keyed by the month and the day it was computed on; the panel loads
after the board (htmx `load`), so the board itself never waits for it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.utils import timezone

from helpdesk.clock import TOKYO, Month
from kpi.staffing.models import slot_of, slot_start
from kpi.staffing.plan import PlanError, staffing_plan
from kpi.today import Day, answering_agents_by_slot

PLAN_CACHE_SECONDS = 600


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
    key = f"desk:sv:staffing:{month}:{now.astimezone(TOKYO).date()}"
    plan = cache.get(key)
    if plan is None:
        try:
            plan = staffing_plan(month=month, now=now)
        except PlanError as exc:
            plan = {"error": str(exc), "field": exc.field}
        cache.set(key, plan, PLAN_CACHE_SECONDS)
    return plan


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
