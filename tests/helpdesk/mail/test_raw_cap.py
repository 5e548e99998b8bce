"""An attachment over HELPDESK_ATTACHMENT_MAX_BYTES is not kept in the stored raw copy
either: headers and text parts stay, a short note names what was dropped."""

import base64
import email
from email import policy

import pytest

from helpdesk.mail.intake import mail_store
from helpdesk.mail.parse.message import parse_message
from helpdesk.models import AuditEvent, EmailMessage

pytestmark = pytest.mark.django_db

BIG = 300_000  # bytes of the attachment that is too big (the limit is set to 100 KB below)


def _message(crlf: bool = True) -> bytes:
    big = base64.encodebytes(b"%PDF" + b"\x00" * (BIG - 4)).decode()
    small = base64.encodebytes(b"small, kept").decode()
    text = base64.encodebytes("e-Govの申請について質問です。\n".encode()).decode()
    body = f"""From: =?UTF-8?B?{base64.b64encode("山田".encode()).decode()}?= <taro@example.jp>
To: support@example.go.jp
Subject: =?UTF-8?B?{base64.b64encode("申請の件".encode()).decode()}?=
Message-ID: <big-attachment@example.jp>
Date: Thu, 01 Oct 2026 09:00:00 +0900
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="BOUNDARY"

--BOUNDARY
Content-Type: text/plain; charset="utf-8"
Content-Transfer-Encoding: base64

{text}
--BOUNDARY
Content-Type: application/pdf; name="申請書.pdf"
Content-Disposition: attachment; filename="scan.pdf"
Content-Transfer-Encoding: base64

{big}
--BOUNDARY
Content-Type: text/csv; name="list.csv"
Content-Disposition: attachment; filename="list.csv"
Content-Transfer-Encoding: base64

{small}
--BOUNDARY--
"""
    raw = body.encode("utf-8")  # an 8-bit header parameter, as real mail has
    return raw.replace(b"\n", b"\r\n") if crlf else raw


@pytest.fixture(autouse=True)
def _limit(settings):
    settings.HELPDESK_ATTACHMENT_MAX_BYTES = 100_000
    settings.HELPDESK_SEND_ACKNOWLEDGEMENT = False


def test_the_stored_raw_drops_the_attachment_that_was_not_kept():
    raw = _message()
    assert len(raw) > BIG
    result = mail_store(raw=raw, source=EmailMessage.Source.FILE)
    message = EmailMessage.objects.get(pk=result.message.pk)
    stored = bytes(message.raw)
    assert len(stored) < 5_000  # was > 400 KB

    # Headers as they came, CRLF kept, the text part and the small attachment intact.
    assert stored.startswith(raw[: raw.index(b"MIME-Version")])
    assert b"\r\n" in stored and b"\n" not in stored.replace(b"\r\n", b"")
    again = parse_message(stored, max_attachment_bytes=100_000)
    assert again.message_id == message.message_id == "<big-attachment@example.jp>"
    assert again.body_text == "e-Govの申請について質問です。"
    assert [a.filename for a in again.attachments] == ["scan.pdf.removed.txt", "list.csv"]
    assert again.attachments[1].content == b"small, kept"

    # The dropped part is a short text/plain note naming the file, its type and size.
    notes = [
        p.get_payload(decode=True).decode()
        for p in email.message_from_bytes(stored, policy=policy.compat32).walk()
        if p.get("X-Helpdesk-Dropped")
    ]
    assert len(notes) == 1
    assert "scan.pdf" in notes[0] and "application/pdf" in notes[0] and f"{BIG} bytes" in notes[0]

    # The attachment row still says what it was; the audit event says what was dropped.
    assert [(a.filename, a.truncated, a.size) for a in message.attachments.order_by("id")] == [
        ("scan.pdf", True, BIG),
        ("list.csv", False, 11),
    ]
    event = AuditEvent.objects.get(
        action=AuditEvent.Action.CREATE, object_type="helpdesk.emailmessage", object_id=str(message.pk)
    )
    assert event.changes["dropped_attachments"] == [
        {"filename": "scan.pdf", "content_type": "application/pdf", "size": BIG}
    ]
    assert event.changes["raw_size"] == len(raw)
    assert event.changes["stored_raw_size"] == len(stored)


def test_idempotency_by_message_id_is_unchanged():
    raw = _message(crlf=False)
    first = mail_store(raw=raw, source=EmailMessage.Source.FILE)
    second = mail_store(raw=raw, source=EmailMessage.Source.FILE)
    assert first.created and not second.created
    assert second.message.pk == first.message.pk
    assert EmailMessage.objects.count() == 1
    assert b"\r\n" not in bytes(EmailMessage.objects.get().raw)


def test_a_message_whose_attachments_are_all_kept_is_stored_byte_for_byte(settings):
    settings.HELPDESK_ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024
    raw = _message()
    result = mail_store(raw=raw, source=EmailMessage.Source.FILE)
    assert bytes(EmailMessage.objects.get(pk=result.message.pk).raw) == raw
    event = AuditEvent.objects.get(action=AuditEvent.Action.CREATE, object_type="helpdesk.emailmessage")
    assert "dropped_attachments" not in event.changes
