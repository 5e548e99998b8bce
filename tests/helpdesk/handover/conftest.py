"""A dataset that sets every field of every record to something other than its default, and
helpers to snapshot all of it (by natural keys, so it compares across databases)."""

import datetime as dt
import io
import json

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from helpdesk.models import (
    AgentProfile,
    Attachment,
    CalendarDay,
    Call,
    CannedResponse,
    Complaint,
    EmailMessage,
    Escalation,
    Inquiry,
    InquiryNote,
    SecurityIncident,
    ServiceHours,
)
from tests.factories import (
    CallFactory,
    ComplaintFactory,
    EmailMessageFactory,
    EscalationFactory,
    InquiryFactory,
    PhoneInquiryFactory,
    SecurityIncidentFactory,
    UserFactory,
    tokyo,
)

# Surrogate ids only: created_at / updated_at travel with the records (the KPI's restatement
# report reads them), so they are compared too.
SKIP_FIELDS = {"id"}


def _natural(value):
    if value is None:
        return None
    for attr in ("ref", "call_id", "message_id", "username"):
        if hasattr(value, attr):
            return getattr(value, attr)
    return value.pk


def _row(instance) -> dict:
    out = {}
    for field in instance._meta.concrete_fields:
        if field.name in SKIP_FIELDS:
            continue
        if field.is_relation:
            out[field.name] = _natural(getattr(instance, field.name))
        else:
            value = getattr(instance, field.attname)
            out[field.name] = bytes(value) if isinstance(value, memoryview) else value
    return out


def snapshot() -> dict[str, list[dict]]:
    """Every field (but surrogate ids) of every handed-over record."""
    user_model = get_user_model()
    return {
        "call": sorted((_row(c) for c in Call.objects.all()), key=lambda r: r["call_id"]),
        "email": sorted((_row(m) for m in EmailMessage.objects.all()), key=lambda r: r["message_id"]),
        "attachment": sorted(
            (_row(a) for a in Attachment.objects.select_related("message")),
            key=lambda r: (r["message"], r["filename"]),
        ),
        "inquiry": sorted((_row(i) for i in Inquiry.objects.all()), key=lambda r: r["ref"]),
        "escalation": sorted((_row(e) for e in Escalation.objects.all()), key=lambda r: str(r["handover_key"])),
        "complaint": sorted((_row(c) for c in Complaint.objects.all()), key=lambda r: str(r["handover_key"])),
        "incident": sorted((_row(s) for s in SecurityIncident.objects.all()), key=lambda r: str(r["handover_key"])),
        "service_hours": [_row(h) for h in ServiceHours.objects.order_by("weekday")],
        "calendar_day": [_row(d) for d in CalendarDay.objects.order_by("date")],
        "canned_response": sorted(
            (_row(c) for c in CannedResponse.objects.all()), key=lambda r: (r["title"], r["created_at"])
        ),
        "inquiry_note": sorted(
            (_row(n) for n in InquiryNote.objects.all()), key=lambda r: (r["inquiry"], r["created_at"], r["body"])
        ),
        "user": sorted(user_model.objects.values_list("username", flat=True)),
        "agent_profile": sorted(AgentProfile.objects.values_list("user__username", "pbx_login")),
    }


def empty_database() -> None:
    """What a fresh instance holds: no records, the default opening hours, no users."""
    InquiryNote.objects.all().delete()
    CannedResponse.objects.all().delete()
    Escalation.objects.all().delete()
    Complaint.objects.all().delete()
    Inquiry.objects.all().delete()
    Attachment.objects.all().delete()
    EmailMessage.objects.all().delete()
    Call.objects.all().delete()
    SecurityIncident.objects.all().delete()
    CalendarDay.objects.all().delete()
    AgentProfile.objects.all().delete()
    get_user_model().objects.all().delete()
    ServiceHours.objects.filter(weekday__gte=5).delete()
    ServiceHours.objects.update(opens_at=dt.time(9), closes_at=dt.time(17))


