"""The inquiry page's actions: each calls the existing service; bad input is a form error
(400), a stale version a 409 that shows what changed and keeps the agent's text."""

import pytest

from faq.models import FaqUsage
from helpdesk.inquiries.services import inquiry_assign, inquiry_transition
from helpdesk.models import AuditEvent, EmailMessage, Escalation, Inquiry, InquiryNote
from tests.factories import InquiryFactory

pytestmark = pytest.mark.usefixtures("frozen")
HTMX = {"HTTP_HX_REQUEST": "true"}


def post(client, inquiry, action, data, **extra):
    return client.post(f"/desk/inquiries/{inquiry.ref}/{action}/", data, **extra)


def test_take_assigns_the_inquiry_to_me(client, agent):
    inquiry = InquiryFactory(status="new")
    client.force_login(agent)

    response = post(client, inquiry, "assign", {"assignee": "me", "version": inquiry.version})

    assert response.status_code == 302
    assert response["Location"] == f"/desk/inquiries/{inquiry.ref}/"
    inquiry.refresh_from_db()
    assert inquiry.assigned_to == agent and inquiry.version == 2


def test_an_htmx_action_answers_with_a_redirect_header(client, agent):
    inquiry = InquiryFactory(status="new")
    client.force_login(agent)

    response = post(client, inquiry, "assign", {"assignee": "me", "version": inquiry.version}, **HTMX)

    assert response.status_code == 204
    assert response["HX-Redirect"] == f"/desk/inquiries/{inquiry.ref}/"


def test_an_agent_cannot_assign_someone_else(client, agent, other_agent):
    inquiry = InquiryFactory(status="new")
    client.force_login(agent)

    response = post(client, inquiry, "assign", {"assignee": str(other_agent.pk), "version": 1}, **HTMX)

    assert response.status_code == 403
    assert "SVのみ" in response.content.decode()
    inquiry.refresh_from_db()
    assert inquiry.assigned_to is None


@pytest.mark.parametrize("value", ["someone", "99999999999999999999", "１２", ""])
def test_a_bad_assignee_is_a_400(client, supervisor, value):
    inquiry = InquiryFactory(status="new")
    client.force_login(supervisor)

    response = post(client, inquiry, "assign", {"assignee": value, "version": 1}, **HTMX)

    assert response.status_code == 400
    inquiry.refresh_from_db()
    assert inquiry.assigned_to is None


def test_a_supervisor_assigns_an_agent(client, supervisor, agent):
    inquiry = InquiryFactory(status="new")
    client.force_login(supervisor)

    post(client, inquiry, "assign", {"assignee": str(agent.pk), "version": 1})

    inquiry.refresh_from_db()
    assert inquiry.assigned_to == agent


def test_reply_queues_the_answer_marks_answered_and_records_the_faq_used(client, agent, mail_inquiry, published_faq):
    client.force_login(agent)

    response = post(
        client,
        mail_inquiry,
        "reply",
        {
            "body": "到達番号の有無を確認し、再送信してください。",
            "faq_entry": published_faq.pk,
            "version": mail_inquiry.version,
        },
    )

    assert response.status_code == 302
    sent = EmailMessage.objects.get(inquiry=mail_inquiry, direction=EmailMessage.Direction.OUTBOUND)
    assert sent.send_status in (EmailMessage.SendStatus.QUEUED, EmailMessage.SendStatus.SENT)
    assert "再送信してください" in sent.body_text
    mail_inquiry.refresh_from_db()
    assert mail_inquiry.status == Inquiry.Status.ANSWERED
    assert FaqUsage.objects.filter(inquiry=mail_inquiry, entry=published_faq, recorded_by=agent).exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"body": "   ", "version": 2}, "本文を入力してください"),
        ({"body": "回答", "version": "abc"}, "version"),
        ({"body": "回答"}, "version"),
        ({"body": "回答", "version": 2, "faq_entry": "999999"}, "faq_entry"),
    ],
)
def test_bad_reply_input_is_a_400_form_error(client, agent, mail_inquiry, data, message):
    client.force_login(agent)

    response = post(client, mail_inquiry, "reply", data, **HTMX)

    assert response.status_code == 400
    body = response.content.decode()
    assert 'id="reply-form"' in body
    assert message in body or "errorlist" in body
    assert not EmailMessage.objects.filter(direction=EmailMessage.Direction.OUTBOUND).exists()


def test_a_stale_reply_is_a_409_showing_what_changed_and_keeping_the_text(client, agent, supervisor, mail_inquiry):
    read_version = mail_inquiry.version
    inquiry_transition(inquiry=mail_inquiry, actor=supervisor, status=Inquiry.Status.ESCALATED)
    client.force_login(agent)

    response = post(
        client, mail_inquiry, "reply", {"body": "長い回答文をここに書きました。", "version": read_version}, **HTMX
    )

    assert response.status_code == 409
    body = response.content.decode()
    assert "長い回答文をここに書きました。" in body  # never lost
    assert "sv1" in body and "状態: 対応中 → エスカレーション中" in body  # what changed, and who
    assert f'name="version" value="{read_version + 1}"' in body  # sending again applies on top
    assert not EmailMessage.objects.filter(direction=EmailMessage.Direction.OUTBOUND).exists()
    again = post(client, mail_inquiry, "reply", {"body": "長い回答文をここに書きました。", "version": read_version + 1})
    assert again.status_code == 302


