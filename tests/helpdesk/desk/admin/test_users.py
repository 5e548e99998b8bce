"""Users and roles on the admin's desk: create, change role, deactivate — audited; the admin
role works without superuser (the demo's admin reaches the FAQ and target admin pages)."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse

from helpdesk.models import AuditEvent, Role
from helpdesk.roles import user_roles
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
User = get_user_model()
NEW = {"username": "sato", "email": "sato@center.example.jp", "password": "Kx9-long-enough-pw", "role": "agent"}


def test_create_a_user_with_a_role(admin_client, admin_user):
    assert admin_client.post(reverse("desk:admin:users"), NEW).status_code == 302
    user = User.objects.get(username="sato")
    assert user_roles(user) == {Role.AGENT} and not user.is_staff and not user.is_superuser
    assert user.check_password(NEW["password"])
    events = AuditEvent.objects.filter(object_type="auth.user", object_id=str(user.pk), actor=admin_user)
    assert events.count() == 2  # the account, then its role
    assert "Kx9-long-enough-pw" not in str(list(events.values_list("changes", flat=True)))


@pytest.mark.parametrize(
    "over",
    [
        {"username": "admin1"},  # taken
        {"username": "bad name!"},
        {"password": "123"},
        {"role": "root"},
        {"email": "not-an-address"},
    ],
)
def test_bad_new_users_are_a_400(admin_client, over):
    before = User.objects.count()
    assert admin_client.post(reverse("desk:admin:users"), {**NEW, **over}).status_code == 400
    assert User.objects.count() == before


def test_change_role_and_deactivate(admin_client, agent):
    url = reverse("desk:admin:user-role", args=[agent.pk])
    assert admin_client.post(url, {"role": "supervisor"}).status_code == 302
    agent.refresh_from_db()
    assert user_roles(User.objects.get(pk=agent.pk)) == {Role.SUPERVISOR}
    assert admin_client.post(reverse("desk:admin:user-active", args=[agent.pk]), {"active": "0"}).status_code == 302
    agent.refresh_from_db()
    assert agent.is_active is False
    assert AuditEvent.objects.filter(object_type="auth.user", object_id=str(agent.pk)).count() == 2


def test_an_admin_cannot_lock_themselves_out(admin_client, admin_user):
    assert (
        admin_client.post(reverse("desk:admin:user-role", args=[admin_user.pk]), {"role": "agent"}).status_code == 400
    )
    response = admin_client.post(reverse("desk:admin:user-active", args=[admin_user.pk]), {"active": "0"})
    assert response.status_code == 400
    admin_user.refresh_from_db()
    assert admin_user.is_active and user_roles(User.objects.get(pk=admin_user.pk)) == {Role.ADMIN}


def test_a_superuser_account_is_not_changed_from_the_desk(admin_client):
    root = UserFactory(username="root", is_superuser=True)
    assert admin_client.post(reverse("desk:admin:user-active", args=[root.pk]), {"active": "0"}).status_code == 403
    root.refresh_from_db()
    assert root.is_active


@pytest.mark.parametrize("data", [{"role": "god"}, {}])
def test_bad_role_changes_are_a_400(admin_client, agent, data):
    assert admin_client.post(reverse("desk:admin:user-role", args=[agent.pk]), data).status_code == 400


def test_an_admin_made_on_the_desk_uses_the_admin_pages_without_superuser(admin_client, client):
    admin_client.post(reverse("desk:admin:users"), {**NEW, "role": "admin"})
    user = User.objects.get(username="sato")
    assert user.is_staff and not user.is_superuser
    client.force_login(user)
    for url in ("/desk/admin/faq/", "/desk/admin/calendar/", "/admin/faq/faqentry/", "/admin/kpi/kpitarget/"):
        assert client.get(url).status_code == 200, url


def test_the_demo_admin_opens_the_faq_and_target_pages(client):
    # The report: the demo's admin got 403 on the FAQ and KPI target admin pages.
    # Its role group now carries the Django permissions (helpdesk.roles.ROLE_PERMISSIONS).
    call_command("seed_demo", "--password", "pw-for-tests-1")
    response = client.post("/accounts/login/", {"username": "admin", "password": "pw-for-tests-1"})
    assert response.status_code == 302
    for url in (
        "/admin/faq/faqentry/",
        "/admin/faq/faqentry/add/",
        "/admin/kpi/kpitarget/",
        "/admin/kpi/kpitarget/add/",
        "/admin/kpi/fiscalmonthperiod/",
        "/desk/admin/faq/",
        "/desk/admin/calendar/",
        "/desk/admin/users/",
    ):
        assert client.get(url).status_code == 200, url
