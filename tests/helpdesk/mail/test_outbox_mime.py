"""The outbox's message builder: its policy (the sender's From parsed and folded once per
process, bench/README.md "Writes") gives the same bytes as email.policy.SMTP."""

import datetime as dt
import uuid
from email.policy import SMTP
from unittest import mock

import pytest
import time_machine
from django.test import override_settings

from helpdesk.mail import outbox
from helpdesk.models import EmailMessage

NOW = dt.datetime(2026, 10, 1, 13, 0, tzinfo=dt.timezone(dt.timedelta(hours=9)))
REFS = " ".join(f"<m{n}.0123456789abcdef@mail.example.jp>" for n in range(25))
CASES = [
    # (subject, to, parent's references, auto-ack)
    ("Re: 電子証明書の有効期限が切れていると表示される [EG-20261001-ABCDEF]", "taro@example.jp", None, False),
    ("【受付】マイナンバーカードで署名できない [EG-20261001-ABCDEF]", "山田 <yamada@example.co.jp>", REFS, True),
    ("Re: plain ascii subject that is long enough to need folding at seventy-eight columns", "a@b.jp", "", False),
]


def _build(subject: str, to: str, references: str | None, auto_ack: bool) -> bytes:
    parent = None
    if references is not None:
        parent = EmailMessage(message_id="<parent.1@mail.example.jp>", references=references)
    with time_machine.travel(NOW, tick=False), mock.patch.object(outbox.uuid, "uuid4", return_value=uuid.UUID(int=7)):
        mime, _ = outbox._build_mime(
            to=to, subject=subject, body="お問い合わせありがとうございます。\n", parent=parent, auto_ack=auto_ack,
            ref="EG-20261001-ABCDEF",
        )  # fmt: skip
        return mime.as_bytes()


@pytest.mark.parametrize(("subject", "to", "references", "auto_ack"), CASES)
def test_the_outbox_policy_writes_the_bytes_smtp_writes(subject, to, references, auto_ack):
    with mock.patch.object(outbox, "OUTBOX_POLICY", SMTP):
        expected = _build(subject, to, references, auto_ack)
    first = _build(subject, to, references, auto_ack)
    again = _build(subject, to, references, auto_ack)  # the From header now from the cache
    assert first == expected and again == expected
    assert b"From: =?utf-8?b?" in expected and expected.isascii()


@pytest.mark.parametrize("address", ["support@e-gov-help.example.jp", "desk@another.example.go.jp"])
def test_another_sender_address_is_its_own_header(address):
    with override_settings(HELPDESK_FROM_ADDRESS=address):
        with mock.patch.object(outbox, "OUTBOX_POLICY", SMTP):
            expected = _build(*CASES[0])
        assert _build(*CASES[0]) == expected
    assert f"<{address}>".encode() in expected


def test_only_the_constant_headers_are_cached():
    outbox._folded.cache_clear()
    outbox._store_parsed.cache_clear()
    for case in CASES:
        _build(*case)
    assert outbox._store_parsed.cache_info().currsize == 1  # one sender, three messages
    assert outbox._folded.cache_info().currsize == 1
    assert outbox._folded.cache_info().hits == 2
