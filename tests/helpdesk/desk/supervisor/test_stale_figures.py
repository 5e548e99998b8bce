"""Stale stored day figures on the board (docs/desk-supervisor.md, "Stale figures, bounded"):
within DESK_SUPERVISOR_MAX_STALE_SECONDS of the moment they are of, the board shows the stored
figures of older data, marked with that moment, and asks for a refresh once; beyond it, or with
none stored, it computes exact ones; fresh ones carry no marker; no broker or cache → still 200.
The KPI app's exact reads never see stale figures."""

import datetime as dt
import re

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from helpdesk.desk.supervisor import refresh as sv_refresh
from helpdesk.desk.supervisor import services as sv_services
from helpdesk.desk.supervisor.tasks import board_days_refresh
from helpdesk.models import Call
from kpi import services as kpi_services
from kpi import today as kpi_today
from kpi.models import KpiDayFigures
from kpi.today import Day
from tests.factories import CallFactory, tokyo
from tests.factories.kpi import KpiTargetFactory
from tests.helpdesk.desk.supervisor.test_day_figures import aggregates_run, records

pytestmark = pytest.mark.django_db

NOW = tokyo(2026, 10, 3, 15)
LIVE = "desk:supervisor:live"
DAY = "2026-10-02"
MARKER = "時点の集計（更新中）"


@pytest.fixture
def enqueued(monkeypatch, settings):
    """The refresh task's enqueue recorded instead of run (tests run Celery eagerly)."""
    settings.DESK_SUPERVISOR_MAX_STALE_SECONDS = 60
    settings.DESK_SUPERVISOR_REFRESH_SECONDS = 30
    cache.clear()
    calls: list = []
    monkeypatch.setattr(board_days_refresh, "apply_async", lambda *a, **kw: calls.append(kw.get("args", a)))
    yield calls
    cache.clear()


@pytest.fixture
def sv_client(client, supervisor):
    client.force_login(supervisor)
    return client


def stored_then_changed() -> None:
    """Figures stored at NOW by the task, then a new call of the 2nd: the stored ones are of older data."""
    KpiTargetFactory()
    records()
    with time_machine.travel(NOW, tick=False):
        sv_refresh.board_days_refresh()
    CallFactory(arrived_at=tokyo(2026, 10, 2, 11), outcome=Call.Outcome.IVR_ABANDONED)


def get_live(client, at: dt.datetime):
    with time_machine.travel(at, tick=False), CaptureQueriesContext(connection) as queries:
        response = client.get(reverse(LIVE), {"date": DAY})
    assert response.status_code == 200
    return response, queries


@pytest.mark.parametrize("cache_seconds", [0, 60])
def test_stale_within_the_bound_is_served_marked_and_asks_for_a_refresh_once(
    sv_client, enqueued, settings, cache_seconds
):
    settings.DESK_SUPERVISOR_CACHE_SECONDS = cache_seconds
    stored_then_changed()
    response, queries = get_live(sv_client, NOW + dt.timedelta(seconds=40))
    board = response.context["board"]
    assert board["stale_as_of"] == NOW
    assert board["phone"]["answer_rate"]["total_calls"] == 3  # the stored version's, not 4
    assert not aggregates_run(queries)
    html = response.content.decode()
    assert 'id="sv-stale"' in html and f"15:00:00 {MARKER}" in html
    assert enqueued == [[[DAY]]]
    # the next poll: still within the bound, served again (never cached), no second enqueue
    response, _ = get_live(sv_client, NOW + dt.timedelta(seconds=50))
    assert response.context["board"]["stale_as_of"] == NOW
    assert len(enqueued) == 1


def test_stale_beyond_the_bound_is_computed_exact(sv_client, enqueued):
    stored_then_changed()
    response, queries = get_live(sv_client, NOW + dt.timedelta(seconds=61))
    board = response.context["board"]
    assert board["stale_as_of"] is None
    assert board["phone"]["answer_rate"]["total_calls"] == 4
    assert aggregates_run(queries)
    assert MARKER not in response.content.decode()
    assert enqueued == []
    # and stored: the next poll is fresh
    response, queries = get_live(sv_client, NOW + dt.timedelta(seconds=62))
    assert response.context["board"]["stale_as_of"] is None
    assert not aggregates_run(queries)


def test_fresh_figures_have_no_marker(sv_client, enqueued):
    KpiTargetFactory()
    records()
    with time_machine.travel(NOW, tick=False):
        sv_refresh.board_days_refresh()
    response, queries = get_live(sv_client, NOW + dt.timedelta(minutes=10))
    assert response.context["board"]["stale_as_of"] is None
    assert response.context["board"]["phone"]["answer_rate"]["total_calls"] == 3
    assert not aggregates_run(queries)
    assert MARKER not in response.content.decode()
    assert enqueued == []


def test_nothing_stored_is_computed_in_the_request(sv_client, enqueued):
    KpiTargetFactory()
    records()
    response, queries = get_live(sv_client, NOW)
    assert response.context["board"]["stale_as_of"] is None
    assert aggregates_run(queries)