def pytest_generate_tests(metafunc):
    """Every handover test runs through both import paths on PostgreSQL: the bulk one (COPY +
    set-based upsert, its default) and the row-by-row one (SQLite's, and `--row-by-row`). On
    SQLite there is only the row path, so only that variant is generated (never skipped). A
    test that compares both paths itself (`one_import_path`) runs once."""
    if "import_path" not in metafunc.fixturenames:
        return
    from django.conf import settings

    postgres = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    once = metafunc.definition.get_closest_marker("one_import_path") is not None
    paths = ["bulk", "row"] if postgres and not once else ["row"]
    metafunc.parametrize("import_path", paths, indirect=True)


@pytest.fixture(autouse=True)
def import_path(request, settings):
    settings.HELPDESK_HANDOVER_BULK = request.param == "bulk"
    return request.param


def export_text() -> str:
    out = io.StringIO()
    call_command("export_records", stdout=out, stderr=io.StringIO())
    return out.getvalue()


def import_file(path, **kwargs) -> str:
    out = io.StringIO()
    call_command("import_records", str(path), stdout=out, stderr=io.StringIO(), **kwargs)
    return out.getvalue().strip()


def jsonl(*objects) -> str:
    return "".join((o if isinstance(o, str) else json.dumps(o, ensure_ascii=False)) + "\n" for o in objects)


