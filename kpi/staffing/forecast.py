"""Arrivals per half-hour for coming days (pure: plain dicts in, plain dicts out).

Daily total = level × weekday factor × period factor (the month's busy / semi-busy / normal
type from the KPI calendar) × after-a-long-break factor; a day's half-hours share the total
by that weekday's time-of-day profile. Three ways to get the level:

- seasonal_naive: no level at all — each half-hour repeats the same weekday's half-hour of
  the last week in the history (the baseline every method must beat);
- profile: the mean de-seasonalised daily total of the last 20 open days;
- holt_winters: statsmodels' exponential smoothing (additive damped trend) on the
  de-seasonalised daily totals — Holt-Winters with the weekly season taken out explicitly,
  because holidays break a fixed 5-day season.

`backtest` forecasts each of the last ≥ 8 weeks from the days before it and reports every
method's error per half-hour; `choose` keeps Holt-Winters only where it beats the
seasonal-naive baseline (and the profile), else the profile if that beats the baseline,
else the baseline itself.
"""

from __future__ import annotations

import datetime as dt
import statistics
import warnings
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

METHODS = ("seasonal_naive", "profile", "holt_winters")
RECENT_DAYS = 20
MIN_TRAIN_DAYS = 20
# A break of 3+ closed days before an open day (a 3-day weekend, Golden Week, New Year);
# an ordinary Monday follows a 2-day weekend (gap 3) and is the weekday factor's business.
LONG_BREAK_GAP_DAYS = 4
MIN_EXAMPLES = 2

History = dict[dt.date, dict[int, float]]  # open day → {half-hour slot: arrivals}


@dataclass
class Context:
    """What the forecast knows about days besides their counts."""

    period_of: dict[tuple[int, int], str]  # (year, month) → period type
    after_break: set[dt.date] = field(default_factory=set)

    def period(self, day: dt.date) -> str:
        return self.period_of.get((day.year, day.month), "normal")


@dataclass
class Factors:
    weekday: dict[int, float]
    period: dict[str, float]
    after_break: float
    profile: dict[int, dict[int, float]]  # weekday → slot → share of the day

    def day_factor(self, day: dt.date, ctx: Context) -> float:
        f = self.weekday.get(day.weekday(), 1.0) * self.period.get(ctx.period(day), 1.0)
        return f * (self.after_break if day in ctx.after_break else 1.0)


def _totals(history: History) -> dict[dt.date, float]:
    return {d: float(sum(slots.values())) for d, slots in history.items()}


def fit_factors(history: History, ctx: Context) -> Factors:
    days = sorted(history)
    totals = _totals(history)
    # Each day against the mean of the ordinary days of its own week: weekday and break effects
    # without the level (a boosted day in its own baseline would understate itself).
    weeks: dict[tuple, list[float]] = defaultdict(list)
    everyone: dict[tuple, list[float]] = defaultdict(list)
    for d in days:
        everyone[d.isocalendar()[:2]].append(totals[d])
        if d not in ctx.after_break:
            weeks[d.isocalendar()[:2]].append(totals[d])
    ratio = {}
    for d in days:
        week = d.isocalendar()[:2]
        mean = statistics.fmean(weeks.get(week) or everyone[week])
        if mean > 0:
            ratio[d] = totals[d] / mean
    by_wd: dict[int, list[float]] = defaultdict(list)
    for d, r in ratio.items():
        if d not in ctx.after_break:
            by_wd[d.weekday()].append(r)
    weekday = {wd: statistics.median(v) for wd, v in by_wd.items()}
    if weekday:
        norm = statistics.fmean(weekday.values())
        weekday = {wd: v / norm for wd, v in weekday.items()}
    # A break day against its week's ordinary days, each day first divided by its weekday
    # factor (a week that lost its Monday to the break has a lower raw mean).
    adjusted: dict[tuple, list[float]] = defaultdict(list)
    for d in days:
        if d not in ctx.after_break:
            adjusted[d.isocalendar()[:2]].append(totals[d] / weekday.get(d.weekday(), 1.0))
    breaks = [
        totals[d] / weekday.get(d.weekday(), 1.0) / statistics.fmean(adjusted[d.isocalendar()[:2]])
        for d in days
        if d in ctx.after_break
        and adjusted.get(d.isocalendar()[:2])
        and statistics.fmean(adjusted[d.isocalendar()[:2]])
    ]
    after_break = statistics.fmean(breaks) if len(breaks) >= MIN_EXAMPLES else 1.0

    # Period types: mean de-seasonalised level of the months of each type, relative to normal.
    month_levels: dict[tuple[int, int], list[float]] = defaultdict(list)
    for d in days:
        f = weekday.get(d.weekday(), 1.0) * (after_break if d in ctx.after_break else 1.0)
        month_levels[(d.year, d.month)].append(totals[d] / f)
    by_type: dict[str, list[float]] = defaultdict(list)
    for ym, levels in month_levels.items():
        by_type[ctx.period_of.get(ym, "normal")].append(statistics.fmean(levels))
    base = statistics.fmean(by_type["normal"]) if by_type.get("normal") else None
    period = {"normal": 1.0}
    if base:
        for t, levels in by_type.items():
            period[t] = statistics.fmean(levels) / base

    # Time-of-day shares per weekday over the last 8 weeks (all weekdays pooled as fallback).
    recent = [d for d in days if d > days[-1] - dt.timedelta(weeks=8)] if days else []
    sums: dict[int, dict[int, float]] = defaultdict(lambda: defaultdict(float))
    pooled: dict[int, float] = defaultdict(float)
    for d in recent:
        for slot, n in history[d].items():
            sums[d.weekday()][slot] += n
            pooled[slot] += n

    def shares(counts: dict[int, float]) -> dict[int, float]:
        total = sum(counts.values())
        return {s: n / total for s, n in counts.items()} if total else {}

    pooled_share = shares(pooled)
    profile = {wd: shares(sums[wd]) if sum(sums[wd].values()) >= 50 else pooled_share for wd in range(7)}
    return Factors(weekday=weekday, period=period, after_break=after_break, profile=profile)


