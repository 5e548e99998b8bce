"""The Django admin writes through the services: each edit of a helpdesk record leaves an
audit row with old and new values (personal values only as changed); a field that feeds a
contract figure is refused without a correction reason; KPI records cannot be deleted."""

import datetime as dt
import json

import pytest

from helpdesk.models import (
    AgentProfile,
    Attachment,
    AuditEvent,
    CalendarDay,
    Call,
    Complaint,
    EmailMessage,
    Escalation,
    ImportReject,
    ImportRun,
    Inquiry,
    SecurityIncident,
    ServiceHours,
)
from tests.admin_forms import admin_form, post_admin_form
from tests.factories import (
    CallFactory,
    ComplaintFactory,
    EmailMessageFactory,
    EscalationFactory,
    InquiryFactory,
    SecurityIncidentFactory,
    UserFactory,
    tokyo,
)

pytestmark = pytest.mark.django_db

REASON_ERROR = "訂正理由が必要です"


def staff(role: str):
    user = UserFactory(username=f"staff-{role}", roles=[role])
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    return user


@pytest.fixture
def admin_client(client):
    """An admin by role only: not a superuser, so the role's permissions are what is tested."""
    client.force_login(staff("admin"))
    return client


def change_url(obj) -> str:
    return f"/admin/{obj._meta.app_label}/{obj._meta.model_name}/{obj.pk}/change/"


def updates(obj) -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(
            object_type=obj._meta.label_lower, action__in=[AuditEvent.Action.UPDATE, AuditEvent.Action.TRANSITION]
        ).order_by("id")
    )


