"""Patience and AHT from records: abandons are observed patience, every other wait is
censored; IVR hang-ups and out-of-hours calls never reached the queue. And the roster's
admin pages and constraints."""

import datetime as dt

import pytest
from django.db import IntegrityError

from helpdesk.models import Call
from kpi.staffing import estimates, selectors
from kpi.staffing.models import RosterSlot
from kpi.staffing.services import roster_set
from tests.factories import CallFactory, UserFactory, tokyo

DAY = dt.date(2026, 10, 1)


def waited(seconds: float, outcome=Call.Outcome.ANSWERED, at=(10, 0), **kw) -> Call:
    arrived = tokyo(2026, 10, 1, *at)
    if outcome == Call.Outcome.ANSWERED:
        kw |= {"answered_at": arrived + dt.timedelta(seconds=5 + seconds)}
    else:
        kw |= {"ended_at": arrived + dt.timedelta(seconds=5 + seconds), "answered_at": None, "agent": ""}
    return CallFactory(arrived_at=arrived, outcome=outcome, **kw)


@pytest.mark.django_db
def test_patience_mle_counts_abandons_over_all_waiting_time():
    waited(60, Call.Outcome.QUEUE_ABANDONED)
    waited(120, Call.Outcome.QUEUE_EXIT_KEY, at=(10, 10))
    for m in (1, 2, 3):
        waited(20, at=(10, m))  # answered after 20 s in the queue: censored
    waited(300, Call.Outcome.QUEUE_TIMEOUT, at=(10, 40))  # the PBX ended the wait: censored
    CallFactory(arrived_at=tokyo(2026, 10, 1, 10, 5), outcome=Call.Outcome.IVR_ABANDONED)
    CallFactory(arrived_at=tokyo(2026, 10, 1, 20, 0), outcome=Call.Outcome.OUT_OF_HOURS)
    rows = selectors.interval_history(first=DAY, last=DAY)
    assert [(r.slot, r.offered, r.abandons, r.ivr_abandoned) for r in rows] == [(20, 5, 2, 1), (21, 1, 0, 0)]
    p = estimates.patience_mle(rows)
    assert (p.abandons, p.exposure_seconds, p.source) == (2, 60 + 120 + 3 * 20 + 300, "records")
    assert p.seconds == pytest.approx(540 / 2)


@pytest.mark.django_db
def test_no_abandon_means_the_default_patience_said_so():
    waited(20)
    p = estimates.patience_mle(selectors.interval_history(first=DAY, last=DAY))
    assert (p.seconds, p.source) == (estimates.DEFAULT_PATIENCE_SECONDS, "default")


@pytest.mark.django_db
def test_aht_is_the_kpi_engines_talk_plus_acw_shrunk_toward_the_pooled_value():
    waited(20, acw_seconds=60)  # 300 s talk (factory) + 60 s ACW
    waited(20, at=(10, 1), acw_seconds=0)
    rows = selectors.interval_history(first=DAY, last=DAY)
    assert rows[0].handle_seconds == pytest.approx(660)
    assert estimates.aht_pooled(rows) == pytest.approx(330)
    by_slot = estimates.aht_by_slot(rows, pooled=600.0)
    assert by_slot[20] == pytest.approx((660 + 30 * 600) / 32)


def test_kaplan_meier_with_censoring():
    # abandons at 10 and 30; censored at 20 and 40
    curve = estimates.kaplan_meier([(10, True), (20, False), (30, True), (40, False)])
    assert curve == [(0.0, 1.0), (10, 0.75), (30, pytest.approx(0.375))]


@pytest.mark.django_db
def test_roster_admin_pages_and_constraints(client):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    roster_set(day=DAY, slot=18, agents=5)
    for url in ("/admin/kpi/rosterslot/", "/admin/kpi/rosterslot/add/", "/admin/kpi/staffingcost/add/"):
        assert client.get(url).status_code == 200, url
    assert roster_set(day=DAY, slot=18, agents=7).agents == 7 and RosterSlot.objects.count() == 1
    with pytest.raises(IntegrityError):
        RosterSlot.objects.create(date=DAY, slot=48, agents=1)
