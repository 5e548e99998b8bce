"""The inquiry page /desk/inquiries/<ref>/: header, the thread in time order, the
requester's history (masked), the audit row of every view of personal information."""

import datetime as dt

import pytest

from helpdesk.escalations.services import escalation_create, escalation_record_return
from helpdesk.inquiries.notes import inquiry_note_add
from helpdesk.inquiries.services import inquiry_transition
from helpdesk.models import Attachment, AuditEvent, EmailMessage, Escalation, Inquiry
from tests.factories import EmailMessageFactory, InquiryFactory, PhoneInquiryFactory
from tests.helpdesk.desk.agent.conftest import NOW

pytestmark = pytest.mark.usefixtures("frozen")


def url(inquiry: Inquiry) -> str:
    return f"/desk/inquiries/{inquiry.ref}/"


def test_the_header_shows_status_channel_assignee_and_due_time(client, agent, mail_inquiry):
    client.force_login(agent)

    response = client.get(url(mail_inquiry))

    assert response.status_code == 200
    body = response.content.decode()
    assert "対応中" in body and "メール" in body and "agent1" in body
    assert response.context["due"].due_at == mail_inquiry.received_at + dt.timedelta(hours=24)
    assert "残り 4時間00分" in body


def test_the_thread_reads_in_time_order_with_every_kind_of_event(client, agent, supervisor, mail_inquiry, time_machine):
    message = mail_inquiry.messages.get()
    Attachment.objects.create(
        message=message, filename="画面.png", content_type="image/png", size=10, content=b"x" * 10
    )
    time_machine.move_to(NOW + dt.timedelta(minutes=1), tick=False)
    inquiry_note_add(inquiry=mail_inquiry, actor=agent, body="SVに確認する")
    time_machine.move_to(NOW + dt.timedelta(minutes=2), tick=False)
    escalation = escalation_create(
        inquiry=mail_inquiry, actor=agent, target=Escalation.Target.INTERNAL, note="確認依頼"
    )
    time_machine.move_to(NOW + dt.timedelta(minutes=3), tick=False)
    escalation_record_return(escalation=escalation, actor=supervisor, answer="再送信で解決します")
    EmailMessageFactory(
        inquiry=mail_inquiry,
        direction=EmailMessage.Direction.OUTBOUND,
        received_at=NOW + dt.timedelta(minutes=4),
        sent_at=NOW + dt.timedelta(minutes=4),
        body_text="再送信をお試しください。",
    )
    client.force_login(agent)

    response = client.get(url(mail_inquiry))

    kinds = [item.kind for item in response.context["thread"]]
    assert kinds == ["mail", "note", "escalation", "status", "escalation_return", "status", "mail"]
    body = response.content.decode()
    assert "<b>失敗</b>" in body and "<script>alert(1)</script>" not in body  # sanitised HTML
    assert f"/api/emails/{message.pk}/attachments/1/" in body  # staff-only, audited download
    assert "エスカレーション中" in body and "再送信で解決します" in body


def test_a_phone_thread_shows_the_call_with_wait_talk_and_outcome(client, agent, phone_inquiry):
    client.force_login(agent)

    response = client.get(url(phone_inquiry))

    assert [item.kind for item in response.context["thread"]] == ["call", "question"]
    call_item = response.context["thread"][0]
    assert call_item.extra == {"wait": 20.0, "talk": 300.0}
    body = response.content.decode()
    assert "応答" in body and "20秒" in body and "300秒" in body


def test_viewing_the_page_leaves_one_view_pii_audit_row(client, agent, mail_inquiry):
    client.force_login(agent)

    client.get(url(mail_inquiry))

    row = AuditEvent.objects.get(action=AuditEvent.Action.VIEW_PII, object_id=mail_inquiry.ref)
    assert row.actor == agent and row.note == "desk inquiry page"
    assert {"requester_name", "requester_email", "messages"} <= set(row.changes["fields"])


def test_the_requester_history_lists_other_inquiries_masked(client, agent, mail_inquiry):
    same_address = InquiryFactory(
        requester_email=mail_inquiry.requester_email,
        requester_phone="",
        received_at=NOW - dt.timedelta(days=40),
        subject="以前の問い合わせ",
    )
    same_phone = PhoneInquiryFactory(requester_phone=mail_inquiry.requester_phone, requester_email="")
    InquiryFactory(requester_email="someone.else@example.com", requester_phone="03-0000-0000")
    client.force_login(agent)

    response = client.get(url(mail_inquiry))

    assert {h["inquiry"].ref for h in response.context["history"]} == {same_address.ref, same_phone.ref}
    history = response.content.decode().split("問い合わせ者の履歴")[1]
    assert "t***@***.com" in history and "*******5678" in history
    assert "taro.yamada@example.com" not in history


def test_the_requester_history_matches_the_same_number_and_address_however_written(client, agent, mail_inquiry):
    mail_inquiry.requester_phone = "03-1234-5678"
    mail_inquiry.save(update_fields=["requester_phone"])
    full_width = PhoneInquiryFactory(requester_phone="０３（１２３４）５６７８", requester_email="")
    international = PhoneInquiryFactory(requester_phone="+81 3 1234 5678", requester_email="")
    capitals = InquiryFactory(requester_email="Taro.Yamada@Example.com", requester_phone="")
    PhoneInquiryFactory(requester_phone="03-1234-5679", requester_email="")
    InquiryFactory(requester_email="taro.yamada@example.co", requester_phone="")
    client.force_login(agent)

    response = client.get(url(mail_inquiry))

    assert {h["inquiry"].ref for h in response.context["history"]} == {full_width.ref, international.ref, capitals.ref}


def test_a_number_that_is_not_one_has_no_history(client, agent, phone_inquiry):
    phone_inquiry.requester_phone, phone_inquiry.requester_email = "非通知", ""
    phone_inquiry.save(update_fields=["requester_phone", "requester_email"])
    PhoneInquiryFactory(requester_phone="非通知", requester_email="")
    client.force_login(agent)

    assert client.get(url(phone_inquiry)).context["history"] == []


def test_an_unknown_reference_is_a_404(client, agent):
    client.force_login(agent)
    assert client.get("/desk/inquiries/EG-00000000-XXXXXX/").status_code == 404


def test_the_reply_box_offers_faq_suggestions_and_canned_responses(client, agent, mail_inquiry, published_faq):
    client.force_login(agent)

    page = client.get(url(mail_inquiry)).content.decode()
    suggestions = client.get(f"{url(mail_inquiry)}faq-suggestions/")

    assert 'id="reply-body"' in page and 'name="body"' in page
    assert "desk/canned/_picker.html" in [t.name for t in client.get(url(mail_inquiry)).templates]
    assert suggestions.status_code == 200
    assert f'data-faq-id="{published_faq.pk}"' in suggestions.content.decode()
    assert "到達番号の有無を確認し" in suggestions.content.decode()


def test_a_phone_inquiry_has_a_wrapup_form_and_no_reply_box(client, agent, phone_inquiry):
    client.force_login(agent)

    body = client.get(url(phone_inquiry)).content.decode()

    assert 'id="wrapup-form"' in body
    assert 'id="reply-body"' not in body


def test_status_changes_come_from_the_audit_trail(client, agent, mail_inquiry):
    inquiry_transition(inquiry=mail_inquiry, actor=agent, status=Inquiry.Status.RESOLVED)
    client.force_login(agent)

    response = client.get(url(mail_inquiry))

    statuses = [item for item in response.context["thread"] if item.kind == "status"]
    assert [(s.extra["old"], s.extra["new"]) for s in statuses] == [("対応中", "解決")]
