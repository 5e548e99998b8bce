"""Surge detection on per-cluster counts. Pure: plain dates and integers in, surges out.

For each cluster and each complete week (Monday–Sunday, Asia/Tokyo) after `min_history_weeks`:

    expected = total[w] × Σ count_c[b] / Σ total[b]      over up to `baseline_weeks` trailing weeks b
                                                          not already flagged for this cluster
    ratio    = count_c[w] / expected
    p        = P(X ≥ count_c[w]) for X ~ Poisson(expected)          (scipy.stats.poisson.sf)

The baseline is the cluster's share of all inquiries in its trailing weeks scaled by this week's
overall volume, so a busy month does not flag every topic. A week is flagged when
count ≥ min_count, ratio ≥ min_ratio and p < alpha / m (Bonferroni: m = number of cluster-week
tests in the run, known before any test runs, so the sequential "exclude flagged weeks from later
baselines" rule and the correction do not interact). Flagged weeks are excluded from later
baselines so a surge that lasts two weeks is flagged both weeks.

A daily rolling check does the same for the 7 days ending on `as_of` (the early warning during a
week that is not complete yet) against the preceding `baseline_weeks`×7 days; it is one extra test
per cluster and is counted in m.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

WEEKLY = "weekly"
ROLLING = "rolling_7d"


@dataclass(frozen=True)
class SurgeParams:
    min_count: int = 5
    min_ratio: float = 2.0
    alpha: float = 0.05
    baseline_weeks: int = 4
    min_history_weeks: int = 2
    # Expected counts below this are raised to it: a topic that was silent is not "infinitely" surging.
    min_expected: float = 0.5
    rolling: bool = True


DEFAULT_PARAMS = SurgeParams()


@dataclass(frozen=True)
class Surge:
    cluster: int
    kind: str
    start: dt.date  # week start (Monday) or first day of the rolling 7-day window
    end: dt.date  # inclusive last day
    count: int
    baseline: float
    ratio: float
    p_value: float
    threshold: float  # the corrected alpha the p-value was compared with

    def explanation(self, label: str = "") -> str:
        """One Japanese sentence an admin understands."""
        topic = f"「{label}」" if label else f"クラスタ{self.cluster}"
        period = f"{self.start:%Y-%m-%d}の週" if self.kind == WEEKLY else f"{self.start:%m/%d}〜{self.end:%m/%d}の7日間"
        return (
            f"{topic}に関する問い合わせが{period}に{self.count}件あり、"
            f"通常の見込み{self.baseline:.1f}件の{self.ratio:.1f}倍です"
            f"（偶然この件数以上になる確率 p={self.p_value:.1e}、判定基準 {self.threshold:.1e} 未満）。"
        )


def week_start(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def weekly_counts(days_by_cluster: Mapping[int, Iterable[dt.date]]) -> dict[int, dict[dt.date, int]]:
    out: dict[int, dict[dt.date, int]] = {}
    for cid, days in days_by_cluster.items():
        c: dict[dt.date, int] = {}
        for d in days:
            w = week_start(d)
            c[w] = c.get(w, 0) + 1
        out[cid] = c
    return out


def detect_surges(
    *,
    daily_by_cluster: Mapping[int, Mapping[dt.date, int]],
    daily_total: Mapping[dt.date, int],
    first_day: dt.date,
    as_of: dt.date,
    params: SurgeParams | None = None,
) -> list[Surge]:
    """Surges among clusters' daily counts between first_day and as_of (inclusive).

    `daily_total` counts every inquiry in the window, clustered or not (the volume scale)."""
    params = params or DEFAULT_PARAMS
    weeks: list[dt.date] = []
    w = week_start(first_day)
    if w < first_day:  # a partial first week is not a fair baseline week; start at the next Monday
        w += dt.timedelta(days=7)
    while w + dt.timedelta(days=6) <= as_of:
        weeks.append(w)
        w += dt.timedelta(days=7)

    def week_sum(counts: Mapping[dt.date, int], start: dt.date) -> int:
        return sum(counts.get(start + dt.timedelta(days=i), 0) for i in range(7))

    total_w = [week_sum(daily_total, w) for w in weeks]
    tested_weeks = list(range(params.min_history_weeks, len(weeks)))
    rolling_end = as_of
    rolling_start = as_of - dt.timedelta(days=6)
    do_rolling = params.rolling and (not weeks or weeks[-1] + dt.timedelta(days=6) != as_of)
    history_days = params.baseline_weeks * 7
    n_tests = len(daily_by_cluster) * (len(tested_weeks) + (1 if do_rolling else 0))
    if n_tests == 0:
        return []
    threshold = params.alpha / n_tests

    surges: list[Surge] = []
    for cid in sorted(daily_by_cluster):
        daily = daily_by_cluster[cid]
        counts_w = [week_sum(daily, w) for w in weeks]
        flagged: set[int] = set()
        for wi in tested_weeks:
            base = [b for b in range(wi) if b not in flagged][-params.baseline_weeks :]
            if len(base) < params.min_history_weeks:
                continue
            s = _test(
                count=counts_w[wi],
                base_count=sum(counts_w[b] for b in base),
                base_total=sum(total_w[b] for b in base),
                total=total_w[wi],
                params=params,
                threshold=threshold,
            )
            if s is not None:
                flagged.add(wi)
                surges.append(Surge(cid, WEEKLY, weeks[wi], weeks[wi] + dt.timedelta(days=6), *s, threshold=threshold))
        if do_rolling:
            flagged_days = {weeks[wi] + dt.timedelta(days=i) for wi in flagged for i in range(7)}
            window = [rolling_start + dt.timedelta(days=i) for i in range(7)]
            hist = [
                rolling_start - dt.timedelta(days=i)
                for i in range(1, history_days + 1)
                if rolling_start - dt.timedelta(days=i) >= first_day
            ]
            hist = [d for d in hist if d not in flagged_days]
            if len(hist) >= params.min_history_weeks * 7:
                s = _test(
                    count=sum(daily.get(d, 0) for d in window),
                    base_count=sum(daily.get(d, 0) for d in hist),
                    base_total=sum(daily_total.get(d, 0) for d in hist),
                    total=sum(daily_total.get(d, 0) for d in window),
                    params=params,
                    threshold=threshold,
                )
                if s is not None:
                    surges.append(Surge(cid, ROLLING, rolling_start, rolling_end, *s, threshold=threshold))
    surges.sort(key=lambda s: (s.start, s.cluster, s.kind))
    return surges


def _test(
    *, count: int, base_count: int, base_total: int, total: int, params: SurgeParams, threshold: float
) -> tuple[int, float, float, float] | None:
    if count < params.min_count or base_total <= 0 or total <= 0:
        return None
    expected = max(total * base_count / base_total, params.min_expected)
    ratio = count / expected
    if ratio < params.min_ratio:
        return None
    from scipy.stats import poisson

    p = float(poisson.sf(count - 1, expected))
    if p >= threshold:
        return None
    return count, round(expected, 3), round(ratio, 3), p
