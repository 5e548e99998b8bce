"""Storing and threading mail: idempotency, inbound/outbound, first answer, import order."""

import datetime as dt
import itertools

import pytest

from helpdesk.mail.intake import mail_store
from helpdesk.models import AuditEvent, EmailMessage, Inquiry
from tests.factories import InquiryFactory
from tests.helpdesk.mail import builders as b

TOKYO = dt.timezone(dt.timedelta(hours=9))
pytestmark = pytest.mark.django_db

QUESTION = b.message(message_id="<q1@example.com>", date="Thu, 01 Oct 2026 10:00:00 +0900")
AUTO_ACK = b.reply(
    to_message_id="<q1@example.com>",
    message_id="<ack1@e-gov-help.example.jp>",
    date="Thu, 01 Oct 2026 10:00:30 +0900",
    extra_headers={"Auto-Submitted": "auto-replied", "X-EG-Auto-Ack": "1"},
)
ANSWER = b.reply(
    to_message_id="<q1@example.com>", message_id="<a1@e-gov-help.example.jp>", date="Thu, 01 Oct 2026 14:10:00 +0900"
)
FOLLOW_UP = b.message(
    message_id="<q2@example.com>",
    in_reply_to="<a1@e-gov-help.example.jp>",
    references="<q1@example.com> <a1@e-gov-help.example.jp>",
    subject="Re: e-Govの申請について",
    date="Thu, 01 Oct 2026 15:00:00 +0900",
)
SECOND_ANSWER = b.reply(
    to_message_id="<q2@example.com>",
    references="<q1@example.com> <a1@e-gov-help.example.jp> <q2@example.com>",
    message_id="<a2@e-gov-help.example.jp>",
    date="Thu, 01 Oct 2026 16:00:00 +0900",
)


def test_new_inbound_message_opens_an_email_inquiry():
    result = mail_store(raw=QUESTION, source="file")

    inquiry = result.message.inquiry
    assert result.created and result.inquiry_created
    assert inquiry.channel == Inquiry.Channel.EMAIL
    assert inquiry.source_message == result.message
    assert inquiry.received_at == dt.datetime(2026, 10, 1, 10, 0, tzinfo=TOKYO)
    assert inquiry.requester_name == "山田 太郎"
    assert inquiry.requester_email == "taro@example.com"
    assert inquiry.subject == "e-Govの申請について"
    assert inquiry.first_answered_at is None
    assert bytes(result.message.raw) == QUESTION
    assert AuditEvent.objects.filter(object_type="helpdesk.emailmessage", action="create").count() == 1


def test_same_message_id_twice_is_unchanged():
    first = mail_store(raw=QUESTION, source="file")
    again = mail_store(raw=QUESTION.replace(b"\r\n", b"\n"), source="imap")

    assert not again.created and again.message.pk == first.message.pk
    assert EmailMessage.objects.count() == 1 and Inquiry.objects.count() == 1


def test_thread_auto_ack_answer_follow_up():
    inquiry = mail_store(raw=QUESTION, source="file").message.inquiry
    ack = mail_store(raw=AUTO_ACK, source="file").message
    inquiry.refresh_from_db()
    assert ack.direction == "outbound" and ack.is_auto_acknowledgement and ack.inquiry == inquiry
    assert inquiry.first_answered_at is None  # an acknowledgement is not an answer

    answer = mail_store(raw=ANSWER, source="file").message
    follow = mail_store(raw=FOLLOW_UP, source="file").message
    second = mail_store(raw=SECOND_ANSWER, source="file").message

    inquiry.refresh_from_db()
    assert answer.direction == "outbound" and not answer.is_auto_acknowledgement
    assert answer.sent_at == dt.datetime(2026, 10, 1, 14, 10, tzinfo=TOKYO)
    assert follow.direction == "inbound" and follow.inquiry == inquiry
    assert second.inquiry == inquiry
    assert inquiry.first_answered_at == dt.datetime(2026, 10, 1, 14, 10, tzinfo=TOKYO)  # only the first answer
    assert Inquiry.objects.count() == 1


