"""The contract settings and published months in the handover file (kpi/handover.py), and the
round trip that matters: every month's KPI JSON is the same after export → import into an
empty database, even where an admin changed the calendar after publishing."""

import datetime as dt
import json
from decimal import Decimal

import pytest
import time_machine

from helpdesk.clock import Month
from helpdesk.models import CalendarDay, Call, Complaint, Escalation, ImportReject, Inquiry, ServiceHours
from kpi import selectors, services
from kpi.models import FiscalMonthPeriod, KpiSnapshot, KpiTarget, PeriodType
from tests.factories import (
    CallFactory,
    ComplaintFactory,
    EscalationFactory,
    InquiryFactory,
    PhoneInquiryFactory,
    SecurityIncidentFactory,
    UserFactory,
    tokyo,
)
from tests.factories.kpi import FiscalMonthPeriodFactory, KpiSnapshotFactory, KpiTargetFactory, email_inquiry
from tests.helpdesk.handover.conftest import empty_database, export_text, import_file, jsonl

# Not transactional (see tests/helpdesk/handover/test_roundtrip.py): each test empties the
# records itself inside its transaction.
pytestmark = pytest.mark.django_db

SEP, OCT, NOV = Month(2026, 9), Month(2026, 10), Month(2026, 11)


def _lines(text: str, type_name: str) -> list[dict]:
    return [json.loads(x) for x in text.splitlines() if x.startswith(f'{{"type":"{type_name}"')]


def _empty_instance() -> None:
    """A fresh instance: no records, no settings, no publications, the default week."""
    KpiSnapshot.objects.all().delete()  # a queryset delete (the model refuses one by one)
    FiscalMonthPeriod.objects.all().delete()
    KpiTarget.objects.all().delete()
    empty_database()
    ServiceHours.objects.exclude(weekday__lte=4).delete()
    for weekday in range(5):
        ServiceHours.objects.update_or_create(
            weekday=weekday, defaults={"opens_at": dt.time(9), "closes_at": dt.time(17)}
        )


def _months() -> list[dict]:
    out = []
    for data in selectors.kpi_months_get(first=SEP, last=NOV, fresh=True):
        data = dict(data)
        data.pop("computed_at")
        out.append(data)
    return out


# --- the record types ---------------------------------------------------------------------


def test_kpi_target_line_carries_every_concrete_field_of_the_model():
    KpiTargetFactory(
        name="2026年度〜 契約",
        valid_from=dt.date(2026, 4, 1),
        answer_rate_normal=Decimal("0.850"),
        aht_max_seconds=420,
        email_use_business_hours=True,
    )
    (line,) = _lines(export_text(), "kpi_target")

    # Generic: a field added to KpiTarget (e.g. the ACW limit) is in the line without code.
    fields = {f.name for f in KpiTarget._meta.concrete_fields if not f.primary_key}
    assert set(line) == fields | {"type"}
    assert line["answer_rate_normal"] == "0.850"  # exact decimal, as a string
    assert line["valid_from"] == "2026-04-01" and line["valid_to"] is None
    assert line["aht_max_seconds"] == 420 and line["email_use_business_hours"] is True


def test_kpi_target_round_trips_and_a_missing_field_takes_the_default(tmp_path):
    KpiTargetFactory(
        name="旧契約", valid_from=dt.date(2024, 4, 1), valid_to=dt.date(2026, 4, 1), fcr_min=Decimal("0.750")
    )
    KpiTargetFactory(name="新契約", valid_from=dt.date(2026, 4, 1), complaints_limit=5, incidents_max=1)
    before = list(KpiTarget.objects.order_by("valid_from").values())
    text = export_text()
    KpiTarget.objects.all().delete()

    path = tmp_path / "targets.jsonl"
    path.write_text(text, encoding="utf-8")
    assert import_file(path).endswith(" 0 rejected")
    after = list(KpiTarget.objects.order_by("valid_from").values())
    assert [{k: v for k, v in r.items() if k != "id"} for r in after] == [
        {k: v for k, v in r.items() if k != "id"} for r in before
    ]
    assert import_file(path) == "9 read, 0 created, 0 updated, 9 unchanged, 0 rejected"  # 7 weekdays, 2 targets

    # A line of an older exporter (no fcr_min), a null, and a field this version does not know.
    KpiTarget.objects.all().delete()
    short = {
        "type": "kpi_target",
        "name": "手書き",
        "valid_from": "2027-04-01",
        "aht_max_seconds": None,
        "acw_future_field": 1,
    }
    path.write_text(jsonl(short), encoding="utf-8")
    assert import_file(path) == "1 read, 1 created, 0 updated, 0 unchanged, 0 rejected"
    stored = KpiTarget.objects.get()
    assert (stored.fcr_min, stored.aht_max_seconds) == (Decimal("0.800"), 600)


