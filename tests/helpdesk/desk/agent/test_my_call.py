""" "My call now": the inquiry for the latest call this agent answered, prefilled, one click."""

import datetime as dt

import pytest

from helpdesk.models import AuditEvent, Inquiry
from tests.factories import CallFactory, PhoneInquiryFactory
from tests.helpdesk.desk.agent.conftest import NOW

pytestmark = pytest.mark.usefixtures("frozen")


def test_every_desk_page_links_to_my_call(client, agent, mail_inquiry):
    client.force_login(agent)
    for page in ("/desk/", f"/desk/inquiries/{mail_inquiry.ref}/"):
        assert 'href="/desk/my-call/"' in client.get(page).content.decode()


def test_the_form_is_prefilled_from_my_latest_answered_call(client, agent, phone_call):
    CallFactory(arrived_at=NOW - dt.timedelta(hours=3), agent="op01")  # an earlier call
    CallFactory(arrived_at=NOW - dt.timedelta(minutes=1), agent="op02")  # someone else's
    client.force_login(agent)

    response = client.get("/desk/my-call/")

    assert response.status_code == 200
    form = response.context["form"]
    assert form.initial == {"call_id": phone_call.call_id, "requester_phone": "0312345678"}
    assert AuditEvent.objects.filter(action="view_pii", object_id=str(phone_call.pk), note="desk my call").exists()


def test_logging_creates_the_phone_inquiry_assigned_to_me(client, agent, phone_call):
    client.force_login(agent)

    response = client.post(
        "/desk/my-call/",
        {
            "call_id": phone_call.call_id,
            "subject": "ログインできない",
            "body": "パスワードを忘れた",
            "requester_phone": "0312345678",
            "ministry_guidance": "on",
        },  # fmt: skip
    )

    inquiry = Inquiry.objects.get(call=phone_call)
    assert response.status_code == 302 and response["Location"] == f"/desk/inquiries/{inquiry.ref}/"
    assert inquiry.channel == "phone" and inquiry.assigned_to == agent and inquiry.created_by == agent
    assert inquiry.received_at == phone_call.arrived_at and inquiry.ministry_guidance is True


def test_a_call_already_logged_opens_its_inquiry(client, agent, phone_call):
    logged = PhoneInquiryFactory(call=phone_call)
    client.force_login(agent)

    response = client.get("/desk/my-call/")

    assert response.status_code == 302 and response["Location"] == f"/desk/inquiries/{logged.ref}/"


def test_logging_twice_leads_to_the_first_inquiry(client, agent, phone_call):
    client.force_login(agent)
    data = {"call_id": phone_call.call_id, "subject": "x"}
    client.post("/desk/my-call/", data)

    response = client.post("/desk/my-call/", data)

    assert response.status_code == 302
    assert Inquiry.objects.filter(call=phone_call).count() == 1


def test_an_agent_without_a_pbx_login_is_told_what_to_do(client, agent):
    client.force_login(agent)

    response = client.get("/desk/my-call/")

    assert response.status_code == 404
    assert "PBXログインが登録されていません" in response.content.decode()


@pytest.mark.parametrize(
    "data", [{"call_id": "pbx-unknown"}, {"subject": "no call id"}, {"call_id": "x", "subject": "あ" * 300}]
)
def test_bad_input_is_a_clear_error_not_a_500(client, agent, phone_call, data):
    client.force_login(agent)

    response = client.post("/desk/my-call/", data)

    assert response.status_code in (400, 404)
    assert not Inquiry.objects.exists()
