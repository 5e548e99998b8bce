"""Role groups carry real Django permissions (helpdesk.roles.ROLE_PERMISSIONS, synced after
every migrate): the admin role uses its documented admin pages — FAQ, targets, calendars —
without being a superuser; other roles are refused them."""

import datetime as dt

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command

from faq.models import FaqEntry
from helpdesk.models import AuditEvent, Role
from helpdesk.roles import ROLE_PERMISSIONS, assign_roles, role_permission_codenames, sync_role_permissions
from kpi.models import KpiTarget
from tests.admin_forms import post_admin_form
from tests.factories import UserFactory
from tests.factories.kpi import FiscalMonthPeriodFactory, KpiTargetFactory

pytestmark = pytest.mark.django_db


def staff_user(role: str, *, username: str | None = None):
    """As the demo makes its users: staff flag, one role group, never a superuser."""
    user = UserFactory(username=username or f"demo-{role}")
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    assign_roles(user, [role])
    return user


def held(role: str) -> set[tuple[str, str]]:
    return set(Group.objects.get(name=role).permissions.values_list("content_type__app_label", "codename"))


@pytest.fixture
def pages():
    entry = FaqEntry.objects.create(question="電子証明書の更新方法は？", answer="マイナポータルから…")
    target = KpiTargetFactory()
    period = FiscalMonthPeriodFactory()
    return {
        "faq list": "/admin/faq/faqentry/",
        "faq entry": f"/admin/faq/faqentry/{entry.pk}/change/",
        "faq add": "/admin/faq/faqentry/add/",
        "faq categories": "/admin/faq/faqcategory/",
        "faq settings": "/admin/faq/faqsettings/",
        "targets": "/admin/kpi/kpitarget/",
        "target": f"/admin/kpi/kpitarget/{target.pk}/change/",
        "target add": "/admin/kpi/kpitarget/add/",
        "busy-month calendar": "/admin/kpi/fiscalmonthperiod/",
        "busy month": f"/admin/kpi/fiscalmonthperiod/{period.pk}/change/",
        "service calendar": "/admin/helpdesk/calendarday/",
        "service calendar add": "/admin/helpdesk/calendarday/add/",
    }


def test_the_admin_role_opens_its_pages_without_being_a_superuser(client, pages):
    user = staff_user(Role.ADMIN)
    assert not user.is_superuser
    client.force_login(user)

    statuses = {name: client.get(url).status_code for name, url in pages.items()}

    assert statuses == dict.fromkeys(pages, 200)
    index = client.get("/admin/").content.decode()
    assert "/admin/faq/faqentry/" in index and "/admin/kpi/kpitarget/" in index


def test_the_admin_role_saves_a_faq_entry_and_a_target(client, pages):
    client.force_login(staff_user(Role.ADMIN))

    faq = post_admin_form(client, pages["faq entry"], "faqentry", answer="マイナポータルから更新します。")
    target = post_admin_form(
        client, pages["target"], "kpitarget", answer_rate_busy="0.750", correction_reason="契約変更（第2回）"
    )

    assert faq.status_code == 302 and target.status_code == 302
    assert FaqEntry.objects.get().answer == "マイナポータルから更新します。"
    assert str(KpiTarget.objects.get().answer_rate_busy) == "0.750"
    assert AuditEvent.objects.filter(object_type="kpi.kpitarget", note="訂正: 契約変更（第2回）").exists()


@pytest.mark.parametrize("role", [Role.AGENT, Role.REVIEWER, Role.SUPERVISOR])
def test_other_roles_cannot_use_the_faq_and_target_pages(client, pages, role):
    client.force_login(staff_user(role))

    for name in ("faq list", "faq entry", "faq add", "target add", "service calendar add"):
        assert client.get(pages[name]).status_code == 403, name
    response = client.post(pages["target"], {"name": "x", "correction_reason": "x"})
    assert response.status_code == 403
    assert KpiTarget.objects.get().name != "x"


def test_reviewers_and_supervisors_read_the_targets_but_do_not_publish(client, pages):
    from tests.factories.kpi import KpiSnapshotFactory

    snap = KpiSnapshotFactory(month="2026-10", version=1)
    for role in (Role.REVIEWER, Role.SUPERVISOR):
        client.force_login(staff_user(role))
        assert client.get(pages["targets"]).status_code == 200
        assert 'name="_save"' not in client.get(pages["target"]).content.decode()
        client.post("/admin/kpi/kpisnapshot/", {"action": "republish", "_selected_action": [snap.pk]})
    from kpi.models import KpiSnapshot

    assert KpiSnapshot.objects.count() == 1


def test_a_user_who_is_not_staff_is_sent_to_the_login(client, pages):
    client.force_login(UserFactory(username="plain-admin", roles=[Role.ADMIN]))

    response = client.get(pages["faq list"])

    assert response.status_code == 302 and "/login/" in response.url


def test_each_role_group_holds_exactly_the_declared_permissions():
    for role in Role.values:
        assert held(role) == role_permission_codenames(role), role
    assert ("faq", "change_faqentry") in held(Role.ADMIN)
    assert ("kpi", "change_kpitarget") in held(Role.ADMIN)
    assert ("helpdesk", "delete_call") not in held(Role.ADMIN)  # KPI records are never deleted


def test_every_declared_permission_exists():
    for role, table in ROLE_PERMISSIONS.items():
        for app_label, codename in role_permission_codenames(role):
            assert Permission.objects.filter(content_type__app_label=app_label, codename=codename).exists(), (
                role,
                table,
                codename,
            )


def test_sync_is_idempotent_and_restores_the_mapping():
    admin_group = Group.objects.get(name=Role.ADMIN)
    admin_group.permissions.add(Permission.objects.get(codename="delete_inquiry"))
    Group.objects.get(name=Role.REVIEWER).delete()

    sync_role_permissions()
    first = {role: held(role) for role in Role.values}
    sync_role_permissions()

    assert {role: held(role) for role in Role.values} == first
    assert ("helpdesk", "delete_inquiry") not in first[Role.ADMIN]
    assert first[Role.REVIEWER] == role_permission_codenames(Role.REVIEWER)


@pytest.mark.db_owner  # migrate: run by the owner
def test_migrate_assigns_the_permissions_after_the_migrations(settings):
    Group.objects.get(name=Role.ADMIN).permissions.clear()

    call_command("migrate", verbosity=0)

    assert held(Role.ADMIN) == role_permission_codenames(Role.ADMIN)


def test_calendar_page_save_by_the_admin_role_is_an_audited_correction(client):
    client.force_login(staff_user(Role.ADMIN))

    response = post_admin_form(
        client,
        "/admin/helpdesk/calendarday/add/",
        "calendarday",
        date="2026-11-02",
        kind="open",
        opens_at="09:00",
        closes_at="12:00",
        correction_reason="特別開庁",
    )

    assert response.status_code == 302
    from helpdesk.models import CalendarDay

    assert CalendarDay.objects.get().date == dt.date(2026, 11, 2)
    event = AuditEvent.objects.get(object_type="helpdesk.calendarday", action=AuditEvent.Action.CREATE)
    assert event.note == "訂正: 特別開庁" and event.changes["closes_at"] == {"old": None, "new": "12:00:00"}