@pytest.mark.parametrize("order", list(itertools.permutations(range(5))))
def test_import_order_does_not_matter(order):
    messages = [QUESTION, AUTO_ACK, ANSWER, FOLLOW_UP, SECOND_ANSWER]

    for i in order:
        mail_store(raw=messages[i], source="file")

    assert Inquiry.objects.count() == 1
    inquiry = Inquiry.objects.get()
    assert set(inquiry.messages.values_list("message_id", flat=True)) == {
        "<q1@example.com>",
        "<ack1@e-gov-help.example.jp>",
        "<a1@e-gov-help.example.jp>",
        "<q2@example.com>",
        "<a2@e-gov-help.example.jp>",
    }
    assert inquiry.received_at == dt.datetime(2026, 10, 1, 10, 0, tzinfo=TOKYO)
    assert inquiry.source_message.message_id == "<q1@example.com>"
    assert inquiry.first_answered_at == dt.datetime(2026, 10, 1, 14, 10, tzinfo=TOKYO)


def test_subject_reference_threads_when_headers_are_missing():
    inquiry = InquiryFactory(received_at=dt.datetime(2026, 10, 1, 9, 0, tzinfo=TOKYO))
    raw = b.message(message_id="<new@example.com>", subject=f"Re: お問い合わせ [{inquiry.ref}]")

    message = mail_store(raw=raw, source="file").message

    assert message.inquiry == inquiry
    assert Inquiry.objects.count() == 1


def test_answer_by_subject_reference_sets_first_answer():
    inquiry = InquiryFactory(received_at=dt.datetime(2026, 10, 1, 9, 0, tzinfo=TOKYO))
    raw = b.message(
        message_id="<ans@e-gov-help.example.jp>",
        from_addr="support@e-gov-help.example.jp",
        subject=f"Re: お問い合わせ [{inquiry.ref}]",
        date="Thu, 01 Oct 2026 11:30:00 +0900",
    )
    mail_store(raw=raw, source="file")
    inquiry.refresh_from_db()
    assert inquiry.first_answered_at == dt.datetime(2026, 10, 1, 11, 30, tzinfo=TOKYO)


def test_inbound_auto_reply_to_nothing_opens_no_inquiry():
    raw = b.message(message_id="<ooo@example.com>", extra_headers={"Auto-Submitted": "auto-replied"})
    message = mail_store(raw=raw, source="file").message
    assert message.is_auto_acknowledgement and message.inquiry is None
    assert Inquiry.objects.count() == 0


def test_outbound_to_nothing_waits_without_inquiry_then_joins():
    answer = mail_store(raw=ANSWER, source="file").message
    assert answer.inquiry is None and Inquiry.objects.count() == 0

    mail_store(raw=QUESTION, source="file")

    answer.refresh_from_db()
    assert answer.inquiry is not None
    assert answer.inquiry.first_answered_at == dt.datetime(2026, 10, 1, 14, 10, tzinfo=TOKYO)


def test_attachments_are_stored_with_cap(settings):
    settings.HELPDESK_ATTACHMENT_MAX_BYTES = 10
    raw = (
        b"From: a@example.com\r\nMessage-ID: <att@x>\r\nSubject: s\r\n"
        b'Content-Type: multipart/mixed; boundary="B"\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nhi\r\n'
        b"--B\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=small.bin\r\n\r\n"
        b"12345\r\n--B\r\nContent-Type: application/zip\r\nContent-Disposition: attachment; filename=big.zip\r\n\r\n"
        b"0123456789ABCDEF\r\n--B--\r\n"
    )
    message = mail_store(raw=raw, source="file").message
    small, big = message.attachments.order_by("id")
    assert (small.filename, bytes(small.content), small.truncated) == ("small.bin", b"12345", False)
    assert (big.filename, big.size, big.content, big.truncated) == ("big.zip", 16, None, True)


def test_invalid_from_address_keeps_message_without_requester_email():
    raw = b.message(message_id="<bad@x>", from_addr="not an address")
    message = mail_store(raw=raw, source="file").message
    assert message.inquiry is not None and message.inquiry.requester_email == ""
