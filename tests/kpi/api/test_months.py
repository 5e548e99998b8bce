import datetime as dt

import pytest

from helpdesk.models import Call, Complaint, Escalation
from tests.factories import CallFactory, ComplaintFactory, EscalationFactory, SecurityIncidentFactory, tokyo
from tests.factories.kpi import email_inquiry

pytestmark = pytest.mark.django_db
URL = "/api/kpi/months/2026-10/"


def _month():
    CallFactory.create_batch(9, acw_seconds=60)
    CallFactory(outcome=Call.Outcome.QUEUE_TIMEOUT)
    CallFactory(outcome=Call.Outcome.OUT_OF_HOURS)
    inq = email_inquiry(tokyo(2026, 10, 5, 10), dt.timedelta(hours=4, minutes=9))
    EscalationFactory(target=Escalation.Target.RESPONSIBLE_SECTION)
    ComplaintFactory(inquiry=inq, cause=Complaint.Cause.OPERATOR_ERROR)
    SecurityIncidentFactory()


def test_month_object_has_the_formats_md_keys(api, reviewer):
    _month()
    r = api.as_user(reviewer).get(URL)
    assert r.status_code == 200
    d = r.json()
    assert d["month"] == "2026-10"
    assert d["period_type"] == "normal"
    assert d["restated"] is False
    assert {
        "value": 0.9,
        "display": "90.0%",
        "target": 0.9,
        "met": True,
        "total_calls": 10,
        "answered_calls": 9,
        "ivr_abandoned": 0,
        "queue_abandoned": 1,
        "out_of_hours_calls": 1,
    }.items() <= d["answer_rate"].items()
    assert d["answer_rate"]["queue_abandoned_by_reason"]["queue_timeout"] == 1
    assert {
        "seconds": 360.0,
        "display": "6分00秒",
        "target": 600,
        "met": True,
        "answered_calls": 9,
        "calls_missing_wrapup": 0,
        "calls_acw_capped": 0,
        "acw_limit_seconds": 1800,
    }.items() <= d["average_handle_time"].items()
    em = d["email_average_response_time"]
    assert {
        "seconds": 14940.0,
        "display": "4時間09分",
        "target": 86400,
        "met": True,
        "answered": 1,
        "unanswered": 0,
        "excluded_handed_to_responsible_section": 1,
    }.items() <= em.items()
    assert em["business_seconds"] == 14940.0  # Monday 10:00 → 14:09, all in hours
    assert {
        "value": 0.5,
        "display": "50.0%",
        "target": 0.8,
        "met": False,
        "inquiries": 2,
        "handed_over": 1,
    }.items() <= d["first_contact_resolution"].items()
    assert {"count": 1, "display": "1件", "target": 15, "met": True, "recorded": 1}.items() <= d["complaints"].items()
    assert {"count": 0, "display": "0件", "target": 0, "met": True}.items() <= d["security_incidents"].items()
    assert d["inquiries_by_channel"] == {"phone": 0, "email": 2, "form": 0}


@pytest.mark.parametrize("role", ["reviewer", "supervisor", "admin_user"])
def test_readable_by_reviewer_supervisor_admin(api, role, request):
    assert api.as_user(request.getfixturevalue(role)).get(URL).status_code == 200


def test_agents_and_anonymous_are_refused(api, agent, nobody):
    assert api.get(URL).status_code in (401, 403)
    assert api.as_user(agent).get(URL).status_code == 403
    assert api.as_user(nobody).get(URL).status_code == 403


def test_bad_month_is_400(api, reviewer):
    r = api.as_user(reviewer).get("/api/kpi/months/2026-13/")
    assert r.status_code == 400
    assert "2026-13" in r.json()["errors"]["month"][0]
    assert "YYYY-MM" in r.json()["errors"]["month"][0]
    assert "0000-01" in api.get("/api/kpi/months/0000-01/").json()["errors"]["month"][0]


@pytest.mark.parametrize(
    ("params", "field"), [({"from": "2026-13", "to": "2026-10"}, "from"), ({"from": "2026-01", "to": "2026-13"}, "to")]
)
def test_bad_range_month_names_the_field(api, reviewer, params, field):
    r = api.as_user(reviewer).get("/api/kpi/months/", params)
    assert r.status_code == 400
    assert list(r.json()["errors"]) == [field]
    assert "2026-13" in r.json()["errors"][field][0]


def test_range(api, reviewer):
    CallFactory(arrived_at=tokyo(2026, 9, 3, 10))
    CallFactory(arrived_at=tokyo(2026, 11, 3, 10))
    r = api.as_user(reviewer).get("/api/kpi/months/", {"from": "2026-09", "to": "2026-11"})
    assert r.status_code == 200
    months = r.json()["months"]
    assert [m["month"] for m in months] == ["2026-09", "2026-10", "2026-11"]
    assert [m["answer_rate"]["total_calls"] for m in months] == [1, 0, 1]
    assert months[1]["answer_rate"]["value"] is None


def test_range_validation(api, reviewer):
    c = api.as_user(reviewer)
    assert c.get("/api/kpi/months/", {"from": "2026-11", "to": "2026-09"}).status_code == 400
    assert c.get("/api/kpi/months/", {"from": "2020-01", "to": "2026-09"}).status_code == 400
    assert c.get("/api/kpi/months/", {"from": "2026-1"}).status_code == 400


def test_cached_until_fresh_requested(api, reviewer):
    c = api.as_user(reviewer)
    assert c.get(URL).json()["answer_rate"]["total_calls"] == 0
    CallFactory()
    assert c.get(URL).json()["answer_rate"]["total_calls"] == 0  # served from the cache
    assert c.get(URL, {"fresh": "true"}).json()["answer_rate"]["total_calls"] == 1
    assert c.get(URL).json()["answer_rate"]["total_calls"] == 1


def test_openapi_schema_lists_the_kpi_endpoints(api, reviewer):
    r = api.as_user(reviewer).get("/api/schema/", {"format": "json"})
    paths = r.json()["paths"]
    for p in (
        "months/",
        "months/{month}/",
        "months/{month}/abandoned-calls/",
        "months/{month}/emails/",
        "months/{month}/publish/",
        "months/{month}/changes/",
        "mail-waiting/",
    ):
        assert f"/api/kpi/{p}" in paths
