"""Replies through the outbox to a real SMTP server on loopback, including an outage."""

import datetime as dt
import email
from email import policy

import pytest
import time_machine

from helpdesk.mail.intake import mail_store
from helpdesk.mail.sender import outbox_backoff, outbox_release_stale, outbox_send, outbox_send_due
from helpdesk.models import AuditEvent, EmailMessage, Inquiry
from tests.factories import PhoneInquiryFactory
from tests.helpdesk.mail import builders as b

TOKYO = dt.timezone(dt.timedelta(hours=9))
NOW = dt.datetime(2026, 10, 1, 13, 0, tzinfo=TOKYO)
pytestmark = pytest.mark.django_db


def _reply(api, agent, inquiry, capture, body="ご連絡ありがとうございます。①の手順をお試しください。"):
    with capture(execute=True):
        return api.as_user(agent).post(f"/api/inquiries/{inquiry.ref}/reply/", {"body": body}, format="json")


@time_machine.travel(NOW, tick=False)
def test_reply_is_stored_sent_once_and_threaded(api, agent, question, smtp_server, django_capture_on_commit_callbacks):
    response = _reply(api, agent, question, django_capture_on_commit_callbacks)

    assert response.status_code == 202, response.content
    stored = EmailMessage.objects.get(pk=response.json()["id"])
    assert stored.send_status == "sent" and stored.send_attempts == 1
    assert len(smtp_server.inbox.envelopes) == 1
    envelope = smtp_server.inbox.envelopes[0]
    assert envelope.mail_from == "support@e-gov-help.example.jp"
    assert envelope.rcpt_tos == ["taro@example.com"]
    sent = email.message_from_bytes(envelope.original_content, policy=policy.default)
    assert sent["Message-ID"] == stored.message_id
    assert sent["In-Reply-To"] == "<q1@example.com>"
    assert sent["References"].split() == ["<older@example.com>", "<q1@example.com>"]
    assert str(sent["Subject"]) == f"Re: マイナポータル連携について [{question.ref}]"
    assert "subject: re: =?utf-8?b?" in envelope.original_content.decode("ascii").lower()
    assert envelope.original_content.isascii()  # 7-bit clean: UTF-8 in base64 / RFC 2047
    assert sent.get_content().strip() == "ご連絡ありがとうございます。①の手順をお試しください。"
    assert sent["Auto-Submitted"] is None
    question.refresh_from_db()
    assert stored.sent_at == NOW and question.first_answered_at == NOW
    assert bytes(stored.raw) == envelope.original_content  # what was sent is what is kept
    assert AuditEvent.objects.filter(object_type="helpdesk.emailmessage", action="send").count() == 1


def test_smtp_outage_keeps_it_queued_retries_with_backoff_and_delivers_once(
    api, agent, question, smtp_server, django_capture_on_commit_callbacks
):
    smtp_server.stop()
    with time_machine.travel(NOW, tick=False):
        response = _reply(api, agent, question, django_capture_on_commit_callbacks)
        assert response.status_code == 202
        stored = EmailMessage.objects.get(pk=response.json()["id"])
        assert stored.send_status == "failed" and stored.send_attempts == 1
        assert "Error" in stored.last_send_error or "refused" in stored.last_send_error.lower()
        assert stored.send_next_attempt_at == NOW + dt.timedelta(seconds=60)
        listed = api.as_user(agent).get("/api/mail/outbox/?status=failed").json()
        assert [m["id"] for m in listed] == [stored.pk]
        assert outbox_send_due() == {"sent": 0, "failed": 0, "released": 0}  # not due yet

    with time_machine.travel(NOW + dt.timedelta(seconds=61), tick=False):
        assert outbox_send_due()["failed"] == 1  # still down: second attempt, longer back-off
        stored.refresh_from_db()
        assert stored.send_attempts == 2
        assert stored.send_next_attempt_at == NOW + dt.timedelta(seconds=61 + outbox_backoff(2))
    question.refresh_from_db()
    assert question.first_answered_at is None

    smtp_server.start()
    later = NOW + dt.timedelta(seconds=61 + 121)
    with time_machine.travel(later, tick=False):
        assert outbox_send_due()["sent"] == 1
        assert outbox_send_due() == {"sent": 0, "failed": 0, "released": 0}
        assert outbox_send(pk=stored.pk, force=True) is None  # already sent: never twice
    stored.refresh_from_db()
    assert stored.send_status == "sent" and stored.send_attempts == 3
    assert len(smtp_server.inbox.envelopes) == 1
    question.refresh_from_db()
    assert question.first_answered_at == later