def test_a_stale_status_change_without_htmx_shows_the_form_on_its_own_page(client, agent, supervisor, mail_inquiry):
    inquiry_assign(inquiry=mail_inquiry, actor=supervisor, assignee=supervisor)
    client.force_login(agent)

    response = post(client, mail_inquiry, "status", {"status": "resolved", "version": 1})

    assert response.status_code == 409
    body = response.content.decode()
    assert "他のユーザーによって更新されています" in body and "担当: agent1 → sv1" in body
    mail_inquiry.refresh_from_db()
    assert mail_inquiry.status == Inquiry.Status.IN_PROGRESS


def test_reply_on_a_phone_inquiry_is_refused_plainly(client, agent, phone_inquiry):
    client.force_login(agent)

    response = post(client, phone_inquiry, "reply", {"body": "回答", "version": phone_inquiry.version}, **HTMX)

    assert response.status_code == 400
    assert "メール・フォームの問い合わせにのみ返信できます" in response.content.decode()


def test_note_is_added_to_the_thread_and_audited_without_its_text(client, agent, mail_inquiry):
    client.force_login(agent)

    response = post(client, mail_inquiry, "note", {"body": "折り返し電話の予定"})

    assert response.status_code == 302
    note = InquiryNote.objects.get(inquiry=mail_inquiry)
    assert note.author == agent and note.body == "折り返し電話の予定"
    row = AuditEvent.objects.get(object_type="helpdesk.inquirynote")
    assert "折り返し" not in str(row.changes)
    mail_inquiry.refresh_from_db()
    assert mail_inquiry.version == 1  # a note does not change the inquiry


def test_an_empty_note_is_a_400(client, agent, mail_inquiry):
    client.force_login(agent)
    assert post(client, mail_inquiry, "note", {"body": ""}, **HTMX).status_code == 400
    assert not InquiryNote.objects.exists()


def test_status_transition_moves_along_the_workflow(client, agent, mail_inquiry):
    client.force_login(agent)

    post(client, mail_inquiry, "status", {"status": "resolved", "version": 1})

    mail_inquiry.refresh_from_db()
    assert mail_inquiry.status == Inquiry.Status.RESOLVED and mail_inquiry.resolved_at is not None


def test_a_transition_the_workflow_forbids_is_a_409_naming_both_states(client, agent):
    inquiry = InquiryFactory(status="closed")
    client.force_login(agent)

    response = post(client, inquiry, "status", {"status": "answered", "version": 1}, **HTMX)

    assert response.status_code == 409
    assert "「完了」から「回答済」へは変更できません" in response.content.decode()


def test_an_unknown_status_is_a_400(client, agent, mail_inquiry):
    client.force_login(agent)
    assert post(client, mail_inquiry, "status", {"status": "gone", "version": 1}, **HTMX).status_code == 400


def test_an_agent_requests_an_internal_escalation(client, agent, mail_inquiry):
    client.force_login(agent)

    response = post(client, mail_inquiry, "escalate", {"target": "internal", "note": "料金の判断をお願いします"})

    assert response.status_code == 302
    escalation = Escalation.objects.get(inquiry=mail_inquiry)
    assert escalation.target == Escalation.Target.INTERNAL and escalation.requested_by == agent
    mail_inquiry.refresh_from_db()
    assert mail_inquiry.status == Inquiry.Status.ESCALATED


def test_an_agent_cannot_hand_over_outside_the_contractor(client, agent, mail_inquiry):
    client.force_login(agent)

    response = post(client, mail_inquiry, "escalate", {"target": "responsible_section", "note": "x"}, **HTMX)

    assert response.status_code == 400
    assert not Escalation.objects.exists()


def test_a_supervisor_hands_over_to_the_responsible_section(client, supervisor, mail_inquiry):
    client.force_login(supervisor)

    post(client, mail_inquiry, "escalate", {"target": "responsible_section", "organization": "主管係", "note": "x"})

    assert Escalation.objects.get().target == Escalation.Target.RESPONSIBLE_SECTION


def test_wrapup_records_completes_and_resolves_in_one_step(client, agent, phone_inquiry):
    client.force_login(agent)

    response = post(
        client,
        phone_inquiry,
        "wrapup",
        {
            "category": "login",
            "subject": "ログインできない",
            "resolution": "パスワード再設定を案内",
            "resolve": "on",
            "version": phone_inquiry.version,
        },  # fmt: skip
    )

    assert response.status_code == 302
    phone_inquiry.refresh_from_db()
    assert phone_inquiry.wrapup_completed_at is not None
    assert phone_inquiry.status == Inquiry.Status.RESOLVED
    assert phone_inquiry.resolution == "パスワード再設定を案内" and phone_inquiry.category == "login"


def test_wrapup_of_a_mail_inquiry_is_refused_and_nothing_is_saved(client, agent, mail_inquiry):
    client.force_login(agent)

    response = post(client, mail_inquiry, "wrapup", {"category": "x", "version": 1}, **HTMX)

    assert response.status_code == 409
    assert "後処理は通話に紐づく電話の問い合わせにのみ記録できます" in response.content.decode()
    mail_inquiry.refresh_from_db()
    assert mail_inquiry.category != "x" and mail_inquiry.version == 1


def test_actions_answer_get_with_405(client, agent, mail_inquiry):
    client.force_login(agent)
    assert client.get(f"/desk/inquiries/{mail_inquiry.ref}/reply/").status_code == 405