def instant(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


# One contract-figure edit per admin-editable helpdesk model: (build, form changes, field,
# expected old, expected new). Datetimes are compared as instants.
CONTRACT_EDITS = {
    "call answered_at": (
        lambda: CallFactory(),
        {"answered_at_1": "10:00:55"},
        "answered_at",
        tokyo(2026, 10, 1, 10, 0, 25),
        tokyo(2026, 10, 1, 10, 0, 55),
    ),
    "inquiry channel": (lambda: InquiryFactory(), {"channel": "form"}, "channel", "email", "form"),
    "inquiry received_at": (
        lambda: InquiryFactory(),
        {"received_at_1": "09:30:00"},
        "received_at",
        tokyo(2026, 10, 1, 10, 0),
        tokyo(2026, 10, 1, 9, 30),
    ),
    "email auto-acknowledgement": (
        lambda: EmailMessageFactory(),
        {"is_auto_acknowledgement": "on"},
        "is_auto_acknowledgement",
        False,
        True,
    ),
    "escalation target": (
        lambda: EscalationFactory(),
        {"target": "operations_vendor"},
        "target",
        "responsible_section",
        "operations_vendor",
    ),
    "complaint cause": (
        lambda: ComplaintFactory(),
        {"cause": "operator_error", "confirmed_at_0": "2026-10-02", "confirmed_at_1": "09:00:00"},
        "cause",
        "unconfirmed",
        "operator_error",
    ),
    "incident severity": (lambda: SecurityIncidentFactory(), {"severity": "major"}, "severity", "minor", "major"),
    "service hours": (
        lambda: ServiceHours.objects.get(weekday=0),
        {"closes_at": "18:00:00"},
        "closes_at",
        "17:00:00",
        "18:00:00",
    ),
    "calendar day": (
        lambda: CalendarDay.objects.create(
            date=dt.date(2026, 10, 10), kind="open", opens_at=dt.time(9), closes_at=dt.time(12)
        ),
        {"closes_at": "13:00:00"},
        "closes_at",
        "12:00:00",
        "13:00:00",
    ),
}


def _same(actual, expected) -> bool:
    if isinstance(expected, dt.datetime):
        return instant(actual) == expected
    return actual == expected


@pytest.mark.parametrize("case", list(CONTRACT_EDITS))
def test_contract_field_edit_without_a_reason_is_refused_with_a_form_error(admin_client, case):
    build, changes, field, old, _new = CONTRACT_EDITS[case]
    obj = build()
    model_name = obj._meta.model_name

    response = post_admin_form(admin_client, change_url(obj), model_name, **changes)

    assert response.status_code == 200  # the form again, not a redirect
    assert REASON_ERROR in response.content.decode()
    obj.refresh_from_db()
    value = getattr(obj, field)
    assert _same(value.isoformat() if hasattr(value, "isoformat") else value, old)
    assert updates(obj) == []


@pytest.mark.parametrize("case", list(CONTRACT_EDITS))
def test_contract_field_edit_with_a_reason_is_an_audited_correction(admin_client, case):
    build, changes, field, old, new = CONTRACT_EDITS[case]
    obj = build()
    model_name = obj._meta.model_name

    response = post_admin_form(
        admin_client, change_url(obj), model_name, correction_reason="PBXの時計ずれを訂正", **changes
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    obj.refresh_from_db()
    value = getattr(obj, field)
    assert _same(value.isoformat() if hasattr(value, "isoformat") else value, new)
    [event] = updates(obj)
    assert event.action == AuditEvent.Action.UPDATE
    assert event.note == "訂正: PBXの時計ずれを訂正"
    assert event.actor.username == "staff-admin"
    assert _same(event.changes[field]["old"], old) and _same(event.changes[field]["new"], new)


def test_correcting_an_inquiry_bumps_its_version(admin_client):
    inquiry = InquiryFactory()

    post_admin_form(admin_client, change_url(inquiry), "inquiry", channel="form", correction_reason="受付経路の誤り")

    inquiry.refresh_from_db()
    assert (inquiry.channel, inquiry.version) == ("form", 2)


# Personal values: recorded as changed, never their value (as the services do today).
PERSONAL_EDITS = {
    "inquiry requester_email": (lambda: InquiryFactory(), "requester_email", "new.address@example.org"),
    "call caller": (lambda: CallFactory(), "caller", "0398765432"),
    "email from_address": (lambda: EmailMessageFactory(), "from_address", "other.sender@example.org"),
    "escalation note": (lambda: EscalationFactory(), "note", "山田様 090-9999-0000 へ折返し"),
    "complaint description": (lambda: ComplaintFactory(), "description", "山田様から電話 090-9999-0000"),
    "incident description": (lambda: SecurityIncidentFactory(), "description", "山田様の住所を誤送信"),
}


@pytest.mark.parametrize("case", list(PERSONAL_EDITS))
def test_personal_field_edit_is_audited_without_its_value(admin_client, case):
    build, field, value = PERSONAL_EDITS[case]
    obj = build()

    response = post_admin_form(admin_client, change_url(obj), obj._meta.model_name, **{field: value})

    assert response.status_code == 302  # not a contract field: no reason needed
    obj.refresh_from_db()
    assert getattr(obj, field) == value
    [event] = updates(obj)
    assert event.changes[field] == {"changed": True}
    assert value not in json.dumps(event.changes, ensure_ascii=False)


def test_plain_inquiry_text_is_updated_through_the_inquiry_service(admin_client):
    inquiry = InquiryFactory(subject="旧件名")

    response = post_admin_form(admin_client, change_url(inquiry), "inquiry", subject="新件名")

    assert response.status_code == 302
    inquiry.refresh_from_db()
    assert (inquiry.subject, inquiry.version) == ("新件名", 2)
    [event] = updates(inquiry)
    assert event.changes == {"subject": {"old": "旧件名", "new": "新件名"}}


def test_closing_an_inquiry_goes_through_the_status_rules(admin_client):
    inquiry = InquiryFactory()

    response = post_admin_form(admin_client, change_url(inquiry), "inquiry", status="closed")

    assert response.status_code == 302
    inquiry.refresh_from_db()
    assert inquiry.status == "closed" and inquiry.resolved_at is not None and inquiry.version == 2
    [event] = updates(inquiry)
    assert event.action == AuditEvent.Action.TRANSITION
    assert event.changes == {"status": {"old": "new", "new": "closed"}}


def test_a_move_the_workflow_forbids_is_a_form_error(admin_client):
    inquiry = InquiryFactory(status=Inquiry.Status.CLOSED, resolved_at=tokyo(2026, 10, 2, 9, 0))

    response = post_admin_form(admin_client, change_url(inquiry), "inquiry", status="escalated")

    assert response.status_code == 200
    assert "へは変更できません" in response.content.decode()
    inquiry.refresh_from_db()
    assert inquiry.status == "closed" and updates(inquiry) == []


def test_assigning_through_the_admin_uses_the_assignment_service(admin_client):
    inquiry = InquiryFactory()
    agent = UserFactory(username="op-a", roles=["agent"])

    post_admin_form(admin_client, change_url(inquiry), "inquiry", assigned_to=str(agent.pk))

    inquiry.refresh_from_db()
    assert inquiry.assigned_to == agent and inquiry.version == 2
    [event] = updates(inquiry)
    assert event.changes == {"assigned_to": {"old": None, "new": agent.pk}}


def test_agent_profile_edit_is_audited_with_old_and_new(admin_client):
    profile = AgentProfile.objects.create(user=UserFactory(username="op-b"), pbx_login="op01")

    response = post_admin_form(admin_client, change_url(profile), "agentprofile", pbx_login="op09")

    assert response.status_code == 302
    [event] = updates(profile)
    assert event.changes == {"pbx_login": {"old": "op01", "new": "op09"}}


def test_escalation_added_in_the_admin_moves_the_inquiry_on(admin_client):
    inquiry = InquiryFactory()

    response = post_admin_form(
        admin_client,
        "/admin/helpdesk/escalation/add/",
        "escalation",
        inquiry=str(inquiry.pk),
        target="responsible_section",
        escalated_at_0="2026-10-01",
        escalated_at_1="11:00:00",
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    inquiry.refresh_from_db()
    assert inquiry.status == Inquiry.Status.ESCALATED and inquiry.version == 2
    escalation = Escalation.objects.get(inquiry=inquiry)
    assert escalation.escalated_by.username == "staff-admin"
    assert AuditEvent.objects.filter(action=AuditEvent.Action.CREATE, object_type="helpdesk.escalation").exists()


# --- deletes ------------------------------------------------------------------------------

KPI_RECORDS = {
    "call": lambda: CallFactory(),
    "inquiry": lambda: InquiryFactory(),
    "emailmessage": lambda: EmailMessageFactory(),
    "escalation": lambda: EscalationFactory(),
    "complaint": lambda: ComplaintFactory(),
    "securityincident": lambda: SecurityIncidentFactory(),
}


@pytest.mark.parametrize("model_name", list(KPI_RECORDS))
def test_kpi_records_cannot_be_deleted_in_the_admin(admin_client, model_name):
    obj = KPI_RECORDS[model_name]()
    base = f"/admin/helpdesk/{model_name}/"

    assert admin_client.get(f"{base}{obj.pk}/delete/").status_code == 403
    assert admin_client.post(f"{base}{obj.pk}/delete/", {"post": "yes"}).status_code == 403
    changelist = admin_client.get(base).content.decode()
    assert "delete_selected" not in changelist
    admin_client.post(base, {"action": "delete_selected", "_selected_action": [obj.pk], "post": "yes"})
    assert type(obj).objects.filter(pk=obj.pk).exists()
    assert "deletelink" not in admin_client.get(change_url(obj)).content.decode()


def test_a_special_day_is_removed_only_with_a_reason_and_the_trail_keeps_it(admin_client):
    day = CalendarDay.objects.create(date=dt.date(2026, 10, 10), kind="closed", note="設備点検")
    url = f"/admin/helpdesk/calendarday/{day.pk}/delete/"

    assert 'name="correction_reason"' in admin_client.get(url).content.decode()
    admin_client.post(url, {"post": "yes"})
    assert CalendarDay.objects.filter(pk=day.pk).exists()

    response = admin_client.post(url, {"post": "yes", "correction_reason": "点検日程の取消し"})

    assert response.status_code == 302
    assert not CalendarDay.objects.filter(pk=day.pk).exists()
    event = AuditEvent.objects.get(action=AuditEvent.Action.DELETE, object_type="helpdesk.calendarday")
    assert event.note == "訂正: 点検日程の取消し"
    assert event.changes["kind"] == {"old": "closed", "new": None}


def test_adding_a_special_day_needs_a_reason(admin_client):
    url = "/admin/helpdesk/calendarday/add/"
    fields = {"date": "2026-10-12", "kind": "closed"}

    refused = post_admin_form(admin_client, url, "calendarday", **fields)
    assert refused.status_code == 200 and REASON_ERROR in refused.content.decode()
    assert not CalendarDay.objects.exists()

    post_admin_form(admin_client, url, "calendarday", correction_reason="臨時休業", **fields)
    event = AuditEvent.objects.get(action=AuditEvent.Action.CREATE, object_type="helpdesk.calendarday")
    assert event.changes["kind"] == {"old": None, "new": "closed"} and event.note == "訂正: 臨時休業"


@pytest.mark.parametrize(
    "model_name, build",
    [
        ("importrun", lambda: ImportRun.objects.create(kind="calls", source_name="calls.csv")),
        (
            "attachment",
            lambda: Attachment.objects.create(
                message=EmailMessageFactory(), filename="log.txt", size=3, content=b"abc"
            ),
        ),
        (
            "importreject",
            lambda: ImportReject.objects.create(
                run=ImportRun.objects.create(kind="calls", source_name="c.csv"), source_name="c.csv", reason="bad"
            ),
        ),
    ],
)
def test_import_logs_and_attachments_are_read_only(admin_client, model_name, build):
    obj = build()

    assert admin_client.get(change_url(obj)).status_code == 200
    assert 'name="_save"' not in admin_client.get(change_url(obj)).content.decode()
    assert admin_client.post(change_url(obj), {}).status_code == 403
    assert admin_client.post(f"/admin/helpdesk/{model_name}/{obj.pk}/delete/", {"post": "yes"}).status_code == 403
    assert type(obj).objects.filter(pk=obj.pk).exists()


def test_calls_and_mail_are_not_added_by_hand(admin_client):
    assert admin_client.get("/admin/helpdesk/call/add/").status_code == 403
    assert admin_client.get("/admin/helpdesk/emailmessage/add/").status_code == 403
    assert Call.objects.count() == EmailMessage.objects.count() == 0


def test_a_stale_service_refusal_is_a_message_not_a_traceback(admin_client, monkeypatch):
    from helpdesk import corrections
    from helpdesk.errors import ConflictError

    incident = SecurityIncidentFactory()

    def stale(**kwargs):
        raise ConflictError("この記録は他のユーザーによって更新されています。")

    monkeypatch.setattr(corrections, "record_correct", stale)
    response = post_admin_form(admin_client, change_url(incident), "securityincident", kind="other")

    assert response.status_code == 302
    page = admin_client.get(response.url).content.decode()
    assert "他のユーザーによって更新されています" in page
    incident.refresh_from_db()
    assert incident.kind == SecurityIncident.Kind.PERSONAL_INFORMATION


def test_every_contract_field_named_exists_on_its_model():
    from django.apps import apps

    from helpdesk.corrections import CONTRACT_FIELDS, PERSONAL_FIELDS, contract_fields

    for table in (CONTRACT_FIELDS, PERSONAL_FIELDS):
        for label in table:
            model = apps.get_model(label)
            assert contract_fields(model) <= {f.name for f in model._meta.fields}, label
    assert contract_fields(Complaint) >= {"cause", "confirmed_at"}


def test_records_added_in_the_admin_go_through_their_services(admin_client):
    inquiry = InquiryFactory()

    incident = post_admin_form(
        admin_client,
        "/admin/helpdesk/securityincident/add/",
        "securityincident",
        occurred_at_0="2026-10-05",
        occurred_at_1="14:00:00",
        detected_at_0="2026-10-05",
        detected_at_1="15:00:00",
        severity="major",
        kind="other",
    )
    complaint = post_admin_form(
        admin_client,
        "/admin/helpdesk/complaint/add/",
        "complaint",
        inquiry=str(inquiry.pk),
        received_at_0="2026-10-01",
        received_at_1="12:00:00",
        cause="operator_error",
        confirmed_at_0="2026-10-02",
        confirmed_at_1="09:00:00",
    )
    added = post_admin_form(
        admin_client,
        "/admin/helpdesk/inquiry/add/",
        "inquiry",
        channel="form",
        status="new",
        received_at_0="2026-10-03",
        received_at_1="09:00:00",
        subject="フォームからの問い合わせ",
    )

    assert (incident.status_code, complaint.status_code, added.status_code) == (302, 302, 302)
    assert SecurityIncident.objects.get().reported_by.username == "staff-admin"
    confirmed = Complaint.objects.get()
    assert confirmed.cause == "operator_error" and confirmed.confirmed_by.username == "staff-admin"
    new = Inquiry.objects.get(subject="フォームからの問い合わせ")
    assert new.ref.startswith("EG-20261003-") and new.created_by.username == "staff-admin"
    created = set(AuditEvent.objects.filter(action=AuditEvent.Action.CREATE).values_list("object_type", flat=True))
    assert created >= {"helpdesk.securityincident", "helpdesk.complaint", "helpdesk.inquiry"}


def test_an_agent_profile_is_removed_through_the_audited_service(admin_client):
    profile = AgentProfile.objects.create(user=UserFactory(username="op-c"), pbx_login="op07")
    url = f"/admin/helpdesk/agentprofile/{profile.pk}/delete/"

    assert 'name="correction_reason"' not in admin_client.get(url).content.decode()
    assert admin_client.post(url, {"post": "yes"}).status_code == 302

    assert not AgentProfile.objects.exists()
    event = AuditEvent.objects.get(action=AuditEvent.Action.DELETE, object_type="helpdesk.agentprofile")
    assert event.changes["pbx_login"] == {"old": "op07", "new": None}


# --- staff accounts ---------------------------------------------------------------------------


def test_granting_a_role_in_the_admin_is_audited(admin_client):
    from django.contrib.auth.models import Group

    user = UserFactory(username="new-sv", roles=["agent"])
    supervisor = Group.objects.get(name="supervisor")

    response = post_admin_form(
        admin_client, f"/admin/auth/user/{user.pk}/change/", "user", groups=str(supervisor.pk), is_staff="on"
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    events = AuditEvent.objects.filter(object_type="auth.user", object_id=str(user.pk)).order_by("id")
    changes = {k: v for e in events for k, v in e.changes.items()}
    assert changes["groups"] == {"old": ["agent"], "new": ["supervisor"]}
    assert changes["is_staff"] == {"old": False, "new": True}


def test_an_admin_cannot_make_a_superuser(admin_client):
    user = UserFactory(username="someone")

    response = post_admin_form(
        admin_client, f"/admin/auth/user/{user.pk}/change/", "user", is_superuser="on", is_staff="on"
    )

    assert response.status_code == 302
    user.refresh_from_db()
    assert user.is_staff
    assert not user.is_superuser


def test_a_password_set_in_the_admin_is_audited_without_the_password(admin_client):
    user = UserFactory(username="forgetful")

    response = admin_client.post(
        f"/admin/auth/user/{user.pk}/password/",
        {"password1": "Kx9-vanilla-Otter", "password2": "Kx9-vanilla-Otter", "set_usable_password": "true"},
    )

    assert response.status_code == 302
    event = AuditEvent.objects.get(object_type="auth.user", object_id=str(user.pk))
    assert event.changes == {"password": {"changed": True}}
    assert "Kx9" not in json.dumps(event.changes)


def test_the_reason_field_is_shown_only_where_a_reason_can_be_needed(client, admin_client):
    call = CallFactory()
    profile = AgentProfile.objects.create(user=UserFactory(username="op-d"), pbx_login="op05")

    assert 'name="correction_reason"' in admin_client.get(change_url(call)).content.decode()
    assert 'name="correction_reason"' in admin_client.get("/admin/helpdesk/calendarday/add/").content.decode()
    assert 'name="correction_reason"' not in admin_client.get(change_url(profile)).content.decode()
    assert 'name="correction_reason"' not in admin_client.get("/admin/helpdesk/inquiry/add/").content.decode()
    client.force_login(staff("agent"))
    assert "訂正理由" not in client.get(change_url(call)).content.decode()


def test_an_inquiry_changed_since_the_page_was_read_is_not_overwritten(admin_client):
    inquiry = InquiryFactory(subject="元の件名")
    url = change_url(inquiry)
    data = admin_form(admin_client, url, "inquiry")
    Inquiry.objects.filter(pk=inquiry.pk).update(subject="APIで変更", version=2)

    response = admin_client.post(url, {**data, "subject": "管理画面で変更"})

    assert response.status_code == 200
    assert "他のユーザーによって更新されています" in response.content.decode()
    inquiry.refresh_from_db()
    assert inquiry.subject == "APIで変更"