def test_overlapping_contract_period_is_rejected_with_the_reason(tmp_path):
    KpiTargetFactory(valid_from=dt.date(2026, 4, 1))
    path = tmp_path / "t.jsonl"
    path.write_text(jsonl({"type": "kpi_target", "name": "重複", "valid_from": "2026-10-01"}), encoding="utf-8")

    assert import_file(path).endswith(" 1 rejected")
    assert ImportReject.objects.get().reason.startswith("kpi_target: invalid value: valid_from: 他の契約期間と重複")
    assert KpiTarget.objects.count() == 1


def test_fiscal_month_period_round_trips_and_updates(tmp_path):
    FiscalMonthPeriodFactory(fiscal_year=2026, month=10, period_type=PeriodType.BUSY, note="年度更新")
    FiscalMonthPeriodFactory(fiscal_year=2026, month=6, period_type=PeriodType.NORMAL)
    text = export_text()
    assert [(x["fiscal_year"], x["month"], x["period_type"]) for x in _lines(text, "fiscal_month_period")] == [
        (2026, 6, "normal"),
        (2026, 10, "busy"),
    ]
    FiscalMonthPeriod.objects.filter(month=10).update(period_type=PeriodType.NORMAL)
    FiscalMonthPeriod.objects.filter(month=6).delete()

    path = tmp_path / "cal.jsonl"
    path.write_text(text, encoding="utf-8")
    report = import_file(path)

    assert "1 created, 1 updated" in report and report.endswith(" 0 rejected")
    assert FiscalMonthPeriod.objects.get(month=10).period_type == PeriodType.BUSY
    assert FiscalMonthPeriod.objects.get(month=6).period_type == PeriodType.NORMAL


def test_snapshot_is_imported_as_published_and_never_overwritten(tmp_path):
    publisher = UserFactory(username="adm.kpi")
    KpiSnapshotFactory(month="2026-10", version=1, data={"month": "2026-10", "x": 1}, published_by=publisher)
    text = export_text()
    (line,) = _lines(text, "kpi_snapshot")
    assert line["published_by"] == "adm.kpi" and line["data"] == {"month": "2026-10", "x": 1}

    KpiSnapshot.objects.all().delete()
    path = tmp_path / "snap.jsonl"
    path.write_text(text, encoding="utf-8")
    assert import_file(path).endswith(" 0 rejected")
    snap = KpiSnapshot.objects.get()
    assert (snap.version, snap.data, snap.published_by, snap.published_at) == (
        1,
        {"month": "2026-10", "x": 1},
        publisher,
        dt.datetime(2026, 11, 5, tzinfo=dt.UTC),
    )
    assert "0 updated" in import_file(path)

    # The same month and version with other figures: refused, the published one stays.
    path.write_text(jsonl({**line, "data": {"month": "2026-10", "x": 2}}), encoding="utf-8")
    assert import_file(path).endswith(" 1 rejected")
    assert "immutable" in ImportReject.objects.get().reason
    assert KpiSnapshot.objects.get().data == {"month": "2026-10", "x": 1}


# --- the round trip -------------------------------------------------------------------------


