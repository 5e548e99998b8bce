"""Admin-only upload and export; the import-run status endpoint."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from helpdesk.imports.services import import_run_finish, import_run_reject, import_run_start
from helpdesk.models import AuditEvent, ImportRun, Inquiry
from tests.factories import InquiryFactory
from tests.helpdesk.handover.conftest import jsonl

pytestmark = pytest.mark.django_db

GOOD = {"type": "inquiry", "ref": "EG-20261001-API001", "channel": "form", "received_at": "2026-10-01T10:00:00+09:00"}


def _upload(content: str, name="handover.jsonl"):
    return SimpleUploadedFile(name, content.encode("utf-8"), content_type="application/x-ndjson")


def test_admin_upload_runs_the_import_task_and_returns_the_run(
    api, admin_user, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path
    client = api.as_user(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/api/handover/import/", {"file": _upload(jsonl(GOOD, "{broken"))}, format="multipart")

    assert response.status_code == 202
    run_id = response.json()["id"]
    assert Inquiry.objects.filter(ref=GOOD["ref"]).exists()
    status = client.get(f"/api/import-runs/{run_id}/").json()
    assert status["status"] == "done"
    assert status["kind"] == "records"
    assert status["created_by"] == "admin1"
    assert status["summary"] == "2 read, 1 created, 0 updated, 0 unchanged, 1 rejected"
    assert status["progress"] == 1.0
    assert status["rejects"] == [
        {
            "source_name": "handover.jsonl",
            "line": 2,
            "offset": len(jsonl(GOOD)),
            "reason": status["rejects"][0]["reason"],
            "raw_size": 7,
        }
    ]
    assert status["rejects"][0]["reason"].startswith("invalid JSON")
    assert not list((tmp_path / "imports").iterdir())  # the upload (personal information) is deleted


@pytest.mark.parametrize("role", ["agent", "supervisor", "reviewer", "nobody"])
def test_only_admins_may_upload_or_export(api, role, request, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    client = api.as_user(request.getfixturevalue(role))
    assert client.post("/api/handover/import/", {"file": _upload(jsonl(GOOD))}, format="multipart").status_code == 403
    assert client.get("/api/handover/export/").status_code == 403
    assert not ImportRun.objects.exists()
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT).exists()


def test_anonymous_is_refused(api):
    assert api.post("/api/handover/import/", {}, format="multipart").status_code in (401, 403)
    assert api.get("/api/import-runs/1/").status_code in (401, 403)


def test_upload_without_file_is_400_naming_the_field(api, admin_user):
    response = api.as_user(admin_user).post("/api/handover/import/", {}, format="multipart")
    assert response.status_code == 400
    assert "file" in json.dumps(response.json())


def test_admin_export_streams_json_lines_and_is_audited(api, admin_user):
    InquiryFactory(ref="EG-20261001-EXP001")
    response = api.as_user(admin_user).get("/api/handover/export/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in b"".join(response.streaming_content).decode().splitlines()]
    assert lines[0]["type"] == "header"
    assert any(r["type"] == "inquiry" and r["ref"] == "EG-20261001-EXP001" for r in lines)
    event = AuditEvent.objects.get(action=AuditEvent.Action.EXPORT)
    assert event.actor == admin_user


def test_import_run_status_shows_progress_and_is_limited_to_its_owner_or_admins(
    api, agent, other_agent, admin_user, reviewer
):
    run = import_run_start(kind=ImportRun.Kind.CALLS_GENERIC, source_name="calls.csv", created_by=agent, total=200)
    for line in (5, 3):
        import_run_reject(run=run, source_name="calls.csv", line=line, reason="bad outcome", raw=b"a,b")
    from helpdesk.imports.services import import_run_progress

    import_run_progress(run=run, done=50)

    mine = api.as_user(agent).get(f"/api/import-runs/{run.pk}/")
    assert mine.status_code == 200
    body = mine.json()
    assert (body["status"], body["done"], body["total"], body["progress"]) == ("running", 50, 200, 0.25)
    assert [r["line"] for r in body["rejects"]] == [3, 5]
    assert "raw" not in body["rejects"][0]
    assert api.as_user(other_agent).get(f"/api/import-runs/{run.pk}/").status_code == 404
    assert api.as_user(reviewer).get(f"/api/import-runs/{run.pk}/").status_code == 403
    assert api.as_user(admin_user).get(f"/api/import-runs/{run.pk}/?rejects_limit=1").json()["rejects"][0]["line"] == 3

    import_run_finish(run=run, read=200, created=198, updated=0, unchanged=0, rejected=2)
    assert api.as_user(agent).get(f"/api/import-runs/{run.pk}/").json()["summary"] == (
        "200 read, 198 created, 0 updated, 0 unchanged, 2 rejected"
    )
    listing = api.as_user(admin_user).get("/api/import-runs/").json()
    assert [r["id"] for r in listing["results"]] == [run.pk]
    assert api.as_user(other_agent).get("/api/import-runs/").json()["results"] == []


def test_task_with_a_missing_upload_fails_the_run_instead_of_leaving_it_pending(tmp_path):
    from helpdesk.handover.tasks import handover_import_file
    from helpdesk.imports.services import import_run_create_pending

    run = import_run_create_pending(kind=ImportRun.Kind.RECORDS, source_name="gone.jsonl")
    handover_import_file(run.pk, str(tmp_path / "gone.jsonl"))
    run.refresh_from_db()
    assert run.status == ImportRun.Status.FAILED
    assert run.error.startswith("cannot read upload")


def test_task_does_not_rerun_a_finished_run(tmp_path):
    from helpdesk.handover.tasks import handover_import_file
    from helpdesk.imports.services import import_run_create_pending

    path = tmp_path / "f.jsonl"
    path.write_text(jsonl(GOOD), encoding="utf-8")
    run = import_run_create_pending(kind=ImportRun.Kind.RECORDS, source_name="f.jsonl")
    assert handover_import_file(run.pk, str(path)) == "1 read, 1 created, 0 updated, 0 unchanged, 0 rejected"
    assert not path.exists()
    path.write_text(jsonl(GOOD), encoding="utf-8")
    assert handover_import_file(run.pk, str(path)) == "1 read, 1 created, 0 updated, 0 unchanged, 0 rejected"
    assert ImportRun.objects.get(pk=run.pk).read == 1
