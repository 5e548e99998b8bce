"""The nightly beat task through a real Celery worker on Redis (PostgreSQL only: a worker
process cannot share the in-memory SQLite test database)."""

from helpdesk.models import AuditEvent
from kpi.tasks import kpi_recompute_open_months
from tests.factories import CallFactory
from tests.workers import REAL_WORKER, wait_for

pytestmark = REAL_WORKER


def test_nightly_recompute_runs_in_a_real_worker(celery_worker):
    """Sent through Redis to the worker process; observed through the audit row the run
    writes in the shared test database (the worker's cache is its own)."""
    CallFactory()
    kpi_recompute_open_months.delay()
    event = wait_for(lambda: AuditEvent.objects.filter(object_type="kpi.month_cache").first())
    assert event is not None, "the worker never ran the nightly KPI recompute"
    assert len(event.changes["months"]) >= 3