def test_backoff_is_exponential_and_capped():
    assert [outbox_backoff(n) for n in (1, 2, 3, 4)] == [60, 120, 240, 480]
    assert outbox_backoff(20) == 3600


def test_a_sender_that_died_mid_send_is_not_retried_automatically(question, agent):
    from helpdesk.mail.outbox import mail_reply_create

    with time_machine.travel(NOW, tick=False):
        message = mail_reply_create(inquiry=question, actor=agent, body="回答")
        EmailMessage.objects.filter(pk=message.pk).update(send_status="sending", send_claimed_at=NOW)
    with time_machine.travel(NOW + dt.timedelta(minutes=16), tick=False):
        assert outbox_release_stale() == 1
        message.refresh_from_db()
        assert message.send_status == "failed" and message.send_next_attempt_at is None
        assert outbox_send_due()["sent"] == 0


def test_requeue_after_failure(api, agent, question, smtp_server, django_capture_on_commit_callbacks):
    from helpdesk.mail.outbox import mail_reply_create

    message = mail_reply_create(inquiry=question, actor=agent, body="回答")
    EmailMessage.objects.filter(pk=message.pk).update(send_status="failed", send_next_attempt_at=None)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.as_user(agent).post(f"/api/mail/outbox/{message.pk}/requeue/")
    assert response.status_code == 202
    message.refresh_from_db()
    assert message.send_status == "sent" and len(smtp_server.inbox.envelopes) == 1


def test_acknowledgement_is_auto_and_never_an_answer(question, smtp_server, django_capture_on_commit_callbacks):
    from helpdesk.mail.outbox import outbox_acknowledge

    with django_capture_on_commit_callbacks(execute=True):
        ack = outbox_acknowledge(inquiry=question, in_reply_to=question.source_message)
    ack.refresh_from_db()
    assert ack.send_status == "sent" and ack.is_auto_acknowledgement
    sent = email.message_from_bytes(smtp_server.inbox.envelopes[0].original_content, policy=policy.default)
    assert sent["Auto-Submitted"] == "auto-replied" and sent["X-EG-Auto-Ack"] == "1"
    assert question.ref in sent.get_content()
    question.refresh_from_db()
    assert question.first_answered_at is None


def test_acknowledgement_on_intake_per_setting(settings, django_capture_on_commit_callbacks):
    settings.HELPDESK_SEND_ACKNOWLEDGEMENT = True
    from django.core import mail as django_mail

    with django_capture_on_commit_callbacks(execute=True):
        inquiry = mail_store(raw=b.message(message_id="<n@x>"), source="imap").message.inquiry
        mail_store(raw=b.message(message_id="<f@x>"), source="file")  # backfill is never acknowledged
    assert len(django_mail.outbox) == 1
    assert inquiry.messages.filter(is_auto_acknowledgement=True, send_status="sent").count() == 1


def test_reply_permissions_and_channels(api, reviewer, agent, question):
    assert api.as_user(reviewer).post(f"/api/inquiries/{question.ref}/reply/", {"body": "x"}).status_code == 403
    phone = PhoneInquiryFactory()
    response = api.as_user(agent).post(f"/api/inquiries/{phone.ref}/reply/", {"body": "x"}, format="json")
    assert response.status_code == 400 and "inquiry" in response.json()["errors"]
    assert api.as_user(agent).post("/api/inquiries/EG-20260101-XXXXXX/reply/", {"body": "x"}).status_code == 404
    assert api.as_user(agent).post(f"/api/inquiries/{question.ref}/reply/", {}, format="json").status_code == 400
    assert api.as_user(reviewer).get("/api/mail/outbox/").status_code == 403
    assert Inquiry.objects.get(pk=question.pk).messages.filter(direction="outbound").count() == 0


def test_the_outbox_list_masks_recipients_for_every_role(api, agent, question, django_capture_on_commit_callbacks):
    """The list showed any agent the citizens' full addresses, unaudited."""
    with time_machine.travel(NOW, tick=False):
        _reply(api, agent, question, django_capture_on_commit_callbacks)
    response = api.as_user(agent).get("/api/mail/outbox/")
    assert response.status_code == 200
    [row] = response.json()
    full = EmailMessage.objects.get(pk=row["id"]).to_addresses
    assert full and full not in response.content.decode()
    assert row["to_addresses"].startswith(full[0]) and "***@***." in row["to_addresses"]
