"""Django admin: role-based access, masked list columns, PII hidden from reviewers,
audited record pages, read-only audit trail, user management by admins."""

import pytest

from helpdesk.models import AuditEvent
from tests.factories import CallFactory, InquiryFactory, SecurityIncidentFactory, UserFactory

pytestmark = pytest.mark.django_db


def staff(role: str):
    user = UserFactory(username=f"staff-{role}", roles=[role])
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    return user


@pytest.fixture
def inquiry():
    return InquiryFactory(
        requester_name="山田 太郎", requester_email="taro.yamada@example.com", requester_phone="090-1234-5678"
    )


def test_inquiry_changelist_masks_personal_information_and_logs_nothing(client, inquiry):
    client.force_login(staff("admin"))

    html = client.get("/admin/helpdesk/inquiry/").content.decode()

    assert inquiry.ref in html
    assert "t***@***.com" in html and "*******5678" in html and "山＊＊" in html
    assert "taro.yamada@example.com" not in html and "5678" not in html.replace("*******5678", "")
    assert "山田 太郎" not in html
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.VIEW_PII).exists()


def test_call_changelist_masks_the_caller(client):
    CallFactory(caller="0312345678")
    client.force_login(staff("supervisor"))

    html = client.get("/admin/helpdesk/call/").content.decode()

    assert "******5678" in html
    assert "0312345678" not in html


def test_inquiry_page_shows_pii_to_an_agent_and_writes_the_audit_row(client, inquiry):
    agent = staff("agent")
    client.force_login(agent)

    response = client.get(f"/admin/helpdesk/inquiry/{inquiry.pk}/change/")

    assert response.status_code == 200
    assert "taro.yamada@example.com" in response.content.decode()
    event = AuditEvent.objects.get(action=AuditEvent.Action.VIEW_PII)
    assert (event.actor, event.object_id, event.note) == (agent, inquiry.ref, "admin change view")
    assert set(event.changes["fields"]) >= {"requester_name", "requester_email", "requester_phone", "body"}


def test_agent_may_view_but_not_change_records(client, inquiry):
    client.force_login(staff("agent"))

    response = client.post(f"/admin/helpdesk/inquiry/{inquiry.pk}/change/", {"subject": "changed"})

    assert response.status_code == 403
    inquiry.refresh_from_db()
    assert inquiry.subject != "changed"


def test_reviewer_is_refused_records_with_personal_information(client, inquiry):
    client.force_login(staff("reviewer"))

    assert client.get("/admin/helpdesk/inquiry/").status_code == 403
    assert client.get(f"/admin/helpdesk/inquiry/{inquiry.pk}/change/").status_code == 403
    assert client.get("/admin/helpdesk/call/").status_code == 403
    assert client.get("/admin/helpdesk/emailmessage/").status_code == 403
    assert client.get("/admin/helpdesk/calendarday/").status_code == 200


def test_reviewer_reads_incident_without_description_and_leaves_no_pii_audit(client):
    incident = SecurityIncidentFactory(description="〇〇様の住所を誤送信")
    client.force_login(staff("reviewer"))

    response = client.get(f"/admin/helpdesk/securityincident/{incident.pk}/change/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "〇〇様" not in html
    assert 'name="description"' not in html
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.VIEW_PII).exists()


def test_admin_sees_incident_description_and_the_view_is_audited(client):
    incident = SecurityIncidentFactory(description="〇〇様の住所を誤送信")
    client.force_login(staff("admin"))

    html = client.get(f"/admin/helpdesk/securityincident/{incident.pk}/change/").content.decode()

    assert "〇〇様の住所を誤送信" in html
    assert AuditEvent.objects.filter(
        action=AuditEvent.Action.VIEW_PII, object_type="helpdesk.securityincident"
    ).exists()


def test_audit_trail_is_read_only_even_for_admins(client, inquiry):
    admin_user = staff("admin")
    client.force_login(admin_user)
    client.get(f"/admin/helpdesk/inquiry/{inquiry.pk}/change/")  # leaves one audit row
    event = AuditEvent.objects.latest("id")

    assert client.get("/admin/helpdesk/auditevent/").status_code == 200
    assert client.get("/admin/helpdesk/auditevent/add/").status_code == 403
    assert client.post(f"/admin/helpdesk/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403
    page = client.get(f"/admin/helpdesk/auditevent/{event.pk}/change/").content.decode()
    assert 'name="_save"' not in page
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_agents_do_not_read_the_audit_trail(client):
    client.force_login(staff("agent"))

    assert client.get("/admin/helpdesk/auditevent/").status_code == 403


def test_only_admins_manage_users_and_groups(client):
    client.force_login(staff("admin"))
    assert client.get("/admin/auth/user/").status_code == 200
    assert client.get("/admin/auth/group/").status_code == 200

    client.force_login(staff("supervisor"))
    assert client.get("/admin/auth/user/").status_code == 403
    assert client.get("/admin/auth/group/").status_code == 403


def test_every_helpdesk_model_is_registered():
    from django.apps import apps
    from django.contrib import admin

    missing = [m.__name__ for m in apps.get_app_config("helpdesk").get_models() if not admin.site.is_registered(m)]

    assert missing == []


def test_models_without_their_own_admin_are_read_only_for_admins_and_audited(client):
    from django.contrib import admin

    from helpdesk.admin import FallbackAdmin
    from helpdesk.models import AuditEvent as Audit

    fallback = [m for m, a in admin.site._registry.items() if isinstance(a, FallbackAdmin)]
    if not fallback:
        pytest.skip("every helpdesk model has a dedicated admin")
    model = fallback[0]
    url = f"/admin/helpdesk/{model._meta.model_name}/"

    client.force_login(staff("supervisor"))
    assert client.get(url).status_code == 403
    client.force_login(staff("admin"))
    assert client.get(url).status_code == 200
    assert client.get(url + "add/").status_code == 403
    assert not Audit.objects.filter(action=Audit.Action.VIEW_PII).exists()
