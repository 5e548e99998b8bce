"""The board's day figures off the request (docs/desk-supervisor.md, "Day figures off the
request"): the refresh task stores them and fills the shared cache, the board reads them
without computing, a change of any input is never hidden by them, and without the task the
board computes them itself."""

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from helpdesk.desk.supervisor.tasks import board_days_refresh
from helpdesk.models import Call, Inquiry
from kpi import selectors as kpi_selectors
from kpi.models import KpiDayFigures, KpiTarget
from tests.factories import CallFactory, PhoneInquiryFactory, tokyo
from tests.factories.kpi import FiscalMonthPeriodFactory, KpiTargetFactory, email_inquiry

pytestmark = pytest.mark.django_db

NOW = tokyo(2026, 10, 3, 15)
LIVE = "desk:supervisor:live"


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def sv_client(client, supervisor):
    client.force_login(supervisor)
    return client


def records() -> Inquiry:
    at = tokyo(2026, 10, 2, 10)
    CallFactory(arrived_at=at, agent="op01")
    CallFactory(arrived_at=at, outcome=Call.Outcome.IVR_ABANDONED)
    inquiry = PhoneInquiryFactory(call=CallFactory(arrived_at=at, agent="op01"))
    inquiry.wrapup_completed_at = inquiry.call.ended_at + dt.timedelta(hours=3)
    inquiry.save()
    email_inquiry(at)
    CallFactory(arrived_at=tokyo(2026, 10, 3, 9))
    return inquiry


def aggregates_run(queries) -> bool:
    """Did the request run the day's call aggregate (the cold computation)?"""
    return any("acw_in_month" in q["sql"] for q in queries.captured_queries)


def live(client, date: str = "2026-10-02") -> dict:
    return client.get(reverse(LIVE), {"date": date}).context["board"]


def test_the_task_stores_today_yesterday_and_the_board_reads_them_without_computing(sv_client, frozen):
    KpiTargetFactory()
    records()
    result = board_days_refresh.delay().get()  # eager in the test settings
    assert result["days"] == ["2026-10-03", "2026-10-02"]
    assert set(KpiDayFigures.objects.values_list("date", flat=True)) == {dt.date(2026, 10, 2), dt.date(2026, 10, 3)}
    with CaptureQueriesContext(connection) as queries:
        board = live(sv_client)
    assert not aggregates_run(queries)
    fresh = kpi_selectors.kpi_month_compute(month=board["day"].month)  # every October record is on the 2nd or 3rd
    assert board["phone"]["answer_rate"]["total_calls"] == 3 == fresh["answer_rate"]["total_calls"] - 1
    assert board["phone"]["average_handle_time"]["calls_acw_capped"] == 1
    assert board["mail"]["waiting"] == 1
    # nothing changed: the next run stores nothing
    assert board_days_refresh.delay().get()["days"] == []


def test_the_task_fills_the_shared_cache(sv_client, settings, frozen):
    from django.core.cache import cache

    settings.DESK_SUPERVISOR_CACHE_SECONDS = 60
    cache.clear()
    KpiTargetFactory()
    records()
    board_days_refresh.delay().get()
    with CaptureQueriesContext(connection) as queries:
        board = live(sv_client)
    assert board["phone"]["answer_rate"]["total_calls"] == 3
    assert not any("helpdesk_call" in q["sql"] for q in queries.captured_queries)  # the cached panel
    cache.clear()


@pytest.mark.parametrize("cache_seconds", [0, 60])
def test_no_change_of_any_kind_is_hidden_by_stored_figures(sv_client, settings, frozen, cache_seconds):
    """After each kind of change the stored figures are of older data: the board computes
    fresh ones (and the task, when it runs first, stores them)."""
    from django.core.cache import cache

    settings.DESK_SUPERVISOR_CACHE_SECONDS = cache_seconds
    settings.DESK_SUPERVISOR_MAX_STALE_SECONDS = 0  # exact on every poll (test_stale_figures.py: the bound)
    cache.clear()
    target = KpiTargetFactory()
    inquiry = records()
    board_days_refresh.delay().get()
    assert live(sv_client)["phone"]["average_handle_time"]["calls_acw_capped"] == 1
    # an import
    CallFactory(arrived_at=tokyo(2026, 10, 2, 11), outcome=Call.Outcome.IVR_ABANDONED)
    assert live(sv_client)["phone"]["answer_rate"]["total_calls"] == 4
    # an inquiry edit (the wrap-up in time), then the task before the board
    Inquiry.objects.filter(pk=inquiry.pk).update(wrapup_completed_at=inquiry.call.ended_at + dt.timedelta(seconds=30))
    # recomputed: the 2nd (its call's wrap-up); the 3rd too only where every change stales
    # every day (SQLite's global log; PostgreSQL's per-day versions leave it current)
    changed = ["2026-10-02"] if connection.vendor == "postgresql" else ["2026-10-03", "2026-10-02"]
    assert board_days_refresh.delay().get()["days"] == changed
    with CaptureQueriesContext(connection) as queries:
        assert live(sv_client)["phone"]["average_handle_time"]["calls_acw_capped"] == 0
    assert not aggregates_run(queries)
    # the admin's ACW limit
    KpiTarget.objects.filter(pk=target.pk).update(acw_limit_seconds=10)
    assert live(sv_client)["phone"]["average_handle_time"]["calls_acw_capped"] == 1
    # the calendar: October busy, target 70 %
    FiscalMonthPeriodFactory(fiscal_year=2026, month=10)
    assert live(sv_client)["display"]["target"] == "70.0%"
    cache.clear()


