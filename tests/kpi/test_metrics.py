"""Accuracy tests: one per rule of kpi.md, on months built from raw records whose answer is
computed by hand in each test."""

import datetime as dt
import random
import re

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from helpdesk.calendar import load_service_calendar
from helpdesk.clock import Month
from helpdesk.models import Call, Complaint, EmailMessage, Escalation, Inquiry, SecurityIncident
from kpi import metrics
from kpi.selectors import kpi_month_compute
from tests.factories import (
    CallFactory,
    ComplaintFactory,
    EscalationFactory,
    InquiryFactory,
    PhoneInquiryFactory,
    SecurityIncidentFactory,
    tokyo,
)
from tests.factories.kpi import FiscalMonthPeriodFactory, KpiTargetFactory, answer_mail, email_inquiry

pytestmark = pytest.mark.django_db
OCT = Month(2026, 10)
Out = Call.Outcome


def kpi(month: Month = OCT) -> dict:
    return kpi_month_compute(month=month, now=tokyo(2026, 11, 10, 12, 0))


# --- §1 answer rate ------------------------------------------------------------------------


def test_answer_rate_counts_and_breakdown():
    CallFactory.create_batch(8)
    CallFactory(outcome=Out.IVR_ABANDONED)
    CallFactory(outcome=Out.QUEUE_ABANDONED)
    CallFactory(outcome=Out.QUEUE_TIMEOUT)
    CallFactory(outcome=Out.QUEUE_EXIT_KEY)
    CallFactory(outcome=Out.QUEUE_EMPTY)
    CallFactory.create_batch(3, outcome=Out.OUT_OF_HOURS)
    # the PBX says "in hours" for an IVR abandon at 8:59: its verdict wins
    ar = kpi()["answer_rate"]
    assert ar["total_calls"] == 13
    assert ar["answered_calls"] == 8
    assert ar["ivr_abandoned"] == 1
    assert ar["queue_abandoned"] == 4
    assert ar["queue_abandoned_by_reason"] == {
        "queue_abandoned": 1,
        "queue_timeout": 1,
        "queue_exit_key": 1,
        "queue_empty": 1,
    }
    assert ar["out_of_hours_calls"] == 3
    assert ar["answered_calls"] == ar["total_calls"] - ar["ivr_abandoned"] - ar["queue_abandoned"]
    assert ar["value"] == pytest.approx(8 / 13)
    assert ar["display"] == "61.5%"
    assert ar["met"] is False


def test_calls_the_pbx_marks_out_of_hours_are_not_in_the_ratio_even_if_answered_late():
    # An abandon in the IVR after closing that the PBX flagged as out of hours
    CallFactory(outcome=Out.IVR_ABANDONED, in_service_hours=False)
    CallFactory()
    ar = kpi()["answer_rate"]
    assert (ar["total_calls"], ar["answered_calls"], ar["out_of_hours_calls"]) == (1, 1, 1)
    assert ar["value"] == 1.0


def test_no_calls_is_null_not_100_percent():
    CallFactory.create_batch(2, outcome=Out.OUT_OF_HOURS)
    ar = kpi()["answer_rate"]
    assert ar["value"] is None
    assert ar["met"] is None
    assert ar["display"] == "—"
    assert kpi()["average_handle_time"]["seconds"] is None


def test_monthly_rate_is_ratio_of_sums_not_mean_of_daily_ratios():
    CallFactory(arrived_at=tokyo(2026, 10, 1, 10))
    CallFactory(arrived_at=tokyo(2026, 10, 2, 10))
    CallFactory.create_batch(2, arrived_at=tokyo(2026, 10, 2, 11), outcome=Out.QUEUE_TIMEOUT)
    assert kpi()["answer_rate"]["value"] == 0.5  # mean of daily ratios would be 0.667


def test_calls_bucketed_by_tokyo_date_of_arrival():
    CallFactory(arrived_at=dt.datetime(2026, 9, 30, 15, 30, tzinfo=dt.UTC))  # 10/1 00:30 JST
    CallFactory(arrived_at=dt.datetime(2026, 9, 30, 14, 59, tzinfo=dt.UTC))  # 9/30 23:59 JST
    CallFactory(arrived_at=dt.datetime(2026, 10, 31, 15, 0, tzinfo=dt.UTC))  # 11/1 00:00 JST
    assert kpi()["answer_rate"]["total_calls"] == 1
    assert kpi(Month(2026, 9))["answer_rate"]["total_calls"] == 1
    assert kpi(Month(2026, 11))["answer_rate"]["total_calls"] == 1