def test_the_bound_runs_from_the_last_run_that_found_them_current(sv_client, enqueued):
    """A quiet spell does not age the figures: each task run that finds them current moves
    the moment they are of, so the first edit after it is served stale, not computed."""
    stored = tokyo(2026, 10, 3, 14)
    KpiTargetFactory()
    records()
    with time_machine.travel(stored, tick=False):
        sv_refresh.board_days_refresh()
    with time_machine.travel(NOW, tick=False):
        assert sv_refresh.board_days_refresh()["days"] == []
    assert KpiDayFigures.objects.get(date=dt.date(2026, 10, 2)).computed_at == NOW
    CallFactory(arrived_at=tokyo(2026, 10, 2, 11))
    response, queries = get_live(sv_client, NOW + dt.timedelta(seconds=30))
    assert response.context["board"]["stale_as_of"] == NOW
    assert not aggregates_run(queries)


def test_the_bound_zero_is_always_exact(sv_client, enqueued, settings):
    settings.DESK_SUPERVISOR_MAX_STALE_SECONDS = 0
    stored_then_changed()
    response, _ = get_live(sv_client, NOW + dt.timedelta(seconds=1))
    assert response.context["board"]["stale_as_of"] is None
    assert response.context["board"]["phone"]["answer_rate"]["total_calls"] == 4


@pytest.mark.parametrize("failure", ["broker", "cache"])
def test_no_broker_or_cache_still_200(sv_client, enqueued, monkeypatch, failure):
    from kombu.exceptions import OperationalError

    stored_then_changed()

    def down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6390. Connection refused.")

    if failure == "broker":
        monkeypatch.setattr(board_days_refresh, "apply_async", down)
    else:
        monkeypatch.setattr(sv_services.cache, "add", down)
    response, _ = get_live(sv_client, NOW + dt.timedelta(seconds=40))
    assert response.context["board"]["stale_as_of"] == NOW
    assert MARKER in response.content.decode()


def test_the_exact_reads_never_see_stale_figures(enqueued):
    """`kpi_day_figures` (what anything exact reads) computes; the display's stale figures are
    exactly the stored version's, whole."""
    stored_then_changed()
    day = Day(dt.date(2026, 10, 2))
    at = NOW + dt.timedelta(seconds=40)
    row = KpiDayFigures.objects.get(date=day.date)
    shown, stale_as_of = kpi_services.kpi_day_figures_display(day=day, max_stale=dt.timedelta(seconds=60), now=at)
    assert stale_as_of == NOW
    assert shown == kpi_today.day_figures_decode(row.data)
    exact = kpi_services.kpi_day_figures(day=day, now=at)
    assert exact["phone"]["answer_rate"]["total_calls"] == 4
    assert KpiDayFigures.objects.get(date=day.date).version > row.version  # stored at the current version


# The tables a poll of the live panel may read once the day's figures are stored: the session,
# the user and their roles, the input version, the stored row, and the agents' names and PBX
# logins (small tables). Never a record table: the calls, inquiries, mail and escalations are
# read by the task (docs/desk-supervisor.md, "fourth pass").
STORED_POLL_TABLES = {
    "django_session",
    "auth_user",
    "auth_group",
    "auth_user_groups",
    "kpi_kpiinputchange",
    "kpi_kpidayfigures",
    "helpdesk_agentprofile",
}
RECORD_TABLES = ("helpdesk_call", "helpdesk_inquiry", "helpdesk_emailmessage", "helpdesk_escalation")


def tables_read(queries) -> set[str]:
    return {t for q in queries.captured_queries for t in re.findall(r'(?:FROM|JOIN) "?(\w+)"?', q["sql"])}


@pytest.mark.parametrize("cache_seconds", [0, 60])
def test_a_stale_poll_reads_no_record_table_and_one_query_more_than_a_fresh_one(
    sv_client, enqueued, settings, cache_seconds
):
    """The stale path's query count: the stored row and the small tables only — the latest
    wait and the agents' open load come with the stored version (schema 2) — and the day's
    own version from the input log (schema 3: is the change since one of this day's?)."""
    settings.DESK_SUPERVISOR_CACHE_SECONDS = cache_seconds
    stored_then_changed()
    get_live(sv_client, NOW + dt.timedelta(seconds=30))  # warm: the session's first read
    response, stale = get_live(sv_client, NOW + dt.timedelta(seconds=40))
    assert response.context["board"]["stale_as_of"] == NOW
    assert response.context["board"]["wait"]["seconds"] == 20  # the stored version's
    assert tables_read(stale) <= STORED_POLL_TABLES, tables_read(stale)
    assert not any(t in q["sql"] for q in stale.captured_queries for t in RECORD_TABLES)
    # fresh figures (the task ran) read the same tables, as many times
    with time_machine.travel(NOW + dt.timedelta(seconds=45), tick=False):
        sv_refresh.board_days_refresh()
    cache.clear()
    response, fresh = get_live(sv_client, NOW + dt.timedelta(seconds=50))
    assert response.context["board"]["stale_as_of"] is None
    # session, user, roles, the input version (once), the stored row, the agents, their logins
    assert len(fresh.captured_queries) == 7
    assert len(stale.captured_queries) == 8  # + the day's version (kpi_day_versions)
