"""What the Schemathesis run found, pinned down one by one (each failed before the fix)."""

import re

import pytest
from drf_spectacular.generators import SchemaGenerator

from tests.factories import SecurityIncidentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def components() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)["components"]["schemas"]


def test_service_hours_schema_states_a_local_time_not_rfc3339(components, api, agent):
    served = api.as_user(agent).get("/api/calendar/service-hours/").json()[0]["opens_at"]
    schema = components["ServiceHours"]["properties"]["opens_at"]
    assert "format" not in schema  # `format: time` demands a UTC offset a Tokyo opening hour has not
    assert re.fullmatch(schema["pattern"], served)
    assert "format" not in components["CalendarDay"]["properties"]["closes_at"]


def test_blank_requester_email_is_in_the_schema(components, api, agent):
    created = api.as_user(agent).post("/api/inquiries/", {"channel": "email"}, format="json")
    assert created.status_code == 201 and created.json()["requester_email"] == ""
    alternatives = components["InquiryDetail"]["properties"]["requester_email"]["oneOf"]
    assert {"type": "string", "maxLength": 0} in alternatives


def test_incident_schema_is_one_shape_with_the_admin_only_fields_optional(components, api, admin_user):
    SecurityIncidentFactory()
    schema = components["SecurityIncidentView"]
    assert "oneOf" not in schema
    assert {"description", "reported_by"}.isdisjoint(schema["required"])
    assert set(api.as_user(admin_user).get("/api/security-incidents/").json()["results"][0]) == set(
        schema["properties"]
    )


@pytest.mark.parametrize("field", ["occurred_at", "detected_at"])
def test_incident_time_before_1900_is_a_400_naming_the_field(api, admin_user, field):
    # Before 1888 Tokyo's offset was +09:18:59: the answer echoed it, which no RFC 3339 parser reads.
    body = {"occurred_at": "2026-10-05T14:00:00+09:00", "detected_at": "2026-10-05T15:00:00+09:00", "severity": "minor"}
    body[field] = "0262-03-09T12:03:03+09:00"
    response = api.as_user(admin_user).post("/api/security-incidents/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_inquiry_received_before_1900_is_a_400(api, agent):
    response = api.as_user(agent).post(
        "/api/inquiries/", {"channel": "email", "received_at": "1887-12-31T23:00:00"}, format="json"
    )
    assert response.status_code == 400
    assert "received_at" in response.json()["errors"]


def test_faq_entry_without_category_or_source_conforms_to_the_schema(components, api, admin_user):
    created = api.as_user(admin_user).post("/api/faq/entries/", {"question": "印鑑証明は必要ですか"}, format="json")
    assert created.status_code == 201
    body = created.json()
    assert body["category"] is None and body["source_cluster"] is None and body["source_surge"] is None
    properties = components["FaqEntry"]["properties"]
    assert properties["source_cluster"]["nullable"] and properties["source_surge"]["nullable"]
    assert properties["category"].get("nullable") or {"type": "null"} in properties["category"].get("oneOf", [])


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("post", "/api/complaints/", {"inquiry": "EG-\x00", "description": "苦情"}, "inquiry"),
        ("post", "/api/inquiries/", {"channel": "phone", "call_id": "call\x00"}, "call_id"),
        ("patch", "/api/faq/entries/{entry}/", {"category": "slug\x00"}, "category"),
    ],
)
def test_a_record_key_holding_nul_is_a_400_naming_the_field(api, admin_user, method, path, body, field):
    """A text key with NUL went to the database look-up, which PostgreSQL refuses: a 500
    (found on POST /api/complaints/ with more examples per operation)."""
    from tests.factories.faq import FaqEntryFactory

    path = path.format(entry=FaqEntryFactory().pk)
    response = getattr(api.as_user(admin_user), method)(path, body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]