def _rate_75(month_start: dt.datetime):
    CallFactory.create_batch(3, arrived_at=month_start)
    CallFactory(arrived_at=month_start, outcome=Out.QUEUE_ABANDONED)


@pytest.mark.parametrize(
    ("month", "period_type", "target", "met"),
    [
        (Month(2026, 10), "normal", 0.9, False),
        (Month(2026, 6), "busy", 0.7, True),
        (Month(2026, 7), "busy", 0.7, True),
        (Month(2026, 4), "semi_busy", 0.7, True),
        (Month(2026, 5), "semi_busy", 0.7, True),
        (Month(2027, 3), "normal", 0.9, False),
    ],
)
def test_answer_rate_target_by_default_period_type(month, period_type, target, met):
    _rate_75(month.start + dt.timedelta(days=1, hours=10))
    data = kpi(month)
    assert data["period_type"] == period_type
    assert data["answer_rate"]["target"] == target
    assert data["answer_rate"]["value"] == 0.75
    assert data["answer_rate"]["met"] is met


def test_admin_calendar_overrides_the_period_type():
    FiscalMonthPeriodFactory(fiscal_year=2026, month=10, period_type="busy")
    FiscalMonthPeriodFactory(fiscal_year=2026, month=6, period_type="normal")
    _rate_75(tokyo(2026, 10, 2, 10))
    assert kpi()["period_type"] == "busy"
    assert kpi()["answer_rate"]["met"] is True
    assert kpi(Month(2026, 6))["period_type"] == "normal"
    # fiscal year runs April–March: January 2027 is fiscal 2026
    FiscalMonthPeriodFactory(fiscal_year=2026, month=1, period_type="semi_busy")
    assert kpi(Month(2027, 1))["period_type"] == "semi_busy"
    assert kpi(Month(2026, 1))["period_type"] == "normal"


def test_answer_rate_exactly_90_percent_is_met():
    CallFactory.create_batch(9)
    CallFactory(outcome=Out.IVR_ABANDONED)
    assert kpi()["answer_rate"]["value"] == 0.9
    assert kpi()["answer_rate"]["met"] is True


# --- §2 AHT --------------------------------------------------------------------------------


def test_aht_uses_pbx_acw_else_wrapup_else_the_limit():
    CallFactory(acw_seconds=60)  # 300 + 60
    linked = PhoneInquiryFactory()  # 300 + wrap-up 120 s after the end
    linked.wrapup_completed_at = linked.call.ended_at + dt.timedelta(seconds=120)
    linked.save()
    PhoneInquiryFactory()  # wrap-up never completed, no next call: 300 + the 1800 s limit
    CallFactory()  # no inquiry at all: the same, counted as missing too
    early = PhoneInquiryFactory()  # wrap-up stamped before the call ended: floored at 0
    early.wrapup_completed_at = early.call.ended_at - dt.timedelta(seconds=30)
    early.save()
    aht = kpi()["average_handle_time"]
    assert aht["answered_calls"] == 5
    assert aht["seconds"] == pytest.approx((360 + 420 + 2100 + 2100 + 300) / 5)
    assert aht["calls_missing_wrapup"] == 2
    assert aht["calls_acw_capped"] == 0
    assert aht["acw_limit_seconds"] == 1800
    assert aht["acw_from_pbx"] == 1


def test_pbx_acw_wins_over_the_wrapup():
    inq = PhoneInquiryFactory(call__acw_seconds=30)
    inq.wrapup_completed_at = inq.call.ended_at + dt.timedelta(seconds=500)
    inq.save()
    assert kpi()["average_handle_time"]["seconds"] == 330


def test_aht_only_answered_in_hours_calls():
    CallFactory(acw_seconds=0)
    CallFactory(outcome=Out.QUEUE_ABANDONED)
    CallFactory(outcome=Out.OUT_OF_HOURS)
    # answered but flagged out of hours by the PBX (e.g. a call-back line): not in the metric
    CallFactory(in_service_hours=False, acw_seconds=900)
    assert kpi()["average_handle_time"]["answered_calls"] == 1
    assert kpi()["average_handle_time"]["seconds"] == 300


