"""A day's figures (kpi.today) are the month's definitions on a day: the board's numbers for a
day equal the KPI month's for the same records, and the days of a month add up to it."""

import datetime as dt

import pytest
import time_machine

from helpdesk.clock import Month
from helpdesk.models import Call, Escalation
from kpi import selectors
from kpi.today import Day, answering_agents_by_slot, day_phone_figures, latest_queue_wait, waiting_mail
from tests.factories import CallFactory, EscalationFactory, PhoneInquiryFactory, tokyo
from tests.factories.kpi import FiscalMonthPeriodFactory, KpiTargetFactory, answer_mail, email_inquiry

pytestmark = pytest.mark.django_db


def _month_of_calls():
    """Calls on 1 and 2 October: every outcome, PBX ACW, wrap-ups in time, late, missing,
    an agent's next answer cutting the ACW, out-of-hours calls."""
    day1, day2 = tokyo(2026, 10, 1, 10), tokyo(2026, 10, 2, 10)
    for i in range(5):
        CallFactory(arrived_at=day1 + dt.timedelta(minutes=10 * i), agent="op01")
    CallFactory(arrived_at=day1, outcome=Call.Outcome.IVR_ABANDONED)
    CallFactory(arrived_at=day1, outcome=Call.Outcome.QUEUE_ABANDONED)
    CallFactory(arrived_at=day1, outcome=Call.Outcome.QUEUE_TIMEOUT)
    CallFactory(arrived_at=tokyo(2026, 10, 1, 22), outcome=Call.Outcome.OUT_OF_HOURS)
    CallFactory(arrived_at=day2, agent="op02", acw_seconds=40)
    late = PhoneInquiryFactory(call=CallFactory(arrived_at=day2, agent="op02"))
    late.wrapup_completed_at = late.call.ended_at + dt.timedelta(hours=2)  # capped by the next answer
    late.save()
    CallFactory(arrived_at=day2 + dt.timedelta(minutes=20), agent="op02")
    ok = PhoneInquiryFactory(call=CallFactory(arrived_at=day2 + dt.timedelta(hours=1), agent="op03"))
    ok.wrapup_completed_at = ok.call.ended_at + dt.timedelta(seconds=30)
    ok.save()
    CallFactory(arrived_at=day2, outcome=Call.Outcome.QUEUE_EXIT_KEY)
    # the last call of 1 October ends after midnight: its ACW reads the next day's answer
    CallFactory(arrived_at=tokyo(2026, 10, 1, 23, 58), agent="op04", in_service_hours=True)
    CallFactory(arrived_at=tokyo(2026, 10, 2, 0, 10), agent="op04", in_service_hours=True)


def test_a_days_figures_equal_the_kpi_months_for_the_same_records():
    KpiTargetFactory(acw_limit_seconds=1200)
    FiscalMonthPeriodFactory(fiscal_year=2026, month=10)
    CallFactory(arrived_at=tokyo(2026, 10, 2, 10), agent="op09")
    CallFactory(arrived_at=tokyo(2026, 10, 2, 10, 3), outcome=Call.Outcome.QUEUE_ABANDONED)
    inquiry = PhoneInquiryFactory(call=CallFactory(arrived_at=tokyo(2026, 10, 2, 11), agent="op09"))
    inquiry.wrapup_completed_at = inquiry.call.ended_at + dt.timedelta(hours=1)
    inquiry.save()
    month = selectors.kpi_month_compute(month=Month(2026, 10))
    day = day_phone_figures(day=Day(dt.date(2026, 10, 2)))

    ar, mar = day["answer_rate"], month["answer_rate"]
    for key in ("value", "total_calls", "answered_calls", "ivr_abandoned", "queue_abandoned", "target", "met"):
        assert ar[key] == mar[key], key
    aht, maht = day["average_handle_time"], month["average_handle_time"]
    for key in ("seconds", "calls_missing_wrapup", "calls_acw_capped", "acw_limit_seconds", "answered_calls"):
        assert aht[key] == maht[key], key
    assert day["period_type"] == month["period_type"] == "busy"
    assert ar["target"] == 0.7
    assert aht["calls_acw_capped"] == 1


def test_the_days_of_a_month_add_up_to_the_month():
    _month_of_calls()
    month = selectors.kpi_month_compute(month=Month(2026, 10))
    days = [day_phone_figures(day=Day(dt.date(2026, 10, d))) for d in range(1, 32)]
    for key in ("total_calls", "answered_calls", "ivr_abandoned", "queue_abandoned", "out_of_hours_calls"):
        assert sum(d["answer_rate"][key] for d in days) == month["answer_rate"][key], key
    for key in ("calls_missing_wrapup", "calls_acw_capped", "acw_from_pbx"):
        assert sum(d["average_handle_time"][key] for d in days) == month["average_handle_time"][key], key
    handle = sum((d["average_handle_time"]["seconds"] or 0) * d["average_handle_time"]["answered_calls"] for d in days)
    assert handle / month["average_handle_time"]["answered_calls"] == pytest.approx(
        month["average_handle_time"]["seconds"], abs=0.01
    )
    assert days[0]["answer_rate"]["queue_abandoned_by_reason"]["queue_timeout"] == 1


