"""The board's refresh task through a real Celery worker on Redis (PostgreSQL only: a worker
process cannot share the in-memory SQLite test database)."""

from helpdesk.desk.supervisor.tasks import board_days_refresh
from kpi.models import KpiDayFigures
from kpi.selectors import kpi_input_version
from tests.factories import CallFactory
from tests.workers import REAL_WORKER, wait_for

pytestmark = REAL_WORKER


def test_the_refresh_runs_in_a_real_worker_and_stores_the_days_at_the_current_version(celery_worker):
    CallFactory()
    board_days_refresh.delay(["2026-10-02"])
    wait_for(lambda: KpiDayFigures.objects.count() >= 3)
    rows = list(KpiDayFigures.objects.order_by("date"))
    assert len(rows) == 3, "the worker never stored today, yesterday and the asked day"
    assert {r.version for r in rows} == {kpi_input_version()}