def test_aht_connected_time_includes_hold_from_answer_to_end():
    start = tokyo(2026, 10, 5, 10)
    CallFactory(
        arrived_at=start,
        queued_at=start + dt.timedelta(seconds=5),
        answered_at=start + dt.timedelta(seconds=65),
        ended_at=start + dt.timedelta(seconds=65 + 481.5),
        acw_seconds=0,
    )
    aht = kpi()["average_handle_time"]
    assert aht["seconds"] == 481.5
    assert aht["display"] == "8分02秒"  # 481.5 s half-up


@pytest.mark.parametrize(("acw", "met"), [(300, True), (301, False)])
def test_aht_600_seconds_exactly_is_met(acw, met):
    CallFactory(acw_seconds=acw)  # 300 connected + acw
    aht = kpi()["average_handle_time"]
    assert aht["seconds"] == 300 + acw
    assert aht["met"] is met


def test_aht_coupling_fails_aht_when_complaints_fail():
    CallFactory(acw_seconds=60)
    ComplaintFactory.create_batch(15, cause=Complaint.Cause.OPERATOR_ERROR)
    data = kpi()
    assert data["complaints"]["met"] is False
    assert data["average_handle_time"]["seconds"] == 360
    assert data["average_handle_time"]["met"] is False
    assert data["average_handle_time"]["failed_by_complaints"] is True


def test_aht_not_coupled_when_complaints_met():
    CallFactory(acw_seconds=60)
    ComplaintFactory.create_batch(14, cause=Complaint.Cause.OPERATOR_ERROR)
    data = kpi()
    assert data["average_handle_time"]["met"] is True
    assert data["average_handle_time"]["failed_by_complaints"] is False


# --- §3 email response time ------------------------------------------------------------------


def test_mail_received_0030_jst_on_the_1st_belongs_to_that_month():
    email_inquiry(tokyo(2026, 10, 1, 0, 30), dt.timedelta(hours=2))
    email_inquiry(tokyo(2026, 9, 30, 23, 59), dt.timedelta(hours=5))
    oct_, sep = kpi()["email_average_response_time"], kpi(Month(2026, 9))["email_average_response_time"]
    assert (oct_["answered"], oct_["seconds"]) == (1, 7200)
    assert (sep["answered"], sep["seconds"]) == (1, 5 * 3600)


@pytest.mark.parametrize(("seconds", "met"), [(86400, False), (86399, True)])
def test_email_24_hours_exactly_is_not_met(seconds, met):
    email_inquiry(tokyo(2026, 10, 5, 10), dt.timedelta(seconds=seconds))
    em = kpi()["email_average_response_time"]
    assert em["seconds"] == seconds
    assert em["met"] is met


def test_email_answered_next_month_counts_in_the_month_received():
    email_inquiry(tokyo(2026, 10, 31, 20), answered_after=None)
    inq = Inquiry.objects.get()
    answer_mail(inq, tokyo(2026, 11, 1, 10))
    em = kpi()["email_average_response_time"]
    assert (em["answered"], em["unanswered"], em["seconds"]) == (1, 0, 14 * 3600)
    assert kpi(Month(2026, 11))["email_average_response_time"]["answered"] == 0


def test_email_mean_is_over_answered_inquiries_and_includes_forms():
    email_inquiry(tokyo(2026, 10, 5, 10), dt.timedelta(hours=2))
    email_inquiry(tokyo(2026, 10, 6, 10), dt.timedelta(hours=4), channel=Inquiry.Channel.FORM)
    PhoneInquiryFactory()  # phone inquiries are not in the population
    em = kpi()["email_average_response_time"]
    assert em["answered"] == 2
    assert em["seconds"] == 3 * 3600
    assert em["display"] == "3時間00分"


def test_handover_to_responsible_section_excluded_but_operations_vendor_is_not():
    section = email_inquiry(tokyo(2026, 10, 5, 10), dt.timedelta(days=10))
    EscalationFactory(inquiry=section, target=Escalation.Target.RESPONSIBLE_SECTION)
    designee = email_inquiry(tokyo(2026, 10, 5, 11), dt.timedelta(days=10))
    EscalationFactory(inquiry=designee, target=Escalation.Target.RESPONSIBLE_SECTION_DESIGNEE)
    vendor = email_inquiry(tokyo(2026, 10, 5, 12), dt.timedelta(hours=30))
    EscalationFactory(inquiry=vendor, target=Escalation.Target.OPERATIONS_VENDOR)
    email_inquiry(tokyo(2026, 10, 5, 13), dt.timedelta(hours=2))
    em = kpi()["email_average_response_time"]
    assert em["excluded_handed_to_responsible_section"] == 2
    assert em["answered"] == 2
    assert em["seconds"] == 16 * 3600  # (30 h + 2 h) / 2


