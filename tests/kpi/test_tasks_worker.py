"""The nightly beat task through a real Celery worker on Redis (PostgreSQL only: a worker
process cannot share the in-memory SQLite test database)."""

import pytest
from django.db import connection

from kpi.tasks import kpi_recompute_month, kpi_recompute_open_months
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


def test_recompute_runs_in_a_real_worker(celery_worker):
    CallFactory()
    result = kpi_recompute_month.delay("2026-10").get(timeout=60)
    assert result == {"months": ["2026-10"]}
    nightly = kpi_recompute_open_months.delay().get(timeout=60)
    assert "months" in nightly and len(nightly["months"]) >= 3
