"""The staffing inputs are edited in the admin by the admin role (not a superuser), and every
edit goes through the audited services like any other admin write."""

import datetime as dt
from decimal import Decimal

import pytest

from helpdesk.models import AuditEvent
from kpi.staffing.models import RosterSlot, StaffingCost
from tests.admin_forms import post_admin_form
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    user = UserFactory(username="staffing-admin", roles=["admin"])
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    client.force_login(user)
    return client


def test_a_roster_change_is_audited_with_old_and_new_values(admin_client):
    slot = RosterSlot.objects.create(date=dt.date(2026, 11, 2), slot=18, agents=6)

    response = post_admin_form(admin_client, f"/admin/kpi/rosterslot/{slot.pk}/change/", "rosterslot", agents="9")

    assert response.status_code == 302
    slot.refresh_from_db()
    assert slot.agents == 9
    [event] = AuditEvent.objects.filter(object_type="kpi.rosterslot", action="update")
    assert event.changes["agents"] == {"old": 6, "new": 9}


def test_the_hourly_cost_is_added_and_removed_through_the_services(admin_client):
    response = post_admin_form(
        admin_client, "/admin/kpi/staffingcost/add/", "staffingcost", valid_from="2026-04-01", hourly_cost_yen="2400"
    )
    assert response.status_code == 302
    cost = StaffingCost.objects.get()
    assert cost.hourly_cost_yen == Decimal("2400")
    assert AuditEvent.objects.filter(object_type="kpi.staffingcost", action="create").count() == 1

    admin_client.post(f"/admin/kpi/staffingcost/{cost.pk}/delete/", {"post": "yes"})
    assert not StaffingCost.objects.exists()
    assert AuditEvent.objects.filter(object_type="kpi.staffingcost", action="delete").count() == 1