def test_auto_acknowledgement_queued_and_failed_mail_are_not_answers():
    inq = email_inquiry(tokyo(2026, 10, 5, 10))
    answer_mail(inq, tokyo(2026, 10, 5, 10, 1), is_auto_acknowledgement=True)
    answer_mail(inq, tokyo(2026, 10, 5, 11), send_status=EmailMessage.SendStatus.QUEUED)
    answer_mail(inq, tokyo(2026, 10, 5, 12), send_status=EmailMessage.SendStatus.FAILED)
    em = kpi()["email_average_response_time"]
    assert (em["answered"], em["unanswered"]) == (0, 1)
    answer_mail(inq, tokyo(2026, 10, 6, 10), send_status=EmailMessage.SendStatus.SENT)
    answer_mail(inq, tokyo(2026, 10, 5, 16))  # imported answer, earlier: the first one counts
    em = kpi()["email_average_response_time"]
    assert (em["answered"], em["seconds"]) == (1, 6 * 3600)


def test_unanswered_count_and_oldest_age():
    email_inquiry(tokyo(2026, 10, 20, 10))
    email_inquiry(tokyo(2026, 10, 25, 10))
    email_inquiry(tokyo(2026, 10, 5, 10), dt.timedelta(hours=1))
    em = kpi_month_compute(month=OCT, now=tokyo(2026, 10, 30, 10))["email_average_response_time"]
    assert em["unanswered"] == 2
    assert em["oldest_unanswered_age_seconds"] == 10 * 86400
    assert em["oldest_unanswered_received_at"].startswith("2026-10-20T01:00:00")
    assert em["seconds"] == 3600


def test_form_inquiry_answered_by_phone_counts_with_recorded_first_answer():
    inq = InquiryFactory(channel=Inquiry.Channel.FORM, received_at=tokyo(2026, 10, 5, 10))
    inq.first_answered_at = tokyo(2026, 10, 5, 15)
    inq.save()
    em = kpi()["email_average_response_time"]
    assert (em["answered"], em["answered_other_channel"], em["seconds"]) == (1, 1, 5 * 3600)


def test_business_seconds_skip_nights_weekends_and_holidays():
    # Friday 2026-10-09 16:00 → Tuesday 10:00 (Monday 10/12 is スポーツの日): 1 h + 1 h
    email_inquiry(tokyo(2026, 10, 9, 16), answered_after=dt.timedelta(days=3, hours=18))
    em = kpi()["email_average_response_time"]
    assert em["seconds"] == 90 * 3600
    assert em["business_seconds"] == 2 * 3600
    assert em["basis"] == "calendar"
    assert em["met"] is False


def test_setting_switches_email_contract_figure_to_business_hours():
    KpiTargetFactory(valid_from=dt.date(2026, 4, 1), email_use_business_hours=True)
    email_inquiry(tokyo(2026, 10, 9, 16), answered_after=dt.timedelta(days=3, hours=18))
    em = kpi()["email_average_response_time"]
    assert em["basis"] == "business_hours"
    assert em["display"] == "2時間00分"
    assert em["met"] is True


def test_business_clock_agrees_with_the_service_calendar():
    cal = load_service_calendar()
    clock = metrics.BusinessClock(cal, dt.date(2026, 9, 1), dt.date(2027, 2, 1))
    rng = random.Random(5)
    for _ in range(300):
        start = tokyo(2026, 9, 1) + dt.timedelta(seconds=rng.randrange(0, 120 * 86400))
        end = start + dt.timedelta(seconds=rng.randrange(0, 20 * 86400))
        assert clock.between(start, end) == pytest.approx(cal.open_seconds_between(start, end))


# --- §4 first-contact resolution ------------------------------------------------------------


