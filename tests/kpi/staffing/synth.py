"""Raw call records of a synthetic center, made by running the queue simulation (sim.py)
with a known arrival profile, handle time, patience and roster — so the estimates can be
checked against the truth they were made from. Times are Asia/Tokyo; the center opens
09:00–17:00 (the default calendar), half-hours 18..33."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from helpdesk.clock import TOKYO
from helpdesk.models import Call
from tests.kpi.staffing import sim

OPEN_SLOTS = list(range(18, 34))
# Share of the day's calls per half-hour: a morning peak and an early-afternoon one.
SHAPE = np.array([4, 6, 8, 9, 9, 8, 6, 4, 5, 7, 8, 8, 7, 6, 5, 3], dtype=float)
SHAPE = SHAPE / SHAPE.mean()
ACW_SHARE = 0.25


def _at(opening: dt.datetime, seconds: float) -> dt.datetime:
    # PBX clocks give milliseconds at best (and SQLite's strftime('%f') reads three digits)
    return opening + dt.timedelta(milliseconds=round(seconds * 1000))


def per_slot(daily_mean_per_slot: float) -> dict[int, float]:
    return {s: daily_mean_per_slot * SHAPE[i] for i, s in enumerate(OPEN_SLOTS)}


@dataclass
class Day:
    calls: list[Call]
    offered: int
    answered: int
    ivr: int


def make_day(
    day: dt.date,
    *,
    rate: dict[int, float],
    aht: float,
    patience: float,
    agents: Callable[[int], int],
    rng: np.random.Generator,
    ivr_share: float = 0.0,
) -> Day:
    """One day: Poisson arrivals per half-hour (`rate` = expected calls), exponential handle
    time split into talk and ACW (the PBX's acw_seconds), exponential patience."""
    opening = dt.datetime.combine(day, dt.time(9), TOKYO)
    arrivals: list[float] = []
    for i, s in enumerate(OPEN_SLOTS):
        n = rng.poisson(rate.get(s, 0.0))
        arrivals.extend(sorted(i * 1800 + rng.uniform(0, 1800, n)))
    handle = rng.exponential(aht, len(arrivals))
    acw = np.rint(handle * ACW_SHARE)
    patience_draws = rng.exponential(patience, len(arrivals))
    outcomes = sim.simulate(
        arrivals, (handle).tolist(), patience_draws.tolist(), lambda t: agents(OPEN_SLOTS[min(int(t // 1800), 15)])
    )
    calls, answered, ivr = [], 0, 0
    for k, o in enumerate(outcomes):
        arrived = _at(opening, o.arrival)
        cid = f"syn-{day:%Y%m%d}-{k:05d}"
        if o.answered_at is not None:
            answered += 1
            start = _at(opening, o.answered_at)
            talk = round(float(handle[k] - acw[k]), 3)
            calls.append(
                Call(
                    call_id=cid,
                    arrived_at=arrived,
                    queued_at=arrived,
                    queue="egov",
                    outcome=Call.Outcome.ANSWERED,
                    in_service_hours=True,
                    answered_at=start,
                    ended_at=start + dt.timedelta(seconds=talk),
                    acw_seconds=int(acw[k]),
                    agent="op01",
                )
            )
        else:
            calls.append(
                Call(
                    call_id=cid,
                    arrived_at=arrived,
                    queued_at=arrived,
                    queue="egov",
                    outcome=Call.Outcome.QUEUE_ABANDONED,
                    in_service_hours=True,
                    ended_at=max(arrived, _at(opening, o.left_at)),
                )
            )
    for k in range(rng.binomial(len(arrivals), ivr_share) if ivr_share else 0):
        ivr += 1
        arrived = _at(opening, float(rng.uniform(0, 8 * 3600)))
        calls.append(
            Call(
                call_id=f"ivr-{day:%Y%m%d}-{k:05d}",
                arrived_at=arrived,
                outcome=Call.Outcome.IVR_ABANDONED,
                in_service_hours=True,
                ended_at=arrived + dt.timedelta(seconds=20),
            )
        )
    return Day(calls, len(arrivals), answered, ivr)


def counts_only_day(day: dt.date, *, rate: dict[int, float], rng: np.random.Generator) -> list[Call]:
    """Answered calls with Poisson counts per half-hour and a fixed 5-minute handle: enough
    history for a forecast, without running the queue."""
    opening = dt.datetime.combine(day, dt.time(9), TOKYO)
    calls = []
    for i, s in enumerate(OPEN_SLOTS):
        for k in range(rng.poisson(rate.get(s, 0.0))):
            arrived = _at(opening, i * 1800 + float(rng.uniform(0, 1800)))
            answered = arrived + dt.timedelta(seconds=10)
            calls.append(
                Call(
                    call_id=f"h-{day:%Y%m%d}-{s}-{k}",
                    arrived_at=arrived,
                    queued_at=arrived,
                    queue="egov",
                    outcome=Call.Outcome.ANSWERED,
                    in_service_hours=True,
                    answered_at=answered,
                    ended_at=answered + dt.timedelta(seconds=240),
                    acw_seconds=60,
                    agent="op01",
                )
            )
    return calls
