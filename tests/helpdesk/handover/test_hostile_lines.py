"""Hostile lines (issue 14): a line nested 100,000 deep, a 50 MB line. Each is rejected with
its line number and reason, memory stays bounded, and the rest of the file imports."""

import tracemalloc

import pytest

from helpdesk.handover.services import MAX_JSON_DEPTH, json_too_deep
from helpdesk.models import ImportReject, ImportRun, Inquiry
from tests.helpdesk.handover.conftest import import_file, jsonl
from tests.helpdesk.handover.test_import_rejects import HEADER, INQUIRY

pytestmark = pytest.mark.django_db

DEEP = "[" * 100_000 + "]" * 100_000


def _rejects():
    return [(r.line, r.offset, r.reason) for r in ImportReject.objects.order_by("line")]


def test_a_line_nested_100000_deep_is_rejected_not_a_crash(tmp_path):
    path = tmp_path / "deep.jsonl"
    before = jsonl(HEADER)
    deep_object = '{"type": "inquiry", "ref": "EG-DEEP", "body": ' + DEEP + "}"
    path.write_text(before + DEEP + "\n" + deep_object + "\n" + jsonl(INQUIRY), encoding="utf-8")

    assert import_file(path) == "3 read, 1 created, 0 updated, 0 unchanged, 2 rejected"
    reason = f"invalid JSON: nested deeper than {MAX_JSON_DEPTH} levels"
    assert _rejects() == [
        (2, len(before.encode()), reason),
        (3, len(before.encode()) + len(DEEP) + 1, reason),
    ]
    assert Inquiry.objects.get().ref == INQUIRY["ref"]


def test_a_deep_first_line_is_not_taken_for_a_header(tmp_path):
    path = tmp_path / "deep.jsonl"
    path.write_text(DEEP + "\n" + jsonl(INQUIRY), encoding="utf-8")

    assert import_file(path) == "2 read, 1 created, 0 updated, 0 unchanged, 1 rejected"
    assert ImportRun.objects.get().status == ImportRun.Status.DONE
    assert _rejects()[0][0] == 1


def test_brackets_inside_strings_do_not_count_as_nesting():
    text = '{"type": "inquiry", "body": "' + "[[{" * 500 + '\\"]]"}'
    assert not json_too_deep(text.encode())
    assert json_too_deep(("[" * 65 + "]" * 65).encode())
    assert not json_too_deep(("[" * 64 + "]" * 64).encode())


def test_a_50_mb_line_is_rejected_with_bounded_memory(tmp_path, settings):
    settings.HELPDESK_HANDOVER_MAX_LINE_BYTES = 1024 * 1024
    path = tmp_path / "huge.jsonl"
    head = jsonl(HEADER)
    with path.open("w", encoding="utf-8") as out:
        out.write(head)
        out.write('{"type": "inquiry", "ref": "EG-HUGE", "channel": "form", "body": "')
        chunk = "あ" * (1024 * 1024 // 3)
        for _ in range(50):
            out.write(chunk)
        out.write('"}\n')
        out.write(jsonl(INQUIRY))
    huge = path.stat().st_size - len(head.encode()) - len(jsonl(INQUIRY).encode())

    tracemalloc.start()
    try:
        report = import_file(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert report == "2 read, 1 created, 0 updated, 0 unchanged, 1 rejected"
    assert _rejects() == [(2, len(head.encode()), f"line longer than {1024 * 1024} bytes ({huge} bytes)")]
    assert peak < 12 * 1024 * 1024  # the cap and a reject excerpt, not the 50 MB line
    assert len(bytes(ImportReject.objects.get().raw)) == 4096  # an excerpt is kept, not the line


def test_an_api_upload_nested_100000_deep_is_a_reject_not_a_500(
    api, admin_user, settings, tmp_path, django_capture_on_commit_callbacks
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.MEDIA_ROOT = tmp_path
    client = api.as_user(admin_user)
    upload = SimpleUploadedFile(
        "deep.jsonl", (DEEP + "\n" + jsonl(INQUIRY)).encode(), content_type="application/x-ndjson"
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/api/handover/import/", {"file": upload}, format="multipart")

    assert response.status_code == 202
    status = client.get(f"/api/import-runs/{response.json()['id']}/").json()
    assert status["status"] == "done"
    assert status["summary"] == "2 read, 1 created, 0 updated, 0 unchanged, 1 rejected"
    assert status["rejects"][0]["line"] == 1
    assert status["rejects"][0]["reason"] == f"invalid JSON: nested deeper than {MAX_JSON_DEPTH} levels"