def test_fcr_handed_over_counted_once_internal_and_guidance_do_not_count():
    twice = InquiryFactory()
    EscalationFactory(inquiry=twice, target=Escalation.Target.RESPONSIBLE_SECTION)
    EscalationFactory(inquiry=twice, target=Escalation.Target.OPERATIONS_VENDOR)
    EscalationFactory(inquiry=InquiryFactory(), target=Escalation.Target.INTERNAL)
    InquiryFactory(ministry_guidance=True)
    PhoneInquiryFactory.create_batch(6)
    InquiryFactory(channel=Inquiry.Channel.FORM)
    fcr = kpi()["first_contact_resolution"]
    assert (fcr["inquiries"], fcr["handed_over"]) == (10, 1)
    assert fcr["value"] == 0.9
    assert fcr["display"] == "90.0%"
    assert kpi()["inquiries_by_channel"] == {"phone": 6, "email": 3, "form": 1}


@pytest.mark.parametrize("target", [t for t in Escalation.EXTERNAL_TARGETS])
def test_every_external_target_counts_against_fcr(target):
    EscalationFactory(target=target)
    InquiryFactory.create_batch(4)
    fcr = kpi()["first_contact_resolution"]
    assert fcr["value"] == 0.8
    assert fcr["met"] is True  # 80 % exactly meets ≥ 80 %


def test_fcr_null_without_inquiries():
    fcr = kpi()["first_contact_resolution"]
    assert (fcr["value"], fcr["met"], fcr["inquiries"]) == (None, None, 0)


# --- §5 complaints ---------------------------------------------------------------------------


@pytest.mark.parametrize(("n", "met"), [(14, True), (15, False)])
def test_complaint_boundary(n, met):
    ComplaintFactory.create_batch(n, cause=Complaint.Cause.OPERATOR_ERROR)
    c = kpi()["complaints"]
    assert c["count"] == n
    assert c["met"] is met
    assert c["display"] == f"{n}件"


def test_unconfirmed_policy_and_system_complaints_recorded_not_counted():
    ComplaintFactory(cause=Complaint.Cause.UNCONFIRMED)
    ComplaintFactory(cause=Complaint.Cause.POLICY)
    ComplaintFactory(cause=Complaint.Cause.SYSTEM)
    ComplaintFactory(cause=Complaint.Cause.OPERATOR_ERROR)
    # received on 9/30 23:00 JST: September
    ComplaintFactory(
        cause=Complaint.Cause.OPERATOR_ERROR,
        inquiry=InquiryFactory(received_at=tokyo(2026, 9, 30, 10)),
        received_at=tokyo(2026, 9, 30, 23),
    )
    c = kpi()["complaints"]
    assert (c["count"], c["recorded"]) == (1, 4)
    assert c["by_cause"] == {"operator_error": 1, "policy": 1, "system": 1, "unconfirmed": 1}


# --- §6 security incidents -------------------------------------------------------------------


def test_minor_incident_does_not_count_major_does_by_occurrence_date():
    SecurityIncidentFactory(severity=SecurityIncident.Severity.MINOR)
    s = kpi()["security_incidents"]
    assert (s["count"], s["met"], s["display"], s["minor"]) == (0, True, "0件", 1)
    # occurred in September, detected in October: September's
    SecurityIncidentFactory(
        severity=SecurityIncident.Severity.MAJOR,
        occurred_at=tokyo(2026, 9, 30, 23),
        detected_at=tokyo(2026, 10, 2, 9),
    )
    assert kpi()["security_incidents"]["count"] == 0
    assert kpi(Month(2026, 9))["security_incidents"]["met"] is False
    SecurityIncidentFactory(severity=SecurityIncident.Severity.MAJOR)
    assert kpi()["security_incidents"]["count"] == 1
    assert kpi()["security_incidents"]["met"] is False


# --- targets, queries ------------------------------------------------------------------------


def test_targets_versioned_by_contract_period():
    KpiTargetFactory(name="旧契約", valid_from=dt.date(2023, 4, 1), valid_to=dt.date(2026, 10, 1))
    KpiTargetFactory(name="新契約", valid_from=dt.date(2026, 10, 1), aht_max_seconds=300)
    CallFactory(acw_seconds=60, arrived_at=tokyo(2026, 9, 10, 10))
    CallFactory(acw_seconds=60, arrived_at=tokyo(2026, 10, 10, 10))
    sep, oct_ = kpi(Month(2026, 9)), kpi()
    assert (sep["average_handle_time"]["target"], sep["average_handle_time"]["met"]) == (600, True)
    assert (oct_["average_handle_time"]["target"], oct_["average_handle_time"]["met"]) == (300, False)
    assert oct_["target_period"]["name"] == "新契約"


