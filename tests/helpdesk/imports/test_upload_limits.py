"""Every import endpoint refuses an upload over HELPDESK_IMPORT_MAX_UPLOAD_BYTES with a 413
that says what to do, before a run exists or a byte is stored."""

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from helpdesk.models import ImportRun

pytestmark = pytest.mark.django_db

ENDPOINTS = [
    ("/api/calls/import/", "calls.csv"),
    ("/api/mail/imports/", "mail.mbox"),
    ("/api/handover/import/", "handover.jsonl"),
]


@pytest.mark.parametrize(("url", "name"), ENDPOINTS)
def test_an_upload_over_the_limit_is_a_413_and_leaves_nothing(api, admin_user, settings, tmp_path, url, name):
    settings.MEDIA_ROOT = tmp_path
    settings.HELPDESK_IMPORT_MAX_UPLOAD_BYTES = 1000
    upload = SimpleUploadedFile(name, b"x" * 1001)

    response = api.as_user(admin_user).post(url, {"file": upload}, format="multipart")

    assert response.status_code == 413, response.content
    body = response.json()
    assert "管理コマンド" in body["message"] and body["extra"]["limit_bytes"] == 1000
    assert not ImportRun.objects.exists()
    assert [p for p in Path(tmp_path).rglob("*") if p.is_file()] == []


@pytest.mark.parametrize(("url", "name"), ENDPOINTS)
def test_an_upload_at_the_limit_is_taken(api, admin_user, settings, tmp_path, url, name):
    settings.MEDIA_ROOT = tmp_path
    settings.HELPDESK_IMPORT_MAX_UPLOAD_BYTES = 1001
    upload = SimpleUploadedFile(name, b"x" * 1001)
    response = api.as_user(admin_user).post(url, {"file": upload}, format="multipart")
    assert response.status_code == 202, response.content
