"""Service calendar API (admins edit, staff and reviewers read) and the reclassification of
calls without a PBX verdict after the calendar changes."""

import datetime as dt

import pytest

from helpdesk.models import AuditEvent, CalendarDay, ServiceHours
from helpdesk.phone.reclassify import calls_reclassify_service_hours
from tests.factories import CallFactory, tokyo

pytestmark = pytest.mark.django_db


def ivr(at, **kw):
    return CallFactory(outcome="ivr_abandoned", arrived_at=at, in_service_hours=True, **kw)


def test_reclassify_after_a_special_opening_day():
    saturday = tokyo(2026, 10, 3, 10)
    generic = CallFactory(outcome="ivr_abandoned", arrived_at=saturday, in_service_hours=False)
    asterisk = CallFactory(outcome="out_of_hours", arrived_at=saturday + dt.timedelta(minutes=5), source="asterisk")
    pbx_ooh = CallFactory(outcome="out_of_hours", arrived_at=saturday + dt.timedelta(minutes=6), source="generic")
    queued = CallFactory(outcome="queue_abandoned", arrived_at=saturday + dt.timedelta(minutes=7))
    CalendarDay.objects.create(date=dt.date(2026, 10, 3), kind="open", opens_at=dt.time(9), closes_at=dt.time(12))

    changed = calls_reclassify_service_hours(start=tokyo(2026, 10, 1), end=tokyo(2026, 11, 1))

    assert changed == 2
    generic.refresh_from_db(), asterisk.refresh_from_db(), pbx_ooh.refresh_from_db(), queued.refresh_from_db()
    assert generic.in_service_hours is True and generic.outcome == "ivr_abandoned"
    assert (asterisk.outcome, asterisk.in_service_hours) == ("ivr_abandoned", True)
    assert (pbx_ooh.outcome, pbx_ooh.in_service_hours) == ("out_of_hours", False)  # the PBX's verdict stays
    assert queued.in_service_hours is True
    assert AuditEvent.objects.filter(object_type="helpdesk.call", note__contains="reclassified").count() == 1


def test_reclassify_after_an_extra_closure_and_across_months():
    a = ivr(tokyo(2026, 10, 30, 10))
    b = CallFactory(outcome="ivr_abandoned", arrived_at=tokyo(2026, 11, 2, 10), source="asterisk")
    CalendarDay.objects.create(date=dt.date(2026, 10, 30), kind="closed")
    CalendarDay.objects.create(date=dt.date(2026, 11, 2), kind="closed")

    assert calls_reclassify_service_hours(start=tokyo(2026, 10, 1), end=tokyo(2026, 12, 1)) == 2

    a.refresh_from_db(), b.refresh_from_db()
    assert (a.outcome, a.in_service_hours) == ("ivr_abandoned", False)
    assert (b.outcome, b.in_service_hours) == ("out_of_hours", False)
    assert calls_reclassify_service_hours(start=tokyo(2026, 10, 1), end=tokyo(2026, 12, 1)) == 0


def test_admin_adds_a_special_day_and_calls_follow(api, admin_user, django_capture_on_commit_callbacks):
    call = CallFactory(outcome="out_of_hours", arrived_at=tokyo(2026, 10, 3, 10), source="asterisk")
    with django_capture_on_commit_callbacks(execute=True):
        response = api.as_user(admin_user).post(
            "/api/calendar/days/",
            {"date": "2026-10-03", "kind": "open", "opens_at": "09:00", "closes_at": "12:00", "note": "特別開庁"},
            format="json",
        )
    assert response.status_code == 201, response.json()
    call.refresh_from_db()
    assert (call.outcome, call.in_service_hours) == ("ivr_abandoned", True)
    assert AuditEvent.objects.filter(
        object_type="helpdesk.calendarday", object_id="2026-10-03", action="create"
    ).exists()

    with django_capture_on_commit_callbacks(execute=True):
        assert api.delete("/api/calendar/days/2026-10-03/").status_code == 204
    call.refresh_from_db()
    assert (call.outcome, call.in_service_hours) == ("out_of_hours", False)
    assert api.delete("/api/calendar/days/2026-10-03/").status_code == 404


def test_admin_changes_the_week(api, admin_user, django_capture_on_commit_callbacks):
    late = ivr(tokyo(2026, 10, 1, 18, 30))  # Thursday evening
    late.in_service_hours = False
    late.save()
    week = [{"weekday": d, "opens_at": "09:00", "closes_at": "20:00"} for d in range(5)]
    with django_capture_on_commit_callbacks(execute=True):
        response = api.as_user(admin_user).put("/api/calendar/service-hours/", week, format="json")
    assert response.status_code == 200, response.json()
    assert ServiceHours.objects.get(weekday=3).closes_at == dt.time(20)
    late.refresh_from_db()
    assert late.in_service_hours is True
    assert api.get("/api/calendar/service-hours/").json()[0] == {
        "weekday": 0,
        "opens_at": "09:00:00",
        "closes_at": "20:00:00",
    }


def test_bad_calendar_input_is_400(api, admin_user):
    client = api.as_user(admin_user)
    assert client.post("/api/calendar/days/", {"date": "2026-10-03", "kind": "open"}, format="json").status_code == 400
    bad_week = [{"weekday": 0, "opens_at": "17:00", "closes_at": "09:00"}]
    assert client.put("/api/calendar/service-hours/", bad_week, format="json").status_code == 400
    dup = [{"weekday": 0, "opens_at": "09:00", "closes_at": "17:00"}] * 2
    assert client.put("/api/calendar/service-hours/", dup, format="json").status_code == 400
    assert ServiceHours.objects.count() == 5


def test_put_a_day_changes_it(api, admin_user):
    client = api.as_user(admin_user)
    client.post("/api/calendar/days/", {"date": "2026-10-05", "kind": "closed"}, format="json")
    response = client.put(
        "/api/calendar/days/2026-10-05/", {"kind": "open", "opens_at": "10:00", "closes_at": "15:00"}, format="json"
    )
    assert response.status_code == 200
    assert CalendarDay.objects.get(date=dt.date(2026, 10, 5)).opens_at == dt.time(10)
    assert client.get("/api/calendar/days/?from=2026-10-01&to=2026-10-31").json()[0]["kind"] == "open"


@pytest.mark.parametrize(
    ("role", "read", "write"),
    [
        ("agent", 200, 403),
        ("supervisor", 200, 403),
        ("admin_user", 200, 201),
        ("reviewer", 200, 403),
        ("nobody", 403, 403),
    ],
)
def test_calendar_permissions(api, request, role, read, write):
    client = api.as_user(request.getfixturevalue(role))
    assert client.get("/api/calendar/days/").status_code == read
    assert client.get("/api/calendar/service-hours/").status_code == read
    response = client.post("/api/calendar/days/", {"date": "2026-10-10", "kind": "closed"}, format="json")
    assert response.status_code == write
    week = [{"weekday": 0, "opens_at": "09:00", "closes_at": "17:00"}]
    assert client.put("/api/calendar/service-hours/", week, format="json").status_code == (200 if write == 201 else 403)
