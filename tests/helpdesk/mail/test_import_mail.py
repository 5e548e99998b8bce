"""`manage.py import_mail`, the upload API and the Celery task over mbox, Maildir and .eml."""

import datetime as dt
import io
import shutil
from pathlib import Path

import pytest
from django.core.management import call_command

from helpdesk.mail.parse.sources import iter_mbox
from helpdesk.models import EmailMessage, ImportReject, ImportRun, Inquiry
from tests.helpdesk.mail import builders as b

DATA = Path(__file__).resolve().parents[2] / "data" / "mail"
TOKYO = dt.timezone(dt.timedelta(hours=9))
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("mail_path")]


def _run(*paths) -> str:
    out = io.StringIO()
    call_command("import_mail", *[str(p) for p in paths], stdout=out, stderr=io.StringIO())
    return out.getvalue().strip()


def test_import_mbox_maildir_and_eml_then_again_is_idempotent():
    paths = [DATA / "sample.mbox", DATA / "maildir", DATA / "question-iso2022jp-cp50220.eml"]

    first = _run(*paths)

    assert first == "6 read, 5 created, 0 updated, 0 unchanged, 1 rejected"
    assert EmailMessage.objects.count() == 5
    assert Inquiry.objects.count() == 4  # the center's answer joins its question
    answered = Inquiry.objects.get(source_message__message_id="<sample-q2@example.jp>")
    assert answered.first_answered_at == dt.datetime(2026, 10, 5, 13, 30, tzinfo=TOKYO)
    cp50220 = EmailMessage.objects.get(message_id="<sample-q1@example.jp>")
    assert cp50220.subject == "①電子署名の付与で髙橋です"
    assert cp50220.from_name == "髙橋 﨑子"
    assert "ｶﾀｶﾅ入り" in cp50220.body_text
    assert cp50220.received_at == dt.datetime(2026, 10, 5, 9, 12, 40, tzinfo=TOKYO)
    html = EmailMessage.objects.get(message_id="<sample-q4@example.jp>")
    assert "<script" not in html.body_html and "添付の画面をご確認ください" in html.body_text
    answer = EmailMessage.objects.get(message_id="<sample-a2@e-gov-help.example.jp>")
    assert "From the center: 回答です。\nFrom here the body continues." in answer.body_text  # mboxrd unescaped

    reject = ImportReject.objects.get()
    assert reject.source_name.endswith("sample.mbox") and reject.line is not None and reject.offset is not None
    with (DATA / "sample.mbox").open("rb") as fh:
        fh.seek(reject.offset)
        assert fh.read(len(bytes(reject.raw))) == bytes(reject.raw)
    run = ImportRun.objects.get()
    assert run.status == "done" and run.kind == "mail"

    assert _run(*paths) == "6 read, 0 created, 0 updated, 5 unchanged, 1 rejected"
    assert EmailMessage.objects.count() == 5


def test_mbox_reader_streams_with_lines_offsets_and_escaping(tmp_path):
    msgs = [b.message(message_id=f"<m{i}@x>", body=f"From me {i}\n>From quoted", cte="8bit") for i in range(3)]
    path = tmp_path / "box.mbox"
    path.write_bytes(b.mbox(msgs))

    items = list(iter_mbox(path))

    assert [i.line for i in items] == [2, 2 + items[0].raw.count(b"\n") + 2, items[2].line]
    content = path.read_bytes()
    for item in items:
        assert content[item.offset : item.offset + 20] == item.raw[:20]
        assert b"\nFrom me" in item.raw and b"\n>From quoted" in item.raw


def test_missing_path_is_a_reject_not_a_crash(tmp_path):
    assert _run(tmp_path / "nope.mbox") == "1 read, 0 created, 0 updated, 0 unchanged, 1 rejected"


def test_upload_api_runs_the_import_task(
    api, supervisor, agent, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path
    content = (DATA / "sample.mbox").read_bytes()
    from django.core.files.uploadedfile import SimpleUploadedFile

    assert api.as_user(agent).post("/api/mail/imports/", {}).status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        response = api.as_user(supervisor).post(
            "/api/mail/imports/", {"file": SimpleUploadedFile("sample.mbox", content)}, format="multipart"
        )
    assert response.status_code == 202, response.content
    status = api.as_user(supervisor).get(response.json()["status_url"]).json()
    assert status["status"] == "done"
    assert status["summary"] == "4 read, 3 created, 0 updated, 0 unchanged, 1 rejected"
    assert status["rejects"][0]["offset"] is not None
    assert not any((tmp_path / "imports" / "mail").rglob("*.mbox"))  # the upload is removed afterwards


def test_attachment_download_is_staff_only_and_audited(api, agent, reviewer):
    from helpdesk.mail.intake import mail_store
    from helpdesk.models import AuditEvent

    raw = (
        b"From: a@example.com\r\nMessage-ID: <att@x>\r\nSubject: s\r\n"
        b'Content-Type: multipart/mixed; boundary="B"\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nhi\r\n'
        b'--B\r\nContent-Type: text/html\r\nContent-Disposition: attachment; filename="x.html"\r\n\r\n'
        b"<script>alert(1)</script>\r\n--B--\r\n"
    )
    message = mail_store(raw=raw, source="file").message

    assert api.as_user(reviewer).get(f"/api/emails/{message.pk}/attachments/1/").status_code == 403
    response = api.as_user(agent).get(f"/api/emails/{message.pk}/attachments/1/")
    assert response.status_code == 200
    assert (
        response["Content-Disposition"].startswith("attachment;")
        and 'filename="x.html"' in response["Content-Disposition"]
    )
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Type"] == "application/octet-stream"
    assert b"".join(response.streaming_content).strip() == b"<script>alert(1)</script>"
    assert AuditEvent.objects.filter(action="view_pii", object_id=str(message.pk)).count() == 1
    assert api.as_user(agent).get(f"/api/emails/{message.pk}/attachments/2/").status_code == 404


def test_import_copies_of_one_maildir_twice_in_one_run(tmp_path):
    shutil.copytree(DATA / "maildir", tmp_path / "a")
    shutil.copytree(DATA / "maildir", tmp_path / "b")
    assert _run(tmp_path) == "2 read, 1 created, 0 updated, 1 unchanged, 0 rejected"
