"""The API changes contract figures only through a reasoned correction, and replies and
escalation answers move an inquiry's status (the rules are the services')."""

import datetime as dt

import pytest

from helpdesk.models import AuditEvent, Inquiry
from tests.factories import EscalationFactory, InquiryFactory, PhoneInquiryFactory, tokyo

pytestmark = pytest.mark.django_db
URL = "/api/inquiries/"


def test_supervisor_corrects_received_time_with_a_reason(api, supervisor):
    inquiry = InquiryFactory(received_at=tokyo(2026, 10, 1, 10, 0))

    response = api.as_user(supervisor).post(
        f"{URL}{inquiry.ref}/corrections/",
        {"received_at": "2026-10-01T09:30:00+09:00", "reason": "受信時刻の取り違え", "version": 1},
        format="json",
    )

    assert response.status_code == 200, response.content
    assert response["ETag"] == '"v2"'
    inquiry.refresh_from_db()
    assert inquiry.received_at == tokyo(2026, 10, 1, 9, 30)
    event = AuditEvent.objects.get(action="update", object_id=inquiry.ref)
    assert dt.datetime.fromisoformat(event.changes["received_at"]["old"]) == tokyo(2026, 10, 1, 10, 0)
    assert event.changes["reason"] == "受信時刻の取り違え"


def test_correction_without_reason_or_by_an_agent_is_refused(api, agent, supervisor):
    inquiry = InquiryFactory()
    body = {"channel": "form"}

    no_reason = api.as_user(supervisor).post(f"{URL}{inquiry.ref}/corrections/", body, format="json")
    by_agent = api.as_user(agent).post(f"{URL}{inquiry.ref}/corrections/", {**body, "reason": "x"}, format="json")
    other_field = api.as_user(supervisor).post(
        f"{URL}{inquiry.ref}/corrections/", {"subject": "件名", "reason": "x"}, format="json"
    )

    assert no_reason.status_code == 400 and "reason" in no_reason.json()["errors"]
    assert by_agent.status_code == 403
    assert other_field.status_code == 400 and "subject" in other_field.json()["errors"]
    inquiry.refresh_from_db()
    assert (inquiry.channel, inquiry.version) == ("email", 1)


def test_correction_moving_a_call_off_the_phone_channel_names_call_id(api, supervisor):
    inquiry = PhoneInquiryFactory()

    response = api.as_user(supervisor).post(
        f"{URL}{inquiry.ref}/corrections/", {"channel": "email", "reason": "チャネル誤り"}, format="json"
    )

    assert response.status_code == 400
    assert "call_id" in response.json()["errors"]


def test_patch_of_ministry_guidance_needs_a_reason(api, agent):
    inquiry = InquiryFactory()
    client = api.as_user(agent)

    bare = client.patch(f"{URL}{inquiry.ref}/", {"ministry_guidance": True, "version": 1}, format="json")
    reasoned = client.patch(
        f"{URL}{inquiry.ref}/", {"ministry_guidance": True, "version": 1, "reason": "案内の記録漏れ"}, format="json"
    )

    assert bare.status_code == 400 and "reason" in bare.json()["errors"]
    assert reasoned.status_code == 200 and reasoned.json()["ministry_guidance"] is True


def test_create_with_a_reviewer_as_assignee_is_400(api, agent, reviewer):
    response = api.as_user(agent).post(URL, {"channel": "form", "assigned_to": reviewer.pk}, format="json")

    assert response.status_code == 400
    assert "assigned_to" in response.json()["errors"]
    assert not Inquiry.objects.exists()


def test_reply_through_the_api_moves_the_inquiry_to_answered(api, agent):
    inquiry = InquiryFactory(requester_email="taro@example.com")

    response = api.as_user(agent).post(f"{URL}{inquiry.ref}/reply/", {"body": "ご案内します。"}, format="json")

    assert response.status_code == 202
    detail = api.as_user(agent).get(f"{URL}{inquiry.ref}/").json()
    assert detail["status"] == "answered" and detail["version"] == 2


def test_escalation_answer_through_the_api_moves_the_inquiry_on(api, supervisor):
    inquiry = InquiryFactory(status=Inquiry.Status.ESCALATED)
    escalation = EscalationFactory(inquiry=inquiry, escalated_at=inquiry.received_at + dt.timedelta(hours=1))

    response = api.as_user(supervisor).post(f"/api/escalations/{escalation.pk}/return/", {"answer": "回答"})

    assert response.status_code == 200
    inquiry.refresh_from_db()
    assert inquiry.status == Inquiry.Status.IN_PROGRESS


def test_wrapup_of_an_email_inquiry_is_409(api, agent):
    inquiry = InquiryFactory(channel="email")

    response = api.as_user(agent).post(f"{URL}{inquiry.ref}/wrapup/", {}, format="json")

    assert response.status_code == 409


def test_outbox_list_with_an_unknown_status_is_400_naming_it(api, agent):
    response = api.as_user(agent).get("/api/mail/outbox/", {"status": "lost"})

    assert response.status_code == 400
    assert "status" in response.json()["errors"]