def _deseasonalised(history: History, ctx: Context, factors: Factors) -> list[float]:
    totals = _totals(history)
    return [totals[d] / factors.day_factor(d, ctx) for d in sorted(history)]


def _spread(day: dt.date, total: float, slots: list[int], factors: Factors) -> dict[int, float]:
    shares = factors.profile.get(day.weekday(), {})
    covered = sum(shares.get(s, 0.0) for s in slots)
    if covered <= 0:  # a profile that knows none of these half-hours: spread evenly
        return {s: total / len(slots) for s in slots} if slots else {}
    # Shares of half-hours the day lacks (shorter hours) go to those it has.
    return {s: total * shares.get(s, 0.0) / covered for s in slots}


def seasonal_naive(history: History, targets: dict[dt.date, list[int]]) -> dict[tuple[dt.date, int], float]:
    """Each half-hour = the same weekday's half-hour in the latest history week that has it."""
    last_of: dict[int, dt.date] = {}
    for d in sorted(history):
        last_of[d.weekday()] = d
    out = {}
    for day, slots in targets.items():
        source = last_of.get(day.weekday())
        for s in slots:
            out[(day, s)] = float(history[source].get(s, 0.0)) if source else 0.0
    return out


def forecast(
    history: History,
    targets: dict[dt.date, list[int]],
    ctx: Context,
    *,
    method: str,
    offset_days: int = 0,
    factors: Factors | None = None,
) -> dict[tuple[dt.date, int], float]:
    """Arrivals per (target day, slot). `offset_days`: open days between the history's last
    day and the first target day (the forecast horizon's start)."""
    if method == "seasonal_naive":
        return seasonal_naive(history, targets)
    factors = factors or fit_factors(history, ctx)
    series = _deseasonalised(history, ctx, factors)
    if not series:
        return {(d, s): 0.0 for d, slots in targets.items() for s in slots}
    ordered = sorted(targets)
    if method == "profile":
        level = statistics.fmean(series[-RECENT_DAYS:])
        levels = [level] * len(ordered)
    elif method == "holt_winters":
        levels = _holt_winters(series, steps=offset_days + len(ordered))[offset_days:]
    else:
        raise ValueError(f"unknown forecast method {method!r}")
    out = {}
    for day, level in zip(ordered, levels, strict=True):
        total = max(0.0, level) * factors.day_factor(day, ctx)
        for s, v in _spread(day, total, targets[day], factors).items():
            out[(day, s)] = v
    return out


def _holt_winters(series: list[float], *, steps: int) -> list[float]:
    from statsmodels.tsa.holtwinters import ExponentialSmoothing
    from threadpoolctl import threadpool_limits

    y = np.asarray(series, dtype=float)
    # One BLAS thread: on a busy 2-core host a threaded BLAS made each fit 10× slower.
    # SLSQP without the brute-force start: ~10 ms a fit, the same forecast to 0.01 %.
    with warnings.catch_warnings(), threadpool_limits(1):
        warnings.simplefilter("ignore")  # convergence chatter on short series
        model = ExponentialSmoothing(y, trend="add", damped_trend=True, initialization_method="estimated")
        fit = model.fit(method="SLSQP", use_brute=False)
        return [float(v) for v in fit.forecast(steps)]


@dataclass
class Backtest:
    weeks: int
    mae: dict[str, float]  # method → mean absolute error per half-hour
    wape: dict[str, float]  # method → Σ|error| ÷ Σ actual
    chosen: str


def backtest(history: History, ctx: Context, *, weeks: int = 8) -> Backtest | None:
    """Forecast each of the last `weeks` weeks from the open days before it. Fewer weeks when
    the history is short (each training set needs MIN_TRAIN_DAYS open days); None if not
    even one week can be tested."""
    days = sorted(history)
    if not days:
        return None
    last = days[-1]
    errors: dict[str, float] = defaultdict(float)
    actual_sum = 0.0
    cells = 0
    tested = 0
    for k in range(weeks, 0, -1):
        start = last - dt.timedelta(days=7 * k - 1)
        end = start + dt.timedelta(days=7)
        train = {d: history[d] for d in days if d < start}
        test = {d: history[d] for d in days if start <= d < end}
        if len(train) < MIN_TRAIN_DAYS or not test:
            continue
        tested += 1
        targets = {d: sorted(slots) for d, slots in test.items()}
        factors = fit_factors(train, ctx)
        for method in METHODS:
            pred = forecast(train, targets, ctx, method=method, factors=factors)
            errors[method] += sum(abs(pred[(d, s)] - test[d][s]) for d in test for s in test[d])
        actual_sum += sum(sum(v.values()) for v in test.values())
        cells += sum(len(v) for v in test.values())
    if not tested or not cells:
        return None
    mae = {m: errors[m] / cells for m in METHODS}
    wape = {m: (errors[m] / actual_sum) if actual_sum else 0.0 for m in METHODS}
    return Backtest(weeks=tested, mae=mae, wape=wape, chosen=choose(mae))


def choose(mae: dict[str, float]) -> str:
    base = mae["seasonal_naive"]
    if mae["holt_winters"] < base and mae["holt_winters"] <= mae["profile"]:
        return "holt_winters"
    if mae["profile"] < base:
        return "profile"
    return "seasonal_naive"
