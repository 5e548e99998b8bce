"""What the tests that go through a real Celery worker share: the worker is another process,
so it must see the test database (PostgreSQL; an in-memory SQLite database is the test
process's own), and what it did is observed by polling the database."""

import time
from collections.abc import Callable
from typing import TypeVar

import pytest
from django.db import connection

T = TypeVar("T")

ON_POSTGRESQL = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="a worker process cannot share the in-memory SQLite test database; runs on PostgreSQL",
)

# A module's marks when each of its tests uses the `celery_worker` fixture.
REAL_WORKER = [
    pytest.mark.celery_worker,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
    ON_POSTGRESQL,
]


def wait_for(observe: Callable[[], T], seconds: float = 90, every: float = 0.2) -> T:
    """`observe()`'s first truthy value within `seconds`, else its last value (falsy): the
    caller's assertion then says what the worker never did."""
    deadline = time.monotonic() + seconds
    value = observe()
    while not value and time.monotonic() < deadline:
        time.sleep(every)
        value = observe()
    return value


def finished_import_run(api, run_id: int, seconds: float = 60) -> dict:
    """The import run's API view once the worker has finished it (done or failed), else its
    last view."""
    last: dict = {}

    def finished() -> bool:
        last.update(api.get(f"/api/import-runs/{run_id}/").json())
        return last["status"] in ("done", "failed")

    wait_for(finished, seconds=seconds)
    return last
