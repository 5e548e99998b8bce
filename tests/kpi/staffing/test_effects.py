"""What the FAQ app knows and the call history does not show yet: a flagged topic surge
raises the forecast by the topic's excess share; an approved IVR announcement lowers the
calls reaching the queue by the deflection measured on past announcements — and, since a
deflected caller is an IVR abandon in the contract's rate, raises the queue's target."""

import datetime as dt

import numpy as np
import pytest

from faq.models import ClusterRun, IvrAnnouncement, SurgeAlert, TopicCluster
from helpdesk.clock import TOKYO, Month
from helpdesk.models import Call
from kpi.staffing.plan import staffing_plan
from kpi.staffing.selectors import ivr_deflection
from tests.factories import InquiryFactory
from tests.kpi.staffing import synth

pytestmark = pytest.mark.django_db
FEB = Month(2026, 2)
NOW = dt.datetime(2026, 2, 1, 10, tzinfo=TOKYO)
PAST_IVR = (dt.datetime(2026, 1, 13, 9, tzinfo=TOKYO), dt.datetime(2026, 1, 16, 17, tzinfo=TOKYO))
FUTURE_IVR = (dt.datetime(2026, 2, 9, 9, tzinfo=TOKYO), dt.datetime(2026, 2, 13, 17, tzinfo=TOKYO))


def ivr_calls(day: dt.date, n: int) -> list[Call]:
    opening = dt.datetime.combine(day, dt.time(9), TOKYO)
    return [
        Call(
            call_id=f"ivr-{day:%Y%m%d}-{k}",
            arrived_at=opening + dt.timedelta(seconds=k * (8 * 3600 // max(n, 1))),
            outcome=Call.Outcome.IVR_ABANDONED,
            in_service_hours=True,
            ended_at=opening + dt.timedelta(seconds=k * (8 * 3600 // max(n, 1)) + 20),
        )
        for k in range(n)
    ]


@pytest.fixture
def history():
    """12 weeks to 30 January: 10 calls a half-hour; 3 % of callers hang up in the IVR, 13 %
    while the January announcement ran."""
    rng = np.random.default_rng(5)
    calls, d = [], dt.date(2025, 11, 3)
    while d <= dt.date(2026, 1, 30):
        if d.weekday() < 5 and d not in (dt.date(2025, 11, 3), dt.date(2025, 11, 24)):
            day = synth.counts_only_day(d, rate=synth.per_slot(10.0), rng=rng)
            share = 0.13 if PAST_IVR[0].date() <= d <= PAST_IVR[1].date() else 0.03
            calls += day + ivr_calls(d, round(len(day) * share / (1 - share)))
        d += dt.timedelta(days=1)
    Call.objects.bulk_create(calls, batch_size=2000)


def announcement(start, end):
    return IvrAnnouncement.objects.create(
        text="現在、ブラウザに関するお問い合わせが集中しております。",
        status=IvrAnnouncement.Status.APPROVED,
        starts_at=start,
        ends_at=end,
        approved_at=start - dt.timedelta(days=1),
    )


def surge(period_start: dt.date, *, count: int, baseline: float, week_inquiries: int) -> SurgeAlert:
    run = ClusterRun.objects.create(
        started_at=NOW, window_start=NOW - dt.timedelta(days=90), window_end=NOW, status=ClusterRun.Status.DONE
    )
    cluster = TopicCluster.objects.create(cluster_id=7, keywords=["chrome", "ブラウザ"], first_run=run, last_run=run)
    for k in range(week_inquiries):
        InquiryFactory(received_at=dt.datetime.combine(period_start, dt.time(10), TOKYO) + dt.timedelta(hours=k % 50))
    return SurgeAlert.objects.create(
        cluster=cluster,
        kind=SurgeAlert.Kind.WEEKLY,
        period_start=period_start,
        period_end=period_start + dt.timedelta(days=6),
        count=count,
        baseline=baseline,
        ratio=count / baseline,
        p_value=1e-6,
        threshold=1e-3,
        explanation="「chrome・ブラウザ」に関する問い合わせが急増",
        run=run,
        detected_at=NOW,
    )


def by_day(plan) -> dict[str, dict]:
    return {d["date"]: d for d in plan["days"]}


def test_a_flagged_surge_raises_the_forecast_by_the_topics_excess_share(history):
    before = by_day(staffing_plan(month=FEB, now=NOW))
    surge(dt.date(2026, 1, 19), count=15, baseline=5.0, week_inquiries=50)  # +10 of 50 inquiries
    plan = staffing_plan(month=FEB, now=NOW)
    after = by_day(plan)
    assert plan["forecast"]["surges"] == [
        {
            "cluster": 7,
            "label": "chrome・ブラウザ",
            "period": ["2026-01-19", "2026-01-25"],
            "excess_share": 0.2,
            "applied_until": "2026-02-22",
        }
    ]
    assert after["2026-02-20"]["arrivals"] == pytest.approx(1.2 * before["2026-02-20"]["arrivals"], rel=0.01)
    assert after["2026-02-24"]["arrivals"] == before["2026-02-24"]["arrivals"]
    assert after["2026-02-20"]["agent_hours_needed"] > before["2026-02-20"]["agent_hours_needed"]


def test_ivr_deflection_is_measured_from_past_announcements(history):
    announcement(*PAST_IVR)
    effect = ivr_deflection(first=dt.date(2025, 11, 1), last=dt.date(2026, 1, 31))
    assert effect.announcements == 1
    assert effect.deflection == pytest.approx(0.10, abs=0.01)


def test_an_approved_announcement_deflects_calls_but_raises_the_queues_target(history):
    announcement(*PAST_IVR)
    before = staffing_plan(month=FEB, target=0.7, now=NOW)
    announcement(*FUTURE_IVR)
    plan = staffing_plan(month=FEB, target=0.7, now=NOW)
    info = plan["forecast"]["ivr_announcements"]
    assert info["measured_announcements"] == 1 and info["deflection"] == pytest.approx(0.10, abs=0.01)
    b, a = by_day(before), by_day(plan)
    share, delta = plan["parameters"]["ivr_abandon_share"], info["deflection"]
    # fewer calls reach the queue while it runs …
    ratio = (1 - share - delta) / (1 - share)
    assert a["2026-02-10"]["arrivals"] == pytest.approx(ratio * b["2026-02-10"]["arrivals"], rel=0.01)
    assert a["2026-02-16"]["arrivals"] == b["2026-02-16"]["arrivals"]
    # … but each deflected caller is unanswered in the contract's rate: the queue must answer
    # more of the rest, and every half-hour still meets the month's target overall
    slot = a["2026-02-10"]["slots"][4]
    assert slot["expected_answer_rate"] >= plan["target"] / (1 - share - delta)
    assert a["2026-02-10"]["expected_answer_rate_needed"] >= plan["target"]
    assert plan["summary"]["half_hours_target_unreachable"] == 0
    # at the contract's 90 % the IVR hang-ups alone make those half-hours unreachable: said so
    strict = staffing_plan(month=FEB, target=0.9, now=NOW)
    assert strict["summary"]["half_hours_target_unreachable"] == 4 * 16  # 9–13 Feb less 建国記念の日
