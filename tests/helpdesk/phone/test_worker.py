"""A call-file upload travelling through a real Celery worker on Redis, with its progress
visible on the import run."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from helpdesk.models import Call, ImportRun
from tests.workers import ON_POSTGRESQL, finished_import_run


@pytest.mark.redis
@pytest.mark.celery_worker
@ON_POSTGRESQL
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
    status = finished_import_run(api, run_id)
    run = ImportRun.objects.get(pk=run_id)
    assert run.status == ImportRun.Status.DONE, run.error
    assert (run.created, run.rejected, run.done, run.total) == (11, 6, run.total, 60)
    assert status["progress"] == 1.0
    assert Call.objects.filter(source="asterisk").count() == 11
    assert list((tmp_path / "imports" / "calls").iterdir()) == []  # uploads removed
