"""The board's refresh task through a real Celery worker on Redis (PostgreSQL only: a worker
process cannot share the in-memory SQLite test database)."""

import datetime as dt

from django.utils import timezone

from helpdesk.desk.supervisor.tasks import board_days_refresh
from kpi.models import KpiDayFigures
from kpi.selectors import kpi_input_version
from kpi.today import Day
from tests.factories import CallFactory
from tests.workers import REAL_WORKER, wait_for

pytestmark = REAL_WORKER


def test_the_refresh_runs_in_a_real_worker_and_stores_the_days_at_the_current_version(celery_worker):
    call = CallFactory(arrived_at=timezone.now() - dt.timedelta(days=5))
    board_days_refresh.delay(["2026-10-02"])
    today = Day.today()
    # today, yesterday, the asked day and the call's (stored ahead)
    wanted = {today.date, today.prev().date, dt.date(2026, 10, 2), Day.today(call.arrived_at).date}
    wait_for(lambda: wanted <= set(KpiDayFigures.objects.values_list("date", flat=True)))
    rows = list(KpiDayFigures.objects.order_by("date"))
    assert {r.date for r in rows} == wanted, "the worker never stored today, yesterday, the asked day and the call's"
    assert {r.version for r in rows} == {kpi_input_version()}
