"""Admins maintain canned responses in the Django admin; the page saves through the service."""

import pytest

from helpdesk.models import AuditEvent, CannedResponse
from tests.admin_forms import post_admin_form
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def staff(role: str):
    user = UserFactory(username=f"staff-{role}", roles=[role])
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    return user


def test_an_admin_adds_and_changes_one_through_the_service(client):
    client.force_login(staff("admin"))
    response = post_admin_form(
        client,
        "/admin/helpdesk/cannedresponse/add/",
        "cannedresponse",
        title="回答の締め",
        body="{agent_name} が承りました。",
        category="send_error",
    )
    assert response.status_code == 302
    canned = CannedResponse.objects.get()
    assert canned.created_by.username == "staff-admin"

    response = post_admin_form(
        client, f"/admin/helpdesk/cannedresponse/{canned.pk}/change/", "cannedresponse", active=None
    )
    assert response.status_code == 302
    assert CannedResponse.objects.get().active is False
    assert AuditEvent.objects.filter(object_type="helpdesk.cannedresponse").count() == 2


def test_an_unknown_variable_is_a_form_error_not_a_500(client):
    client.force_login(staff("admin"))
    response = post_admin_form(
        client, "/admin/helpdesk/cannedresponse/add/", "cannedresponse", title="x", body="{deadline}"
    )
    assert response.status_code in (200, 302)
    assert not CannedResponse.objects.exists()
    follow = client.get(response["Location"]) if response.status_code == 302 else response
    assert "{deadline}" in follow.content.decode()


def test_agents_cannot_change_them(client):
    client.force_login(staff("agent"))
    assert client.get("/admin/helpdesk/cannedresponse/add/").status_code == 403
