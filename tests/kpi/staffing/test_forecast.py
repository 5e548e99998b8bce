"""The arrivals forecast (pure) and its backtest against the seasonal-naive baseline."""

import datetime as dt

import numpy as np
import pytest

from kpi.staffing import forecast as fc

SLOTS = list(range(18, 34))
SHAPE = np.array([4, 6, 8, 9, 9, 8, 6, 4, 5, 7, 8, 8, 7, 6, 5, 3], dtype=float)
SHAPE = SHAPE / SHAPE.mean()
WEEKDAY = [1.3, 1.0, 0.95, 0.9, 0.85]


def history(first: dt.date, last: dt.date, level: float, *, seed=1, factor=lambda d: 1.0, closed=()) -> fc.History:
    rng = np.random.default_rng(seed)
    out, d = {}, first
    while d <= last:
        if d.weekday() < 5 and d not in closed:
            lv = level * WEEKDAY[d.weekday()] * factor(d)
            out[d] = {s: float(rng.poisson(lv * SHAPE[k])) for k, s in enumerate(SLOTS)}
        d += dt.timedelta(days=1)
    return out


def day_total(pred: dict, day: dt.date) -> float:
    return sum(v for (d, _), v in pred.items() if d == day)


def test_backtest_over_eight_weeks_reports_every_method_beside_seasonal_naive():
    h = history(dt.date(2025, 10, 6), dt.date(2026, 2, 20), 14)
    bt = fc.backtest(h, fc.Context(period_of={}))
    assert bt.weeks == 8
    assert set(bt.mae) == set(bt.wape) == {"seasonal_naive", "profile", "holt_winters"}
    # Poisson noise: last week's count is twice as noisy as a level fitted over weeks
    assert bt.mae["profile"] < 0.85 * bt.mae["seasonal_naive"]
    assert bt.chosen in ("profile", "holt_winters")


def test_backtest_needs_enough_history():
    assert fc.backtest(history(dt.date(2026, 1, 5), dt.date(2026, 1, 23), 14), fc.Context(period_of={})) is None
    short = fc.backtest(history(dt.date(2026, 1, 5), dt.date(2026, 2, 27), 14), fc.Context(period_of={}))
    assert short.weeks < 8  # what could be tested, and it says so


@pytest.mark.parametrize(
    ("mae", "chosen"),
    [
        ({"seasonal_naive": 4.0, "profile": 3.0, "holt_winters": 2.9}, "holt_winters"),
        ({"seasonal_naive": 4.0, "profile": 3.0, "holt_winters": 3.1}, "profile"),
        ({"seasonal_naive": 2.0, "profile": 3.0, "holt_winters": 2.5}, "seasonal_naive"),
    ],
)
def test_holt_winters_only_where_it_beats_the_baseline(mae, chosen):
    assert fc.choose(mae) == chosen


def test_busy_months_from_the_calendar_scale_the_level():
    """History through a busy June–July (×1.8) and semi-busy April–May (×1.3): August, a
    normal month, goes back to the normal level instead of carrying July's."""
    periods = {(2026, m): "normal" for m in (1, 2, 3, 8)} | {(2026, 4): "semi_busy", (2026, 5): "semi_busy"}
    periods |= {(2026, 6): "busy", (2026, 7): "busy"}
    scale = {"normal": 1.0, "semi_busy": 1.3, "busy": 1.8}
    h = history(dt.date(2026, 1, 5), dt.date(2026, 7, 31), 14, factor=lambda d: scale[periods[(d.year, d.month)]])
    ctx = fc.Context(period_of=periods)
    factors = fc.fit_factors(h, ctx)
    assert factors.period["busy"] == pytest.approx(1.8, rel=0.05)
    assert factors.period["semi_busy"] == pytest.approx(1.3, rel=0.05)
    aug = dt.date(2026, 8, 5)  # a Wednesday
    pred = fc.forecast(h, {aug: SLOTS}, ctx, method="profile")
    assert day_total(pred, aug) == pytest.approx(14 * 16 * WEEKDAY[2], rel=0.08)
    naive = fc.forecast(h, {aug: SLOTS}, ctx, method="seasonal_naive")
    assert day_total(naive, aug) > 1.5 * day_total(pred, aug)


def test_the_day_after_a_long_break_is_busier_and_the_weekday_profile_holds():
    breaks = {dt.date(2026, 1, 13), dt.date(2026, 2, 24), dt.date(2026, 3, 23), dt.date(2026, 5, 7)}
    closed = {dt.date(2026, 1, 12), dt.date(2026, 2, 23), dt.date(2026, 3, 20), dt.date(2026, 5, 4)}
    closed |= {dt.date(2026, 5, 5), dt.date(2026, 5, 6)}
    h = history(
        dt.date(2026, 1, 5), dt.date(2026, 5, 29), 14, factor=lambda d: 1.6 if d in breaks else 1.0, closed=closed
    )
    ctx = fc.Context(period_of={}, after_break=breaks | {dt.date(2026, 6, 2)})
    assert fc.fit_factors(h, ctx).after_break == pytest.approx(1.6, rel=0.1)
    tue_after, tue, fri = dt.date(2026, 6, 2), dt.date(2026, 6, 9), dt.date(2026, 6, 12)
    pred = fc.forecast(h, {tue_after: SLOTS, tue: SLOTS, fri: SLOTS}, ctx, method="profile")
    assert day_total(pred, tue_after) == pytest.approx(1.6 * day_total(pred, tue), rel=0.12)
    assert day_total(pred, tue) > day_total(pred, fri)
    # the morning peak of the profile is where the calls are
    assert pred[(tue, 21)] > 2 * pred[(tue, 18)]


def test_holt_winters_follows_a_trend_the_flat_profile_misses():
    h = history(
        dt.date(2025, 10, 6), dt.date(2026, 2, 20), 10, factor=lambda d: 1 + (d - dt.date(2025, 10, 6)).days / 50
    )
    bt = fc.backtest(h, fc.Context(period_of={}))
    assert bt.mae["holt_winters"] < bt.mae["profile"]
    assert bt.chosen == "holt_winters"
