"""The nightly beat task through a real Celery worker on Redis (PostgreSQL only: a worker
process cannot share the in-memory SQLite test database)."""

import time

import pytest
from django.db import connection

from helpdesk.models import AuditEvent
from kpi.tasks import kpi_recompute_open_months
from tests.factories import CallFactory

pytestmark = [
    pytest.mark.celery_worker,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="a worker process cannot share the in-memory SQLite test database; runs on PostgreSQL",
    ),
]


def test_nightly_recompute_runs_in_a_real_worker(celery_worker):
    """Sent through Redis to the worker process; observed through the audit row the run
    writes in the shared test database (the worker's cache is its own)."""
    CallFactory()
    kpi_recompute_open_months.delay()
    deadline = time.monotonic() + 90
    event = None
    while time.monotonic() < deadline and event is None:
        event = AuditEvent.objects.filter(object_type="kpi.month_cache").first()
        time.sleep(0.3)
    assert event is not None, "the worker never ran the nightly KPI recompute"
    assert len(event.changes["months"]) >= 3