def _seed_records() -> None:
    """Two contract periods of targets, a changed week, calendar days, and a little of every
    record the KPI reads, in September to November 2026."""
    KpiTargetFactory(name="旧契約", valid_from=dt.date(2024, 4, 1), valid_to=dt.date(2026, 10, 1))
    KpiTargetFactory(
        name="新契約",
        valid_from=dt.date(2026, 10, 1),
        answer_rate_normal=Decimal("0.850"),
        answer_rate_busy=Decimal("0.650"),
        aht_max_seconds=420,
        email_max_seconds=2 * 86400,
        complaints_limit=2,
        incidents_max=1,
        email_use_business_hours=True,
    )
    FiscalMonthPeriodFactory(fiscal_year=2026, month=10, period_type=PeriodType.SEMI_BUSY)
    ServiceHours.objects.filter(weekday=2).delete()  # closed on Wednesdays
    ServiceHours.objects.create(weekday=5, opens_at=dt.time(10), closes_at=dt.time(12))
    CalendarDay.objects.create(date=dt.date(2026, 10, 8), kind="closed", note="臨時休業")
    CalendarDay.objects.create(
        date=dt.date(2026, 10, 11), kind="open", opens_at=dt.time(9), closes_at=dt.time(12), note="特別開庁"
    )

    for day, minutes in ((29, 4), (30, 9)):  # September: two calls, one abandoned
        PhoneInquiryFactory(call=CallFactory(arrived_at=tokyo(2026, 9, day, 10, 0)))
        CallFactory(arrived_at=tokyo(2026, 9, day, 11, minutes), outcome=Call.Outcome.IVR_ABANDONED)
    SecurityIncidentFactory(occurred_at=tokyo(2026, 9, 30, 23, 0), severity="minor", kind="other")

    phones = []
    for day in (1, 2, 5, 6, 9, 13, 14, 15):
        call = CallFactory(arrived_at=tokyo(2026, 10, day, 10, 0), acw_seconds=60 if day % 2 else None)
        phones.append(
            PhoneInquiryFactory(
                call=call,
                status=Inquiry.Status.RESOLVED,
                wrapup_completed_at=call.ended_at + dt.timedelta(seconds=90),
                resolved_at=call.ended_at,
            )
        )
    CallFactory(arrived_at=tokyo(2026, 10, 2, 11, 0), outcome=Call.Outcome.QUEUE_TIMEOUT)
    CallFactory(arrived_at=tokyo(2026, 10, 6, 11, 0), outcome=Call.Outcome.IVR_ABANDONED)
    CallFactory(arrived_at=tokyo(2026, 10, 6, 20, 0), outcome=Call.Outcome.OUT_OF_HOURS)
    # Tuesday 16:00 → Thursday 16:00 spans the closed Wednesday and the closed 10/8.
    email_inquiry(tokyo(2026, 10, 6, 16, 0), dt.timedelta(days=2))
    email_inquiry(tokyo(2026, 10, 9, 16, 30), dt.timedelta(days=2, hours=20))  # over the special Sunday
    email_inquiry(tokyo(2026, 10, 20, 9, 0))  # never answered
    handed = email_inquiry(tokyo(2026, 10, 21, 9, 0), dt.timedelta(days=5), channel=Inquiry.Channel.FORM)
    EscalationFactory(inquiry=handed, target=Escalation.Target.RESPONSIBLE_SECTION)
    EscalationFactory(inquiry=phones[0], target=Escalation.Target.OPERATIONS_VENDOR)
    EscalationFactory(inquiry=phones[1], target=Escalation.Target.INTERNAL)
    ComplaintFactory(inquiry=phones[2], cause=Complaint.Cause.OPERATOR_ERROR)  # confirmed: counted
    ComplaintFactory(inquiry=phones[3], cause=Complaint.Cause.OPERATOR_ERROR, confirmed_at=None)  # not confirmed
    ComplaintFactory(inquiry=phones[4])  # unconfirmed
    SecurityIncidentFactory(occurred_at=tokyo(2026, 10, 16, 9, 0), severity="major", kind="委託先の端末紛失")

    CallFactory(arrived_at=tokyo(2026, 11, 2, 9, 30))
    InquiryFactory(received_at=tokyo(2026, 11, 2, 9, 0), channel=Inquiry.Channel.FORM)


def test_round_trip_keeps_every_months_kpi_json_after_the_calendar_changed(tmp_path):
    with time_machine.travel(tokyo(2026, 11, 3, 10), tick=False):
        _seed_records()
    with time_machine.travel(tokyo(2026, 11, 5, 10), tick=False):
        services.kpi_snapshot_publish(month=OCT, actor=None, note="10月分")
        KpiSnapshotFactory(
            month="2026-11",
            version=1,
            data=selectors.kpi_month_compute(month=NOV),
            published_at=tokyo(2026, 11, 5, 10),
            published_by=UserFactory(username="adm.kpi"),
        )
    with time_machine.travel(tokyo(2026, 11, 6, 10), tick=False):
        # After publication: the admin makes October busy, a complaint is confirmed and a
        # late PBX record arrives. October is now restated, traceably.
        FiscalMonthPeriod.objects.filter(fiscal_year=2026, month=10).update(period_type=PeriodType.BUSY)
        Complaint.objects.filter(cause=Complaint.Cause.UNCONFIRMED).update(
            cause=Complaint.Cause.POLICY, confirmed_at=tokyo(2026, 11, 6, 10)
        )
        CallFactory(arrived_at=tokyo(2026, 10, 30, 10, 0))

    with time_machine.travel(tokyo(2026, 11, 10, 12), tick=False):
        before = _months()
        path = tmp_path / "handover.jsonl"
        path.write_text(export_text(), encoding="utf-8")
        _empty_instance()
        assert not Call.objects.exists() and not KpiTarget.objects.exists() and not KpiSnapshot.objects.exists()
        assert selectors.kpi_month_get(month=OCT, fresh=True)["period_type"] != PeriodType.BUSY
        report = import_file(path)
        after = _months()

    assert report.endswith(" 0 rejected")
    october = before[1]
    assert october["period_type"] == "busy" and october["restated"] is True
    assert october["changed_records"]["complaints"] == 1 and october["changed_records"]["calls"] == 1
    assert october["complaints"]["count"] == 1 and october["security_incidents"]["count"] == 1
    assert october["email_average_response_time"]["basis"] == "business_hours"
    assert before[2]["publication"]["published_by"] == "adm.kpi"
    for old, new in zip(before, after, strict=True):
        assert new == old, old["month"]