def test_mail_waiting_is_the_email_metrics_unanswered_population():
    as_of = tokyo(2026, 10, 3, 12)
    old = email_inquiry(tokyo(2026, 10, 2, 9))  # 27 h: past the target
    email_inquiry(tokyo(2026, 10, 2, 14))  # 22 h: near it
    email_inquiry(tokyo(2026, 10, 3, 11))
    email_inquiry(tokyo(2026, 10, 3, 8), answered_after=dt.timedelta(hours=1))  # answered
    answered_later = email_inquiry(tokyo(2026, 10, 3, 9))
    answer_mail(answered_later, tokyo(2026, 10, 3, 13))  # answered after as_of: waiting then
    # answered by phone first, by mail after as_of: the metric's answer is the mail's
    phoned = email_inquiry(tokyo(2026, 10, 3, 10), first_answered_at=tokyo(2026, 10, 3, 10, 30))
    answer_mail(phoned, tokyo(2026, 10, 3, 13))
    email_inquiry(tokyo(2026, 10, 3, 10), first_answered_at=tokyo(2026, 10, 3, 10, 30))  # phoned only: answered
    handed = email_inquiry(tokyo(2026, 10, 1, 9))
    EscalationFactory(inquiry=handed, target=Escalation.Target.RESPONSIBLE_SECTION)  # out of §3
    mail = waiting_mail(as_of=as_of, email_max_seconds=86400)
    assert mail["waiting"] == 5
    assert mail["past_target"] == 1 and mail["near_target"] == 1
    assert mail["oldest_ref"] == old.ref
    assert mail["oldest_age_seconds"] == 27 * 3600
    # after the late answer, the same inquiries the KPI month counts as unanswered
    later = tokyo(2026, 10, 3, 14)
    with time_machine.travel(later, tick=False):
        month = selectors.kpi_month_compute(month=Month(2026, 10), now=later)
    assert month["email_average_response_time"]["unanswered"] == 3
    assert waiting_mail(as_of=later, email_max_seconds=86400)["waiting"] == 3
    # and the waiting ones are exactly those whose answer (the metric's expression) is later
    from django.db.models import Q as Q_

    from helpdesk.models import Inquiry
    from kpi import metrics

    expected = (
        Inquiry.objects.annotate(first_mail_answer_at=metrics.first_mail_answer_subquery())
        .annotate(answer_at=metrics.answer_expression())
        .filter(received_at__lt=as_of)
        .filter(Q_(answer_at__isnull=True) | Q_(answer_at__gt=as_of))
        .exclude(escalations__target__in=Escalation.RESPONSIBLE_SECTION_TARGETS)
        .count()
    )
    assert expected == 5


def test_latest_queue_wait_reads_the_last_half_hour_of_pbx_data():
    day = Day(dt.date(2026, 10, 1))
    CallFactory(arrived_at=tokyo(2026, 10, 1, 9), answered_at=tokyo(2026, 10, 1, 9, 20))  # long, but old
    CallFactory(
        call_id="slow", arrived_at=tokyo(2026, 10, 1, 11), outcome=Call.Outcome.QUEUE_ABANDONED
    )  # queued 11:00:05, ended 11:00:40: 35 s
    CallFactory(arrived_at=tokyo(2026, 10, 1, 11, 10))  # 20 s
    wait = latest_queue_wait(day=day, as_of=day.end)
    assert wait["call_id"] == "slow" and wait["seconds"] == 35
    assert wait["data_until"] == tokyo(2026, 10, 1, 11, 10)  # the latest arrival
    assert latest_queue_wait(day=Day(dt.date(2026, 10, 2)), as_of=tokyo(2026, 10, 3))["seconds"] is None


def test_answering_agents_per_half_hour():
    for agent in ("op01", "op02", "op01"):
        CallFactory(arrived_at=tokyo(2026, 10, 1, 9, 40), agent=agent)
    CallFactory(arrived_at=tokyo(2026, 10, 1, 10, 5), agent="op03")
    assert answering_agents_by_slot(day=Day(dt.date(2026, 10, 1))) == {19: 2, 20: 1}


@pytest.mark.parametrize("value", ["2026-13-01", "2026-02-30", "20261001", "", "0000-01-01", "2026-1-1"])
def test_a_bad_date_is_refused_with_a_message(value):
    with pytest.raises(ValueError, match="日付|date"):
        Day.parse(value)
