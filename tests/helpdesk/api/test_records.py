"""Calls and mail (read only, masked lists, audited details), escalations, complaints
and security incidents through the API."""

import pytest

from helpdesk.models import AuditEvent, Complaint, Escalation, SecurityIncident
from tests.factories import (
    CallFactory,
    ComplaintFactory,
    EmailMessageFactory,
    EscalationFactory,
    InquiryFactory,
    SecurityIncidentFactory,
    tokyo,
)

pytestmark = pytest.mark.django_db


# --- calls ---------------------------------------------------------------------------------


def test_call_list_masks_the_caller_and_writes_no_audit(api, agent):
    CallFactory(caller="0312345678")

    response = api.as_user(agent).get("/api/calls/")

    assert response.status_code == 200
    assert response.json()["results"][0]["caller"] == "******5678"
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.VIEW_PII).exists()


def test_call_detail_shows_the_caller_and_audits_it(api, supervisor):
    call = CallFactory(caller="0312345678")
    inquiry = InquiryFactory(channel="phone", call=call, received_at=call.arrived_at)

    response = api.as_user(supervisor).get(f"/api/calls/{call.call_id}/")

    assert response.status_code == 200
    assert response.json()["caller"] == "0312345678"
    assert response.json()["inquiry"] == inquiry.ref
    event = AuditEvent.objects.get(action=AuditEvent.Action.VIEW_PII)
    assert (event.actor, event.object_type, event.object_id) == (supervisor, "helpdesk.call", str(call.pk))
    assert event.changes == {"fields": ["caller"]}


def test_call_list_filters_by_outcome_and_range(api, agent):
    hit = CallFactory(outcome="queue_abandoned", arrived_at=tokyo(2026, 10, 1, 10, 0))
    CallFactory(outcome="answered", arrived_at=tokyo(2026, 10, 1, 10, 0))
    CallFactory(outcome="queue_abandoned", arrived_at=tokyo(2026, 11, 1, 10, 0))

    response = api.as_user(agent).get(
        "/api/calls/", {"outcome": "queue_abandoned", "arrived_before": "2026-10-31T00:00:00"}
    )

    assert [r["call_id"] for r in response.json()["results"]] == [hit.call_id]


# --- mail ----------------------------------------------------------------------------------


def test_email_list_masks_addresses_and_leaves_bodies_out(api, agent):
    EmailMessageFactory(from_address="hanako@example.org", from_name="佐藤 花子", to_addresses="a@x.jp, b@y.jp")

    row = api.as_user(agent).get("/api/emails/").json()["results"][0]

    assert row["from_address"] == "h***@***.org"
    assert row["from_name"] == "佐＊＊"
    assert row["to_addresses"] == "a***@***.jp, b***@***.jp"
    assert "body_text" not in row
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.VIEW_PII).exists()


def test_email_detail_shows_body_and_addresses_and_audits(api, agent):
    message = EmailMessageFactory(from_address="hanako@example.org", body_text="住所は東京都…")

    response = api.as_user(agent).get(f"/api/emails/{message.pk}/")

    assert response.status_code == 200
    assert response.json()["body_text"] == "住所は東京都…"
    assert response.json()["from_address"] == "hanako@example.org"
    assert "raw" not in response.json()
    event = AuditEvent.objects.get(action=AuditEvent.Action.VIEW_PII)
    assert "body_text" in event.changes["fields"] and "from_address" in event.changes["fields"]


# --- escalations -----------------------------------------------------------------------


def test_escalation_list_filters_open_external_ones(api, agent):
    open_external = EscalationFactory(target="operations_vendor")
    EscalationFactory(target="internal")
    EscalationFactory(target="operations_vendor", returned_at=tokyo(2026, 10, 2, 10, 0))

    response = api.as_user(agent).get(
        "/api/escalations/", {"target": ["operations_vendor", "responsible_section"], "returned": "false"}
    )

    assert [r["id"] for r in response.json()["results"]] == [open_external.pk]


def test_supervisor_records_the_answer_once(api, supervisor):
    escalation = EscalationFactory()
    client = api.as_user(supervisor)

    first = client.post(f"/api/escalations/{escalation.pk}/return/", {"answer": "仕様です"}, format="json")
    again = client.post(f"/api/escalations/{escalation.pk}/return/", {"answer": "再回答"}, format="json")

    assert first.status_code == 200
    assert first.json()["answer"] == "仕様です" and first.json()["returned_at"]
    assert again.status_code == 400
    assert "returned_at" in again.json()["errors"]
    escalation.refresh_from_db()
    assert escalation.answer == "仕様です"


