"""The surge rule at its thresholds: count, ratio, corrected p-value; flagged weeks excluded."""

import datetime as dt

import pytest
from scipy.stats import poisson

from faq import surges

MONDAY = dt.date(2026, 8, 3)


def _series(weekly: list[int]) -> dict[dt.date, int]:
    """Put each week's count on its Wednesday."""
    return {MONDAY + dt.timedelta(weeks=i, days=2): n for i, n in enumerate(weekly) if n}


def _run(cluster_weeks, total_weeks, params, as_of=None, extra_clusters=0):
    daily = {1: _series(cluster_weeks)}
    for k in range(extra_clusters):
        daily[100 + k] = _series([1] * len(cluster_weeks))
    return surges.detect_surges(
        daily_by_cluster=daily,
        daily_total=_series(total_weeks),
        first_day=MONDAY,
        as_of=as_of or MONDAY + dt.timedelta(weeks=len(total_weeks), days=-1),
        params=params,
    )


P = surges.SurgeParams(min_count=5, min_ratio=2.0, alpha=0.05, baseline_weeks=4, rolling=False)


def test_flags_a_clear_surge_with_its_figures():
    found = _run([2, 2, 2, 2, 12], [40] * 5, P)
    assert len(found) == 1
    s = found[0]
    assert (s.cluster, s.start, s.count, s.kind) == (1, MONDAY + dt.timedelta(weeks=4), 12, surges.WEEKLY)
    assert s.baseline == pytest.approx(2.0)
    assert s.ratio == pytest.approx(6.0)
    assert s.p_value == pytest.approx(poisson.sf(11, 2.0))
    # 1 cluster × 3 testable weeks (weeks 2, 3, 4 have ≥ 2 weeks of history)
    assert s.threshold == pytest.approx(0.05 / 3)
    sentence = s.explanation("ブラウザ・chrome")
    assert "「ブラウザ・chrome」" in sentence and "12件" in sentence and "2.0件" in sentence and "6.0倍" in sentence


def test_min_count_threshold_is_inclusive():
    params = surges.SurgeParams(min_count=5, min_ratio=1.0, alpha=0.5, rolling=False)
    assert _run([0, 0, 0, 0, 5], [40] * 5, params)  # count == min_count flags
    assert not _run([0, 0, 0, 0, 4], [40] * 5, params)


def test_ratio_threshold_is_inclusive():
    params = surges.SurgeParams(min_count=1, min_ratio=2.0, alpha=0.99, rolling=False)
    # baseline 4 per 40, this week 8 of 40 → ratio exactly 2.0
    assert _run([4, 4, 4, 4, 8], [40] * 5, params)
    assert not _run([4, 4, 4, 4, 7], [40] * 5, params)


def test_p_value_must_be_below_the_bonferroni_corrected_alpha():
    # count 9 vs expected 3: p = P(X ≥ 9 | 3) ≈ 0.0038
    p = poisson.sf(8, 3.0)
    base = dict(min_count=1, min_ratio=1.0, rolling=False)
    # 3 tests: flags iff p < alpha / 3
    assert _run([3, 3, 3, 3, 9], [40] * 5, surges.SurgeParams(alpha=p * 3 * 1.01, **base))
    assert not _run([3, 3, 3, 3, 9], [40] * 5, surges.SurgeParams(alpha=p * 3 * 0.99, **base))
    # More clusters means more tests and a stricter cut: the same week is no longer flagged.
    assert not _run([3, 3, 3, 3, 9], [40] * 5, surges.SurgeParams(alpha=p * 3 * 1.01, **base), extra_clusters=1)


def test_baseline_scales_with_overall_volume():
    # The topic doubles but so does every inquiry: not a surge.
    assert not _run([3, 3, 3, 3, 6], [30, 30, 30, 30, 60], surges.SurgeParams(min_count=1, alpha=0.5, rolling=False))


def test_flagged_weeks_are_excluded_from_later_baselines():
    # Two surge weeks in a row: the second is compared with the quiet weeks, not the first surge.
    found = _run([2, 2, 2, 2, 14, 10, 2], [40] * 7, P)
    assert [s.start for s in found] == [MONDAY + dt.timedelta(weeks=4), MONDAY + dt.timedelta(weeks=5)]
    assert found[1].baseline == pytest.approx(2.0)


def test_not_enough_history_is_not_tested():
    assert not _run([0, 12], [40, 40], P)


def test_rolling_seven_days_flags_mid_week():
    daily = {1: {MONDAY + dt.timedelta(days=d): 1 for d in range(0, 28, 7)}}
    total = {MONDAY + dt.timedelta(days=d): 6 for d in range(0, 33)}
    as_of = MONDAY + dt.timedelta(days=32)  # a Friday: the current week is incomplete
    for d in range(26, 33):
        daily[1][MONDAY + dt.timedelta(days=d)] = 2
    found = surges.detect_surges(
        daily_by_cluster=daily, daily_total=total, first_day=MONDAY, as_of=as_of, params=surges.SurgeParams()
    )
    rolling = [s for s in found if s.kind == surges.ROLLING]
    assert len(rolling) == 1
    assert rolling[0].start == as_of - dt.timedelta(days=6) and rolling[0].count == 14
    assert "7日間" in rolling[0].explanation()