@pytest.fixture
def full_dataset(db):
    """Every record type, every optional field set, including a thread whose reply links to
    the inquiry (a forward reference in the exported file)."""
    op = UserFactory(username="op.sato", first_name="花子", last_name="佐藤")
    sv = UserFactory(username="sv.suzuki")
    admin = UserFactory(username="adm.tanaka")
    AgentProfile.objects.create(user=op, pbx_login="op01")

    ServiceHours.objects.filter(weekday=0).update(opens_at=dt.time(8, 30), closes_at=dt.time(18, 15))
    ServiceHours.objects.update_or_create(weekday=5, defaults={"opens_at": dt.time(10), "closes_at": dt.time(12)})
    CalendarDay.objects.create(
        date=dt.date(2026, 10, 12), kind="open", opens_at=dt.time(9), closes_at=dt.time(12), note="特別開庁"
    )
    CalendarDay.objects.create(date=dt.date(2026, 10, 30), kind="closed", note="臨時休業")

    answered = CallFactory(
        call_id="1727740800.101",
        arrived_at=tokyo(2026, 10, 1, 10, 0, 0) + dt.timedelta(microseconds=123456),
        acw_seconds=95,
        source="asterisk",
        content_hash="ab" * 32,
        queue="egov-main",
        agent="op01",
    )
    CallFactory(call_id="1727740800.102", outcome=Call.Outcome.OUT_OF_HOURS, arrived_at=tokyo(2026, 10, 1, 20, 0))
    CallFactory(call_id="1727740800.103", outcome=Call.Outcome.QUEUE_TIMEOUT, arrived_at=tokyo(2026, 10, 2, 9, 5))
    CallFactory(call_id="1727740800.104", outcome=Call.Outcome.IVR_ABANDONED, in_service_hours=True)

    phone = PhoneInquiryFactory(
        ref="EG-20261001-AAAAAA",
        call=answered,
        status=Inquiry.Status.RESOLVED,
        category="login",
        subject="GビズIDでログインできない",
        resolution="パスワード再設定の手順を案内",
        ministry_guidance=True,
        requester_organization="株式会社サンプル",
        assigned_to=op,
        created_by=op,
        first_answered_at=answered.answered_at,
        wrapup_completed_at=answered.ended_at + dt.timedelta(seconds=95),
        resolved_at=answered.ended_at,
        version=4,
    )
    opening = EmailMessageFactory(
        message_id="<q1@citizen.example.jp>",
        from_name="山田 太郎",
        to_addresses="support@egov-help.example.jp",
        subject="申請の送信エラー",
        body_html="<p>送信できません</p>",
        references="",
        charset_problem=True,
        received_at=tokyo(2026, 10, 3, 9, 0, 5),
        sent_at=tokyo(2026, 10, 3, 8, 59, 58),
        raw="Message-ID: <q1@citizen.example.jp>\r\nSubject: =?ISO-2022-JP?B?GyRCJDMbKEI=?=\r\n\r\n\x1b$B$3\x1b(B\r\n".encode(
            "latin-1"
        ),
    )
    Attachment.objects.create(
        message=opening, filename="error.png", content_type="image/png", size=4, content=b"\x89PNG"
    )
    Attachment.objects.create(
        message=opening, filename="huge.log", content_type="text/plain", size=99_000_000, truncated=True
    )
    email_inquiry = InquiryFactory(
        ref="EG-20261003-BBBBBB",
        channel=Inquiry.Channel.EMAIL,
        source_message=opening,
        received_at=opening.received_at,
        status=Inquiry.Status.ESCALATED,
        assigned_to=sv,
        first_answered_at=tokyo(2026, 10, 3, 11, 0),
    )
    opening.inquiry = email_inquiry
    opening.save()
    EmailMessageFactory(
        message_id="<ack1@egov-help.example.jp>",
        direction=EmailMessage.Direction.OUTBOUND,
        source=EmailMessage.Source.HELPDESK,
        inquiry=email_inquiry,
        in_reply_to=opening.message_id,
        references=opening.message_id,
        is_auto_acknowledgement=True,
        send_status=EmailMessage.SendStatus.SENT,
        send_attempts=2,
        last_send_error="timeout",
        received_at=None,
        sent_at=tokyo(2026, 10, 3, 9, 0, 6),
    )
    EmailMessageFactory(
        message_id="<a1@egov-help.example.jp>",
        direction=EmailMessage.Direction.OUTBOUND,
        source=EmailMessage.Source.HELPDESK,
        inquiry=email_inquiry,
        received_at=None,
        sent_at=tokyo(2026, 10, 3, 11, 0),
    )
    EmailMessageFactory(message_id="<orphan@spam.example>", inquiry=None)
    form = InquiryFactory(ref="EG-20261004-CCCCCC", channel=Inquiry.Channel.FORM, received_at=tokyo(2026, 10, 4, 13, 0))

    EscalationFactory(
        inquiry=email_inquiry,
        target="responsible_section",
        organization="デジタル庁 担当係",
        escalated_at=tokyo(2026, 10, 3, 12, 0),
        returned_at=tokyo(2026, 10, 6, 15, 30),
        note="制度の解釈",
        answer="通知のとおり",
        requested_by=op,
        escalated_by=sv,
    )
    EscalationFactory(inquiry=phone, target="internal", escalated_at=phone.received_at + dt.timedelta(minutes=3))
    ComplaintFactory(
        inquiry=phone,
        cause="operator_error",
        description="説明が不十分",
        recorded_by=op,
        confirmed_by=sv,
        confirmed_at=tokyo(2026, 10, 2, 10, 0),
    )
    ComplaintFactory(inquiry=form)
    SecurityIncidentFactory(severity="major", kind="personal_information", reported_by=admin)
    SecurityIncidentFactory(occurred_at=tokyo(2026, 10, 20, 9, 0), kind="other", description="")

    # Internal notes (their own times: the import keeps them), one by an author whose account
    # is gone (SET_NULL), and canned responses with every field set.
    for inquiry, author, body, at in (
        (
            email_inquiry,
            op,
            "申請者に電話で確認済み。\n送信エラーはブラウザの拡張機能が原因の可能性。",
            tokyo(2026, 10, 3, 9, 30),
        ),
        (email_inquiry, sv, "所管課へエスカレーション予定（デジタル庁）", tokyo(2026, 10, 3, 11, 59)),
        (phone, None, "折り返し不要とのこと", tokyo(2026, 10, 1, 10, 7) + dt.timedelta(microseconds=654321)),
    ):
        note = InquiryNote.objects.create(inquiry=inquiry, author=author, body=body)
        InquiryNote.objects.filter(pk=note.pk).update(created_at=at)
    for title, values, at in (
        (
            "ログインできない（GビズID）",
            {
                "body": "{citizen_name} 様\n\nお問い合わせ（{inquiry_ref}）ありがとうございます。",
                "category": "login",
                "order": 3,
                "created_by": admin,
            },
            tokyo(2026, 9, 1, 9, 0),
        ),
        ("旧案内（使わない）", {"body": "この定型文は廃止しました。", "active": False}, tokyo(2026, 9, 2, 9, 0)),
    ):
        canned = CannedResponse.objects.create(title=title, **values)
        CannedResponse.objects.filter(pk=canned.pk).update(created_at=at, updated_at=at + dt.timedelta(days=7))
    return {"phone": phone, "email": email_inquiry, "form": form}