def test_return_needs_an_answer(api, supervisor):
    escalation = EscalationFactory()

    response = api.as_user(supervisor).post(f"/api/escalations/{escalation.pk}/return/", {}, format="json")

    assert response.status_code == 400
    assert "answer" in response.json()["errors"]
    assert Escalation.objects.get(pk=escalation.pk).returned_at is None


# --- complaints ------------------------------------------------------------------------


def test_agent_records_a_complaint_and_supervisor_classifies_it(api, agent, supervisor):
    inquiry = InquiryFactory()

    created = api.as_user(agent).post(
        "/api/complaints/", {"inquiry": inquiry.ref, "description": "説明が不親切"}, format="json"
    )
    assert created.status_code == 201
    assert created.json()["cause"] == "unconfirmed"
    pk = created.json()["id"]

    denied = api.as_user(agent).post(f"/api/complaints/{pk}/classify/", {"cause": "operator_error"}, format="json")
    assert denied.status_code == 403

    classified = api.as_user(supervisor).post(
        f"/api/complaints/{pk}/classify/", {"cause": "operator_error"}, format="json"
    )
    assert classified.status_code == 200
    complaint = Complaint.objects.get(pk=pk)
    assert (complaint.cause, complaint.confirmed_by) == ("operator_error", supervisor)
    assert complaint.confirmed_at is not None


def test_complaint_for_unknown_inquiry_is_400(api, agent):
    response = api.as_user(agent).post("/api/complaints/", {"inquiry": "EG-NOPE"}, format="json")

    assert response.status_code == 400
    assert "inquiry" in response.json()["errors"]


def test_complaint_list_filters_by_cause(api, agent):
    confirmed = ComplaintFactory(cause="operator_error")
    ComplaintFactory()

    response = api.as_user(agent).get("/api/complaints/", {"cause": "operator_error"})

    assert [r["id"] for r in response.json()["results"]] == [confirmed.pk]


# --- security incidents ------------------------------------------------------------------


def test_admin_creates_and_updates_an_incident(api, admin_user):
    client = api.as_user(admin_user)

    created = client.post(
        "/api/security-incidents/",
        {
            "occurred_at": "2026-10-05T14:00:00",
            "detected_at": "2026-10-05T16:00:00",
            "severity": "minor",
            "kind": "personal_information",
            "description": "メール誤送信",
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    assert created.json()["occurred_at"].endswith("+09:00")

    bare = client.patch(f"/api/security-incidents/{pk}/", {"severity": "major"}, format="json")
    assert bare.status_code == 400 and "reason" in bare.json()["errors"]
    assert SecurityIncident.objects.get(pk=pk).severity == "minor"

    updated = client.patch(
        f"/api/security-incidents/{pk}/", {"severity": "major", "reason": "漏えい件数が判明"}, format="json"
    )
    assert updated.status_code == 200
    assert SecurityIncident.objects.get(pk=pk).severity == "major"
    event = AuditEvent.objects.get(object_type="helpdesk.securityincident", action="update")
    assert event.changes["severity"] == {"old": "minor", "new": "major"}
    assert event.changes["reason"] == "漏えい件数が判明"

    described = client.patch(f"/api/security-incidents/{pk}/", {"description": "誤送信1件"}, format="json")
    assert described.status_code == 200  # the description feeds no figure: no reason needed


def test_incident_detected_before_occurred_is_400(api, admin_user):
    response = api.as_user(admin_user).post(
        "/api/security-incidents/",
        {"occurred_at": "2026-10-05T14:00:00", "detected_at": "2026-10-05T13:00:00", "severity": "minor"},
        format="json",
    )

    assert response.status_code == 400
    assert "detected_at" in response.json()["errors"]


def test_reviewer_reads_incidents_without_description(api, reviewer):
    SecurityIncidentFactory(description="〇〇様の住所を誤送信")

    response = api.as_user(reviewer).get("/api/security-incidents/")

    assert response.status_code == 200
    row = response.json()["results"][0]
    assert row["severity"] == "minor"
    assert "description" not in row
    assert "〇〇" not in response.content.decode()
