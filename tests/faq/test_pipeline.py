"""pipeline's day and week arithmetic (done once per run on ordinals, not per inquiry and cluster)."""

import collections
import datetime as dt

import numpy as np

from faq import clustering, pipeline, surges
from helpdesk.clock import TOKYO


def test_monday_ordinals_agree_with_the_surge_weeks_over_a_leap_year():
    days = [dt.date(2027, 12, 25) - dt.timedelta(days=k) for k in range(800)]  # 2024-02-29 included
    mondays = pipeline.monday_ordinals(np.array([d.toordinal() for d in days]))
    assert [dt.date.fromordinal(int(m)) for m in mondays] == [surges.week_start(d) for d in days]


def test_local_days_are_tokyo_dates_and_weekly_counts_match_a_plain_count():
    utc = dt.UTC
    times = [
        dt.datetime(2026, 9, 6, 14, 59, tzinfo=utc),  # Sunday 23:59 in Tokyo
        dt.datetime(2026, 9, 6, 15, 0, tzinfo=utc),  # Monday 00:00 in Tokyo: the next week
        dt.datetime(2026, 9, 13, 10, 0, tzinfo=TOKYO),
        dt.datetime(2026, 9, 14, 10, 0),  # naive: Tokyo time
        dt.datetime(2026, 9, 20, 10, 0, tzinfo=TOKYO),
    ]
    docs = [pipeline.Document(id=str(i), subject="", body="", received_at=t) for i, t in enumerate(times)]
    days = pipeline.local_days(docs)
    assert [dt.date.fromordinal(int(d)).isoformat() for d in days] == [
        "2026-09-06",
        "2026-09-07",
        "2026-09-13",
        "2026-09-14",
        "2026-09-20",
    ]
    cluster = clustering.Cluster(id=1, members=[0, 1, 2, 3, 4], keywords=[], central=[], centroid=None)
    result = pipeline.PipelineResult(
        docs, clustering.ClusteringResult(clusters=[cluster], unclustered=[], method="hybrid"), []
    )
    plain = collections.Counter(surges.week_start(pipeline.local_date(t)).isoformat() for t in times)
    assert result.weekly_counts(cluster) == dict(plain) == {"2026-08-31": 1, "2026-09-07": 2, "2026-09-14": 2}
