"""The outbox's message builder: its policy (the sender's From parsed and folded once per
process, bench/README.md "Writes") gives the same bytes as email.policy.SMTP; a reply's
response and the outbox rows, built directly, are DRF's generic rows; a reply leaves the
same audit rows."""

import datetime as dt
import uuid
from email.policy import SMTP
from unittest import mock

import pytest
import time_machine
from django.test import override_settings
from django.utils import timezone

from helpdesk.mail import outbox
from helpdesk.mail.api import OutboxSerializer
from helpdesk.mail.outbox import mail_reply_create
from helpdesk.models import AuditEvent, EmailMessage
from tests.factories import EmailMessageFactory

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


@time_machine.travel(NOW, tick=False)
def test_a_reply_returns_the_generic_outbox_row_and_leaves_the_same_audit_rows(api, agent, question):
    before = AuditEvent.objects.count()

    response = api.as_user(agent).post(f"/api/inquiries/{question.ref}/reply/", {"body": "回答です。"}, format="json")

    assert response.status_code == 202, response.content
    stored = EmailMessage.objects.select_related("inquiry").get(pk=response.json()["id"])
    assert response.json() == OutboxSerializer().generic_representation(stored)
    assert response.json()["to_addresses"] == "t***@***.com" and response.json()["send_status"] == "queued"
    assert stored.in_reply_to == "<q1@example.com>"
    assert stored.references == "<older@example.com> <q1@example.com>"  # from the parent's three columns
    assert stored.subject == f"Re: マイナポータル連携について [{question.ref}]"
    rows = AuditEvent.objects.order_by("id")[before:].values_list(
        "action", "object_type", "object_id", "changes", "note"
    )
    assert list(rows) == [
        (
            "create", "helpdesk.emailmessage", str(stored.pk),
            {"direction": "outbound", "inquiry": question.ref, "auto_ack": False, "send_status": "queued"}, "",
        ),
        ("transition", "helpdesk.inquiry", question.ref, {"status": {"old": "new", "new": "answered"}}, "reply queued"),
    ]  # fmt: skip


def test_outbox_rows_are_the_generic_rows_in_any_time_zone(api, agent, question):
    with time_machine.travel(NOW, tick=False):
        mail_reply_create(inquiry=question, actor=agent, body="回答")
        EmailMessage.objects.filter(direction="outbound").update(last_send_error="SMTP 451", send_attempts=2)
    orphan = EmailMessageFactory(
        direction="outbound", send_status="failed", to_addresses="a@example.jp, b@example.jp", inquiry=None
    )
    for zone in ("Asia/Tokyo", "UTC"):
        with timezone.override(zone):
            rows = api.as_user(agent).get("/api/mail/outbox/").json()
            stored = EmailMessage.objects.filter(pk__in=[r["id"] for r in rows]).select_related("inquiry")
            generic = {m.pk: OutboxSerializer().generic_representation(m) for m in stored}
            assert rows == [generic[r["id"]] for r in rows]
    by_id = {r["id"]: r for r in rows}
    assert by_id[orphan.pk]["inquiry"] is None and by_id[orphan.pk]["to_addresses"] == "a***@***.jp, b***@***.jp"
    assert question.ref in {r["inquiry"] for r in rows} and len(rows) == 2  # the reply, the orphan
