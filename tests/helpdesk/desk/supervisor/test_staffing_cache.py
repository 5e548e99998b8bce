"""A finished month's staffing plan is planned once, not once a day: its key is the data the
plan reads, not the day (helpdesk/desk/supervisor/staffing.py)."""

import datetime as dt

import pytest
from django.core.cache import cache

from helpdesk.clock import Month
from helpdesk.desk.supervisor import staffing
from kpi.staffing.models import RosterSlot
from tests.factories import CallFactory, tokyo

pytestmark = pytest.mark.django_db


@pytest.fixture
def plans(monkeypatch):
    cache.clear()
    calls: list[tuple[Month, dt.datetime]] = []

    def fake_plan(*, month, now):
        calls.append((month, now))
        return {"days": [], "n": len(calls)}

    monkeypatch.setattr(staffing, "staffing_plan", fake_plan)
    yield calls
    cache.clear()


def test_a_finished_months_plan_is_kept_across_days_until_its_data_changes(plans):
    september = Month(2026, 9)
    CallFactory(arrived_at=tokyo(2026, 9, 15, 10))
    first = staffing.month_plan(september, now=tokyo(2026, 10, 20, 12))
    assert staffing.month_plan(september, now=tokyo(2026, 10, 21, 9)) == first  # the next day: no new plan
    assert len(plans) == 1
    RosterSlot.objects.create(date=dt.date(2026, 9, 15), slot=20, agents=2)  # a roster edit plans again
    staffing.month_plan(september, now=tokyo(2026, 10, 21, 9))
    assert len(plans) == 2
    CallFactory(arrived_at=tokyo(2026, 9, 16, 10))  # so does a call import
    staffing.month_plan(september, now=tokyo(2026, 10, 21, 9))
    assert len(plans) == 3


def test_a_running_months_plan_is_planned_again_each_day(plans):
    october = Month(2026, 10)
    staffing.month_plan(october, now=tokyo(2026, 10, 20, 12))
    staffing.month_plan(october, now=tokyo(2026, 10, 20, 13))
    assert len(plans) == 1
    staffing.month_plan(october, now=tokyo(2026, 10, 21, 9))  # the forecast moves with the day
    assert len(plans) == 2
