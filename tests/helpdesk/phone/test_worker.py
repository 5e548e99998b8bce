"""A call-file upload travelling through a real Celery worker on Redis, with its progress
visible on the import run."""

import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from helpdesk.models import Call, ImportRun


@pytest.mark.redis
@pytest.mark.celery_worker
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="a worker process cannot share the in-memory SQLite test database; runs on PostgreSQL",
)
def test_asterisk_upload_is_imported_by_a_real_worker(celery_worker, api, admin_user, settings, tmp_path, calls_data):
    settings.MEDIA_ROOT = tmp_path
    files = [
        SimpleUploadedFile(name, (calls_data / name).read_bytes())
        for name in ("queue_log", "Master.csv", "queue_log-20261001")
    ]

    response = api.as_user(admin_user).post(
        "/api/calls/import/", {"file": files, "format": "asterisk"}, format="multipart"
    )

    assert response.status_code == 202
    run_id = response.json()["id"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = api.get(f"/api/import-runs/{run_id}/").json()
        if status["status"] in ("done", "failed"):
            break
        time.sleep(0.2)
    run = ImportRun.objects.get(pk=run_id)
    assert run.status == ImportRun.Status.DONE, run.error
    assert (run.created, run.rejected, run.done, run.total) == (11, 6, run.total, 60)
    assert status["progress"] == 1.0
    assert Call.objects.filter(source="asterisk").count() == 11
    assert list((tmp_path / "imports" / "calls").iterdir()) == []  # uploads removed
