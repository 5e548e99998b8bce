"""The handover endpoints' OpenAPI schema, and the upload travelling through a real Celery
worker on Redis."""

import pytest
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from helpdesk.models import ImportRun, Inquiry, Role
from tests.factories import UserFactory
from tests.helpdesk.handover.conftest import jsonl
from tests.workers import ON_POSTGRESQL, finished_import_run


@pytest.mark.django_db
def test_schema_of_handover_endpoints_validates_without_warnings(tmp_path):
    out = tmp_path / "schema.yaml"
    call_command(
        "spectacular",
        "--validate",
        "--fail-on-warn",
        "--urlconf",
        "tests.helpdesk.handover.urls_handover_only",
        "--file",
        str(out),
    )
    text = out.read_text(encoding="utf-8")
    for path in ("/api/handover/import/", "/api/handover/export/", "/api/import-runs/", "/api/import-runs/{id}/"):
        assert f"  {path}:" in text, path


@pytest.mark.celery_worker
@pytest.mark.redis
@ON_POSTGRESQL
def test_upload_is_imported_by_a_real_worker(celery_worker, api, settings, tmp_path):
    # Earlier transactional tests flush the role groups the migrations created.
    for role in Role.values:
        Group.objects.get_or_create(name=role)
    admin_user = UserFactory(username="admin1", roles=[Role.ADMIN])
    settings.MEDIA_ROOT = tmp_path
    lines = [
        {"type": "inquiry", "ref": f"EG-20261001-W{n:05d}", "channel": "form", "received_at": "2026-10-01T10:00:00"}
        for n in range(30)
    ]
    upload = SimpleUploadedFile("big.jsonl", jsonl(*lines).encode("utf-8"))

    response = api.as_user(admin_user).post("/api/handover/import/", {"file": upload}, format="multipart")

    assert response.status_code == 202
    run_id = response.json()["id"]
    finished_import_run(api, run_id)
    run = ImportRun.objects.get(pk=run_id)
    assert run.status == ImportRun.Status.DONE, run.error
    assert run.summary() == "30 read, 30 created, 0 updated, 0 unchanged, 0 rejected"
    assert Inquiry.objects.count() == 30
