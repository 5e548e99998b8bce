"""Queue parameters from the aggregated history (pure: lists of `IntervalStats` in, numbers
out). Estimates pooled over many half-hours are shrunk toward the pooled value where one
half-hour has little data, so a quiet 16:30 slot does not get an AHT from three calls."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

# Prior weight (in calls) of the pooled AHT in a slot's estimate: a slot with 30 answered
# calls is half its own mean, half the pooled one.
AHT_PRIOR_CALLS = 30.0
# With no abandon ever observed the MLE is undefined (infinite patience); plan with this
# instead — short enough to be conservative (more abandons, more agents), and say so.
DEFAULT_PATIENCE_SECONDS = 120.0
DEFAULT_AHT_SECONDS = 300.0


@dataclass(frozen=True)
class Patience:
    seconds: float
    abandons: int
    exposure_seconds: float
    source: str  # "records" | "default"


def patience_mle(stats: Iterable) -> Patience:
    """Exponential patience with right-censoring: the MLE of the abandon rate θ is the number
    of observed abandons ÷ the total time every caller spent waiting (answered callers'
    waits are censored observations — they would have waited at least that long). Mean
    patience = 1/θ."""
    abandons = 0
    exposure = 0.0
    for s in stats:
        abandons += s.abandons
        exposure += s.wait_seconds
    if abandons == 0 or exposure <= 0:
        return Patience(DEFAULT_PATIENCE_SECONDS, abandons, exposure, "default")
    return Patience(exposure / abandons, abandons, exposure, "records")


def aht_pooled(stats: Iterable) -> float:
    answered = handle = 0.0
    for s in stats:
        answered += s.answered
        handle += s.handle_seconds
    return handle / answered if answered else DEFAULT_AHT_SECONDS


def aht_by_slot(stats: list, *, pooled: float | None = None) -> dict[int, float]:
    """AHT per half-hour of the day, shrunk toward the pooled AHT."""
    pooled = aht_pooled(stats) if pooled is None else pooled
    n: dict[int, float] = defaultdict(float)
    h: dict[int, float] = defaultdict(float)
    for s in stats:
        n[s.slot] += s.answered
        h[s.slot] += s.handle_seconds
    return {slot: (h[slot] + AHT_PRIOR_CALLS * pooled) / (n[slot] + AHT_PRIOR_CALLS) for slot in n}


def aht_by_date_slot(stats: list, *, pooled: float) -> dict[tuple, float]:
    """AHT of each recorded (date, half-hour), shrunk toward `pooled`."""
    return {
        (s.date, s.slot): (s.handle_seconds + AHT_PRIOR_CALLS * pooled) / (s.answered + AHT_PRIOR_CALLS) for s in stats
    }


def kaplan_meier(waits: Iterable[tuple[float, bool]]) -> list[tuple[float, float]]:
    """Kaplan–Meier survival of patience: [(t, P(patience > t))] at each abandon time.
    `waits` are (seconds waited, gave up?) — answered callers are censored at their wait."""
    data = sorted(waits)
    at_risk = len(data)
    survival = 1.0
    curve: list[tuple[float, float]] = [(0.0, 1.0)]
    i = 0
    while i < len(data):
        t = data[i][0]
        events = removed = 0
        while i < len(data) and data[i][0] == t:
            events += data[i][1]
            removed += 1
            i += 1
        if events and at_risk:
            survival *= 1 - events / at_risk
            curve.append((t, survival))
        at_risk -= removed
    return curve
