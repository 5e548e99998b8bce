"""Calendar and targets: every change shows the KPI months it restates BEFORE it is saved
(nothing written by the preview), then saves through the audited services."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from helpdesk.clock import Month
from helpdesk.models import AuditEvent, CalendarDay, Call, ServiceHours
from kpi.models import FiscalMonthPeriod, KpiTarget
from kpi.services import kpi_snapshot_publish
from tests.factories import CallFactory, tokyo
from tests.factories.kpi import KpiTargetFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _now():
    with time_machine.travel(tokyo(2026, 10, 20, 10, 0), tick=False):
        yield


@pytest.fixture
def september_calls(db):
    # 9 answered, 1 abandoned in the queue: 90 % — meets the normal target (90 %), and
    # would meet the busy one (70 %) too; the target itself changes with the period type.
    for i in range(9):
        CallFactory(arrived_at=tokyo(2026, 9, 15, 10, i))
    CallFactory(arrived_at=tokyo(2026, 9, 15, 11, 0), outcome=Call.Outcome.QUEUE_ABANDONED, agent="")


def _month(client, **data):
    body = {"fiscal_year": 2026, "month": 9, "period_type": "busy", "reason": "契約変更で9月を繁忙期に", **data}
    return client.post(reverse("desk:admin:calendar-month"), body)


def test_the_page_lists_the_fiscal_year_months_with_their_period(admin_client):
    body = admin_client.get(reverse("desk:admin:calendar") + "?fy=2026").content.decode()
    for month in ("2026-04", "2026-06", "2027-03"):
        assert month in body
    assert "繁忙期" in body and "準繁忙期" in body


def test_changing_a_month_lists_the_restated_month_first_and_writes_nothing(admin_client, september_calls):
    response = _month(admin_client)
    assert response.status_code == 200
    body = response.content.decode()
    restated = body.split('id="restated-months"')[1].split("</table>")[0]
    assert "2026-09" in restated and "応答率の目標" in restated and "90.0%" in restated and "70.0%" in restated
    assert not FiscalMonthPeriod.objects.exists()
    assert not AuditEvent.objects.filter(object_type="kpi.fiscalmonthperiod").exists()


def test_a_published_month_is_flagged_for_republication(admin_client, admin_user, september_calls):
    kpi_snapshot_publish(month=Month(2026, 9), actor=admin_user)
    body = _month(admin_client).content.decode()
    assert "公表済み（第1版）" in body and "再公表が必要です" in body


def test_confirming_saves_through_the_audited_service(admin_client, admin_user):
    response = _month(admin_client, confirm="1")
    assert response.status_code == 302
    row = FiscalMonthPeriod.objects.get(fiscal_year=2026, month=9)
    assert row.period_type == "busy"
    event = AuditEvent.objects.get(object_type="kpi.fiscalmonthperiod")
    assert event.actor == admin_user and "契約変更で9月を繁忙期に" in event.note


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"reason": ""}, "変更理由: "),
        ({"month": 13}, "月: この値は 12 以下"),
        ({"period_type": "holiday"}, "期区分: "),
        ({"fiscal_year": "abc"}, "年度: "),
    ],
)
def test_bad_month_input_is_a_400(admin_client, data, message):
    response = _month(admin_client, confirm="1", **data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not FiscalMonthPeriod.objects.exists()


def _target_data(prefix, **over):
    data = {
        "name": "2026年度契約",
        "valid_from": "2026-04-01",
        "valid_to": "",
        "answer_rate_normal": "0.950",
        "answer_rate_busy": "0.700",
        "aht_max_seconds": 600,
        "email_max_seconds": 86400,
        "fcr_min": "0.800",
        "complaints_limit": 15,
        "incidents_max": 0,
        "acw_limit_seconds": 900,
        "reason": "新契約",
        **over,
    }
    return {f"{prefix}-{k}": v for k, v in data.items()}


def test_a_new_target_lists_the_months_it_restates_then_saves(admin_client, september_calls):
    url = reverse("desk:admin:calendar-target-new")
    preview = admin_client.post(url, _target_data("tnew"))
    assert preview.status_code == 200
    restated = preview.content.decode().split('id="restated-months"')[1].split("</table>")[0]
    # 90 % against 95 %: September's answer rate is no longer met.
    assert "2026-09" in restated and "応答率の達成" in restated
    assert not KpiTarget.objects.exists()
    assert admin_client.post(url, {**_target_data("tnew"), "confirm": "1"}).status_code == 302
    target = KpiTarget.objects.get()
    assert target.acw_limit_seconds == 900 and target.answer_rate_normal == Decimal("0.950")
    assert AuditEvent.objects.filter(object_type="kpi.kpitarget", action="create").count() == 1


def test_changing_the_acw_limit_of_a_target(admin_client):
    target = KpiTargetFactory(valid_from=dt.date(2026, 4, 1))
    url = reverse("desk:admin:calendar-target", args=[target.pk])
    data = _target_data(f"t{target.pk}", acw_limit_seconds=120, answer_rate_normal="0.900")
    assert admin_client.post(url, {**data, "confirm": "1"}).status_code == 302
    target.refresh_from_db()
    assert target.acw_limit_seconds == 120


@pytest.mark.parametrize(
    "over",
    [
        {"answer_rate_normal": "1.5"},
        {"acw_limit_seconds": 0},
        {"valid_to": "2026-01-01"},
        {"valid_from": "not a date"},
        {"valid_from": "2025-04-01"},  # overlaps the 2024–2026 contract
        {"reason": ""},
    ],
)
def test_bad_targets_are_a_400(admin_client, over):
    KpiTargetFactory(valid_from=dt.date(2024, 4, 1), valid_to=dt.date(2026, 4, 1))
    response = admin_client.post(reverse("desk:admin:calendar-target-new"), _target_data("tnew", **over))
    assert response.status_code == 400
    errors = response.content.decode().split("契約期間を追加")[1]
    assert 'role="alert"' in errors
    assert KpiTarget.objects.count() == 1


def test_a_special_day_is_previewed_then_saved(admin_client, admin_user):
    url = reverse("desk:admin:calendar-day")
    data = {"d-date": "2026-09-15", "d-kind": "closed", "d-note": "システム停止"}
    assert admin_client.post(url, data).status_code == 200
    assert not CalendarDay.objects.exists()
    assert admin_client.post(url, {**data, "confirm": "1"}).status_code == 302
    assert CalendarDay.objects.get().kind == "closed"
    remove = reverse("desk:admin:calendar-day-remove")
    assert admin_client.post(remove, {"date": "2026-09-15"}).status_code == 200
    assert admin_client.post(remove, {"date": "2026-09-15", "confirm": "1"}).status_code == 302
    assert not CalendarDay.objects.exists()


def test_closing_a_day_restates_the_abandoned_calls_of_that_day(admin_client):
    # An IVR hang-up in service hours counts against the answer rate; on a closed day it is
    # out of hours and does not (calls_reclassify_service_hours, run in the preview).
    for i in range(3):
        CallFactory(arrived_at=tokyo(2026, 9, 15, 10, i))
    CallFactory(arrived_at=tokyo(2026, 9, 15, 11, 0), outcome=Call.Outcome.IVR_ABANDONED, agent="", queue="")
    data = {"d-date": "2026-09-15", "d-kind": "closed"}
    body = admin_client.post(reverse("desk:admin:calendar-day"), data).content.decode()
    restated = body.split('id="restated-months"')[1].split("</table>")[0]
    assert "2026-09" in restated
    assert Call.objects.filter(outcome=Call.Outcome.IVR_ABANDONED).count() == 1  # rolled back


@pytest.mark.parametrize(
    "data",
    [
        {"d-date": "2026-09-15", "d-kind": "open"},  # open without hours
        {"d-date": "2026-09-15", "d-kind": "open", "d-opens_at": "18:00", "d-closes_at": "09:00"},
        {"d-date": "2026-02-30", "d-kind": "closed"},
        {"d-date": "2026-09-15", "d-kind": "maybe"},
    ],
)
def test_bad_special_days_are_a_400(admin_client, data):
    assert admin_client.post(reverse("desk:admin:calendar-day"), {**data, "confirm": "1"}).status_code == 400
    assert not CalendarDay.objects.exists()


def test_service_hours_preview_then_save(admin_client, admin_user):
    url = reverse("desk:admin:calendar-hours")
    data = {f"h-opens_{d}": "09:00" for d in range(5)} | {f"h-closes_{d}": "18:00" for d in range(5)}
    assert admin_client.post(url, data).status_code == 200
    assert admin_client.post(url, {**data, "confirm": "1"}).status_code == 302
    assert sorted(ServiceHours.objects.values_list("weekday", flat=True)) == [0, 1, 2, 3, 4]
    assert ServiceHours.objects.get(weekday=0).closes_at == dt.time(18, 0)
    assert AuditEvent.objects.filter(object_type="helpdesk.servicehours", actor=admin_user).exists()


@pytest.mark.parametrize(
    "data", [{"h-opens_0": "09:00"}, {"h-opens_0": "18:00", "h-closes_0": "09:00"}, {"h-opens_0": "9時"}]
)
def test_bad_service_hours_are_a_400(admin_client, data):
    before = list(ServiceHours.objects.values_list("weekday", "opens_at", "closes_at"))
    assert admin_client.post(reverse("desk:admin:calendar-hours"), {**data, "confirm": "1"}).status_code == 400
    assert list(ServiceHours.objects.values_list("weekday", "opens_at", "closes_at")) == before