def test_a_day_a_board_asked_for_is_kept_fresh(sv_client, frozen):
    KpiTargetFactory()
    CallFactory(arrived_at=tokyo(2026, 9, 20, 10))
    assert live(sv_client, "2026-09-20")["phone"]["answer_rate"]["total_calls"] == 1  # computed, stored
    CallFactory(arrived_at=tokyo(2026, 9, 20, 11))
    assert "2026-09-20" in board_days_refresh.delay().get()["days"]
    with CaptureQueriesContext(connection) as queries:
        assert live(sv_client, "2026-09-20")["phone"]["answer_rate"]["total_calls"] == 2
    assert not aggregates_run(queries)


def test_without_the_task_the_board_computes_the_figures_itself(sv_client, frozen):
    """No worker, no broker, no Redis: nothing stored, the board computes in the request (as
    before) — a 200 with the right figures, never a 500."""
    KpiTargetFactory()
    records()
    assert not KpiDayFigures.objects.exists()
    response = sv_client.get(reverse("desk:supervisor:board"), {"date": "2026-10-02"})
    assert response.status_code == 200
    assert response.context["board"]["phone"]["answer_rate"]["total_calls"] == 3


def test_a_second_refresh_at_once_is_skipped(frozen):
    from django.core.cache import cache

    from helpdesk.desk.supervisor.refresh import REFRESH_LOCK

    cache.add(REFRESH_LOCK, "1")
    try:
        assert board_days_refresh.delay().get() == {"skipped": "another refresh holds the lock"}
    finally:
        cache.delete(REFRESH_LOCK)


# --- stored ahead (docs/desk-supervisor.md, "Stored ahead") ---------------------------------


def ahead_expected(days: list[str]) -> list[str]:
    """PostgreSQL's input log says which days changed; SQLite's (global rows) does not: no day
    is stored ahead there, the board computes a day no board asked for (as before)."""
    return days if connection.vendor == "postgresql" else []


def test_the_task_stores_ahead_every_day_with_records_of_the_last_three_months(sv_client, frozen):
    KpiTargetFactory()
    CallFactory(arrived_at=tokyo(2026, 9, 20, 10), agent="op01")
    CallFactory(arrived_at=tokyo(2026, 8, 1, 9), outcome=Call.Outcome.IVR_ABANDONED)
    email_inquiry(tokyo(2026, 9, 28, 11))
    CallFactory(arrived_at=tokyo(2026, 7, 31, 23))  # before August: not ahead
    result = board_days_refresh.delay().get()
    assert result["days"] == ["2026-10-03", "2026-10-02"]
    assert result["ahead"] == ahead_expected(["2026-09-28", "2026-09-20", "2026-08-01"])
    assert result["ahead_left"] == 0
    stored = set(KpiDayFigures.objects.values_list("date", flat=True))
    assert (dt.date(2026, 9, 20) in stored) is (connection.vendor == "postgresql")
    assert dt.date(2026, 7, 31) not in stored
    # a board opening a day stored ahead reads it: nothing computed, the KPI app's figures
    with CaptureQueriesContext(connection) as queries:
        board = live(sv_client, "2026-09-20")
    assert aggregates_run(queries) is (connection.vendor != "postgresql")
    assert board["phone"]["answer_rate"]["total_calls"] == 1
    assert live(sv_client, "2026-08-01")["phone"]["answer_rate"]["ivr_abandoned"] == 1
    # nothing changed: nothing computed again
    assert board_days_refresh.delay().get()["ahead"] == []


def test_a_day_stored_ahead_is_computed_again_only_when_its_own_records_change(sv_client, frozen):
    KpiTargetFactory()
    CallFactory(arrived_at=tokyo(2026, 9, 20, 10))
    CallFactory(arrived_at=tokyo(2026, 9, 21, 10))
    board_days_refresh.delay().get()
    # a late import into the 20th and a first record of the 25th
    CallFactory(arrived_at=tokyo(2026, 9, 20, 15), outcome=Call.Outcome.QUEUE_ABANDONED)
    CallFactory(arrived_at=tokyo(2026, 9, 25, 10))
    result = board_days_refresh.delay().get()
    assert result["ahead"] == ahead_expected(["2026-09-25", "2026-09-20"])  # not the 21st: revalidated
    # stored ahead is not asked for: not among the days the task keeps fresh first (and warms)
    assert "2026-09-20" not in result["days"]
    with CaptureQueriesContext(connection) as queries:
        board = live(sv_client, "2026-09-20")
    assert aggregates_run(queries) is (connection.vendor != "postgresql")
    assert board["phone"]["answer_rate"]["total_calls"] == 2
    assert board["phone"]["answer_rate"]["queue_abandoned"] == 1


def test_storing_ahead_keeps_to_its_time_budget_and_can_be_switched_off(settings, frozen):
    KpiTargetFactory()
    for day in (10, 11, 12):
        CallFactory(arrived_at=tokyo(2026, 9, day, 10))
    settings.DESK_SUPERVISOR_STORE_AHEAD_SECONDS = 0  # no time for any: today and yesterday only
    result = board_days_refresh.delay().get()
    assert result["ahead"] == []
    assert result["ahead_left"] == len(ahead_expected(["10", "11", "12"]))
    settings.DESK_SUPERVISOR_STORE_AHEAD_SECONDS = 20
    settings.DESK_SUPERVISOR_STORE_AHEAD_MONTHS = 0
    assert board_days_refresh.delay().get()["ahead"] == []
    assert not KpiDayFigures.objects.filter(date__month=9).exists()
    settings.DESK_SUPERVISOR_STORE_AHEAD_MONTHS = 3
    assert board_days_refresh.delay().get()["ahead"] == ahead_expected(["2026-09-12", "2026-09-11", "2026-09-10"])
