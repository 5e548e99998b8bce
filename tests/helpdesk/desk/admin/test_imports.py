"""Imports on the admin's desk: upload, the run's progress bar (htmx polling until it has
finished), the rejects with line and reason, the result counts."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from helpdesk.imports.services import import_run_create_pending
from helpdesk.models import Call, ImportRun

pytestmark = pytest.mark.django_db


@pytest.fixture
def _upload(django_capture_on_commit_callbacks, settings, tmp_path):
    """Upload a tests/data/commands file; the queued import runs (eager Celery) on commit."""
    settings.MEDIA_ROOT = tmp_path

    def upload(client, test_data, name, kind="calls_generic"):
        data = (test_data / "commands" / name).read_bytes()
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(
                reverse("desk:admin:imports"),
                {"kind": kind, "encoding": "utf-8", "file": SimpleUploadedFile(name, data)},
            )

    return upload


def test_a_call_file_is_imported_and_its_counts_shown(admin_client, admin_user, test_data, _upload):
    response = _upload(admin_client, test_data, "calls_ok.csv")
    assert response.status_code == 302
    run = ImportRun.objects.get()
    assert response["Location"] == reverse("desk:admin:import-run", args=[run.pk])
    assert run.status == ImportRun.Status.DONE and run.created_by == admin_user
    assert Call.objects.count() == 2
    body = admin_client.get(response["Location"]).content.decode()
    assert 'id="count-created">2<' in body and 'value="100"' in body
    assert '<div id="import-progress">' in body  # finished: no more polling
    assert "却下された行はありません" in body


def test_rejects_are_listed_with_line_and_reason(admin_client, test_data, _upload):
    response = _upload(admin_client, test_data, "calls_all_rejected.csv")
    run = ImportRun.objects.get()
    assert run.rejected == 2
    body = admin_client.get(response["Location"]).content.decode()
    table = body.split('id="rejects"')[1].split("</table>")[0]
    from django.utils.html import escape

    for reject in run.rejects.all():
        assert f"<td>{reject.line}</td><td>{escape(reject.reason)}</td>" in table


def test_a_handover_file_and_a_mailbox_go_through_their_own_importers(admin_client, test_data, _upload):
    assert _upload(admin_client, test_data, "records_partial.jsonl", kind="records").status_code == 302
    mbox = SimpleUploadedFile("inbox.mbox", b"From a@example.jp Thu Oct  1 10:00:00 2026\nSubject: t\n\nbody\n")
    response = admin_client.post(reverse("desk:admin:imports"), {"kind": "mail", "encoding": "utf-8", "file": mbox})
    assert response.status_code == 302
    kinds = set(ImportRun.objects.values_list("kind", flat=True))
    assert kinds == {ImportRun.Kind.RECORDS, ImportRun.Kind.MAIL}


def test_a_running_import_is_polled(admin_client):
    run = import_run_create_pending(kind=ImportRun.Kind.CALLS_GENERIC, source_name="big.csv", total=1000)
    ImportRun.objects.filter(pk=run.pk).update(status=ImportRun.Status.RUNNING, done=250)
    body = admin_client.get(reverse("desk:admin:import-run-progress", args=[run.pk])).content.decode()
    assert 'hx-trigger="every 1s"' in body and 'value="25"' in body


@pytest.mark.parametrize(
    "data",
    [
        {"kind": "calls_generic", "encoding": "utf-8"},  # no file
        {"kind": "spreadsheet", "encoding": "utf-8"},
        {"kind": "calls_generic", "encoding": "ebcdic"},
    ],
)
def test_bad_uploads_are_a_400(admin_client, data):
    if "file" not in data and data["kind"] != "calls_generic" or data["encoding"] != "utf-8":
        data = {**data, "file": SimpleUploadedFile("a.csv", b"x")}
    response = admin_client.post(reverse("desk:admin:imports"), data)
    assert response.status_code == 400
    assert not ImportRun.objects.exists()


def test_an_empty_file_is_a_form_error(admin_client):
    response = admin_client.post(
        reverse("desk:admin:imports"),
        {"kind": "calls_generic", "encoding": "utf-8", "file": SimpleUploadedFile("a.csv", b"")},
    )
    assert response.status_code == 400


def test_too_large_an_upload_is_refused_with_its_limit(admin_client, settings):
    settings.HELPDESK_IMPORT_MAX_UPLOAD_BYTES = 10
    response = admin_client.post(
        reverse("desk:admin:imports"),
        {"kind": "calls_generic", "encoding": "utf-8", "file": SimpleUploadedFile("a.csv", b"x" * 100)},
    )
    assert response.status_code == 413
    assert "上限" in response.content.decode()
    assert not ImportRun.objects.exists()