def test_overlapping_contract_periods_rejected():
    from django.core.exceptions import ValidationError

    KpiTargetFactory(valid_from=dt.date(2024, 4, 1), valid_to=dt.date(2027, 4, 1))
    clash = KpiTargetFactory.build(valid_from=dt.date(2026, 4, 1))
    with pytest.raises(ValidationError):
        clash.full_clean()


def _build_month(scale: int):
    for i in range(scale):
        CallFactory(acw_seconds=i)
        CallFactory(outcome=Out.QUEUE_TIMEOUT)
        inq = email_inquiry(tokyo(2026, 10, 5, 10) + dt.timedelta(minutes=i), dt.timedelta(hours=1))
        EscalationFactory(inquiry=inq, target=Escalation.Target.OPERATIONS_VENDOR)
        ComplaintFactory(cause=Complaint.Cause.OPERATOR_ERROR)
        SecurityIncidentFactory()


def test_query_count_is_constant_in_the_data_volume():
    _build_month(2)
    with CaptureQueriesContext(connection) as small:
        kpi()
    _build_month(20)
    with CaptureQueriesContext(connection) as large:
        data = kpi()
    assert data["answer_rate"]["total_calls"] == 44
    assert len(small) == len(large)
    selects = [q["sql"] for q in large.captured_queries if q["sql"].lstrip().upper().startswith("SELECT")]
    assert len(selects) == 8  # period type, target, 2 calendar tables, calls, inquiries, complaints, incidents


def test_metrics_aggregate_in_the_database():
    """The call and inquiry metrics are aggregates: no query returns one row per call."""
    _build_month(3)
    with CaptureQueriesContext(connection) as ctx:
        kpi()
    sql = " ".join(q["sql"] for q in ctx.captured_queries).upper()
    assert sql.count("COUNT(") >= 10 and "AVG(" in sql


@time_machine.travel(dt.datetime(2026, 11, 10, 3, 0, tzinfo=dt.UTC), tick=False)
def test_unanswered_age_uses_now_by_default():
    email_inquiry(tokyo(2026, 10, 31, 12))
    em = kpi_month_compute(month=OCT)["email_average_response_time"]
    assert em["oldest_unanswered_age_seconds"] == (tokyo(2026, 11, 10, 12) - tokyo(2026, 10, 31, 12)).total_seconds()


def test_business_seconds_in_the_database_agree_with_the_service_calendar():
    """The SQL business-hours clock against ServiceCalendar.open_seconds_between on random
    (received, answered) pairs, including a special opening day and an extra closure."""
    from helpdesk.models import CalendarDay

    CalendarDay.objects.create(date=dt.date(2026, 10, 10), kind="open", opens_at=dt.time(10), closes_at=dt.time(15))
    CalendarDay.objects.create(date=dt.date(2026, 10, 14), kind="closed")
    rng = random.Random(11)
    pairs = []
    for _ in range(40):
        received = tokyo(2026, 10, 1) + dt.timedelta(seconds=rng.randrange(0, 31 * 86400))
        answered = received + dt.timedelta(seconds=rng.randrange(1, 9 * 86400))
        inq = InquiryFactory(received_at=received)
        answer_mail(inq, answered)
        pairs.append((received, answered))
    cal = load_service_calendar()
    expected = sum(cal.open_seconds_between(r, a) for r, a in pairs) / len(pairs)
    em = kpi()["email_average_response_time"]
    assert em["business_seconds"] == pytest.approx(expected, abs=0.01)
    assert em["seconds"] == pytest.approx(sum((a - r).total_seconds() for r, a in pairs) / len(pairs), abs=0.01)


def test_the_month_scans_its_records_in_no_particular_order():
    """The call and inquiry scans are aggregates over derived tables: an ORDER BY there (the
    model's default received-at order) made PostgreSQL walk the month in date order — about a
    million random reads once the table outgrows the buffer cache. Neither scan may carry one."""
    _build_month(2)
    with CaptureQueriesContext(connection) as ctx:
        metrics.call_aggregates(OCT)
        metrics.inquiry_aggregates(OCT)
    fence = f"LIMIT {metrics.FENCE}"
    scans = [q["sql"] for q in ctx.captured_queries if fence in q["sql"]]
    assert len(scans) == 2
    # (an ORDER BY inside a correlated lookup — the first answer — is that lookup's own)
    assert not [sql for sql in scans if re.search(rf"ORDER BY [^()]*{fence}", sql)], scans
