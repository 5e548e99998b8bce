import datetime as dt

import pytest
import time_machine
from django.core.cache import cache

from helpdesk.clock import Month
from helpdesk.models import AuditEvent
from kpi import selectors
from kpi.models import KpiSnapshot, KpiTarget
from tests.admin_forms import post_admin_form
from tests.factories import CallFactory, UserFactory
from tests.factories.kpi import FiscalMonthPeriodFactory, KpiSnapshotFactory, KpiTargetFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser():
    return UserFactory(username="root", is_staff=True, is_superuser=True)


def test_admin_pages_for_targets_calendar_and_snapshots(client, superuser):
    KpiTargetFactory()
    FiscalMonthPeriodFactory()
    snap = KpiSnapshotFactory()
    client.force_login(superuser)
    for url in (
        "/admin/kpi/kpitarget/",
        "/admin/kpi/fiscalmonthperiod/",
        "/admin/kpi/kpisnapshot/",
        "/admin/kpi/kpitarget/add/",
        f"/admin/kpi/kpisnapshot/{snap.pk}/change/",
    ):
        assert client.get(url).status_code == 200, url
    assert client.get("/admin/kpi/kpisnapshot/add/").status_code == 403  # published only by the service


def test_admin_action_publishes_a_new_version(client, superuser):
    CallFactory()
    snap = KpiSnapshotFactory(month="2026-10", version=1)
    client.force_login(superuser)
    r = client.post("/admin/kpi/kpisnapshot/", {"action": "republish", "_selected_action": [snap.pk]}, follow=True)
    assert r.status_code == 200
    latest = KpiSnapshot.objects.filter(month="2026-10").order_by("-version").first()
    assert latest.version == 2 and latest.data["answer_rate"]["total_calls"] == 1
    assert latest.published_by == superuser


# --- contract settings: audited corrections with a reason (every field feeds a figure) -------


@pytest.fixture
def admin_client(client):
    """An admin by role, not a superuser."""
    user = UserFactory(username="kpi-admin", roles=["admin"])
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    client.force_login(user)
    return client


def _events(label: str, action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(object_type=label, action=action).order_by("id"))


def test_target_change_without_a_reason_is_refused(admin_client):
    target = KpiTargetFactory()

    response = post_admin_form(
        admin_client, f"/admin/kpi/kpitarget/{target.pk}/change/", "kpitarget", aht_max_seconds="900"
    )

    assert response.status_code == 200
    assert "訂正理由が必要です" in response.content.decode()
    target.refresh_from_db()
    assert target.aht_max_seconds == 600
    assert _events("kpi.kpitarget", "update") == []


def test_target_correction_is_audited_and_drops_the_cached_months(admin_client, django_capture_on_commit_callbacks):
    target = KpiTargetFactory()
    october = selectors.cache_key(Month(2026, 10))
    cache.set(october, {"stale": True})

    with (
        time_machine.travel(dt.datetime(2026, 11, 15, 12, tzinfo=dt.UTC), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = post_admin_form(
            admin_client,
            f"/admin/kpi/kpitarget/{target.pk}/change/",
            "kpitarget",
            aht_max_seconds="900",
            answer_rate_busy="0.750",
            correction_reason="変更契約により",
        )

    assert response.status_code == 302
    [event] = _events("kpi.kpitarget", "update")
    assert event.changes == {
        "aht_max_seconds": {"old": 600, "new": 900},
        "answer_rate_busy": {"old": "0.700", "new": "0.750"},
    }
    assert event.note == "訂正: 変更契約により"
    assert cache.get(october) is None


def test_new_target_needs_a_reason(admin_client):
    fields = {"name": "2027年度契約", "valid_from": "2027-04-01"}

    refused = post_admin_form(admin_client, "/admin/kpi/kpitarget/add/", "kpitarget", **fields)
    assert refused.status_code == 200 and "訂正理由が必要です" in refused.content.decode()
    assert not KpiTarget.objects.exists()

    added = post_admin_form(
        admin_client, "/admin/kpi/kpitarget/add/", "kpitarget", correction_reason="新契約", **fields
    )
    assert added.status_code == 302
    [event] = _events("kpi.kpitarget", "create")
    assert event.changes["valid_from"] == {"old": None, "new": "2027-04-01"}


def test_target_is_removed_only_with_a_reason(admin_client):
    target = KpiTargetFactory()
    url = f"/admin/kpi/kpitarget/{target.pk}/delete/"

    admin_client.post(url, {"post": "yes"})
    assert KpiTarget.objects.filter(pk=target.pk).exists()
    assert "delete_selected" not in admin_client.get("/admin/kpi/kpitarget/").content.decode()

    admin_client.post(url, {"post": "yes", "correction_reason": "誤登録"})
    assert not KpiTarget.objects.filter(pk=target.pk).exists()
    [event] = _events("kpi.kpitarget", "delete")
    assert event.note == "訂正: 誤登録" and event.changes["aht_max_seconds"] == {"old": 600, "new": None}


def test_busy_month_change_is_an_audited_correction(admin_client):
    period = FiscalMonthPeriodFactory(period_type="busy")
    url = f"/admin/kpi/fiscalmonthperiod/{period.pk}/change/"

    refused = post_admin_form(admin_client, url, "fiscalmonthperiod", period_type="normal")
    assert refused.status_code == 200
    post_admin_form(admin_client, url, "fiscalmonthperiod", period_type="normal", correction_reason="繁忙期の見直し")

    period.refresh_from_db()
    assert period.period_type == "normal"
    [event] = _events("kpi.fiscalmonthperiod", "update")
    assert event.changes == {"period_type": {"old": "busy", "new": "normal"}}


def test_every_target_field_is_a_contract_field_and_on_the_form(admin_client):
    """Generic on purpose: a target added to the model later (such as the ACW limit) is a
    contract field and appears on the admin form and list without touching the admin."""
    from helpdesk.corrections import contract_fields, editable_fields

    target = KpiTargetFactory()
    assert contract_fields(KpiTarget) == editable_fields(KpiTarget)
    page = admin_client.get(f"/admin/kpi/kpitarget/{target.pk}/change/").content.decode()
    for field in editable_fields(KpiTarget):
        assert f'name="{field}"' in page, field
    listing = admin_client.get("/admin/kpi/kpitarget/").content.decode()
    for field in editable_fields(KpiTarget):
        assert f"column-{field}" in listing, field
