"""Mail files a careless operator or an attacker hands over: a symbolic link inside a Maildir
is never followed (a link to a system file once became an inquiry), and a line of megabytes
rejects its message without being held, while the messages around it import."""

import shutil
import tracemalloc
from pathlib import Path

import pytest

from helpdesk.mail.files import mail_import_paths
from helpdesk.mail.parse.sources import MAX_LINE_BYTES, iter_mbox
from helpdesk.models import EmailMessage, ImportReject

DATA = Path(__file__).resolve().parents[2] / "data" / "mail"
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("mail_path")]


def _message(n: int, body: bytes = b"") -> bytes:
    return (
        b"From citizen@example.jp Mon Oct  5 09:00:00 2026\n"
        b"From: citizen@example.jp\nTo: support@e-gov-help.example.jp\n"
        b"Message-ID: <hostile-%d@example.jp>\nSubject: question %d\n"
        b"Date: Mon, 05 Oct 2026 09:00:00 +0900\n\n" % (n, n) + (body or b"body %d\n" % n) + b"\n"
    )


def test_a_symbolic_link_in_a_maildir_is_a_reject_not_an_inquiry(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "passwd"
    secret.write_bytes(b"From: root@localhost\nSubject: not mail\n\nroot:x:0:0:root:/root:/bin/bash\n")
    maildir = tmp_path / "Maildir"
    shutil.copytree(DATA / "maildir", maildir)
    (maildir / "new" / "1759600001.M2P2.link").symlink_to(secret)
    (maildir / "cur" / "linked-dir").symlink_to(outside, target_is_directory=True)
    folder = tmp_path / "drop"
    folder.mkdir()
    (folder / "system.eml").symlink_to(secret)

    run = mail_import_paths(paths=[maildir, folder])

    assert EmailMessage.objects.count() == 1  # the Maildir's one real message
    assert not EmailMessage.objects.filter(raw__contains=b"root:x:0:0").exists()
    reasons = sorted(ImportReject.objects.filter(run=run).values_list("source_name", "reason"))
    link_reason = "symbolic link: not followed (only files inside the folder)"
    assert reasons == [
        (str(maildir / "cur" / "linked-dir"), link_reason),
        (str(maildir / "new" / "1759600001.M2P2.link"), link_reason),
        (str(folder / "system.eml"), link_reason),
    ]
    assert run.summary().endswith("3 rejected")


def test_a_line_of_megabytes_rejects_its_message_only_and_is_never_held(tmp_path):
    mbox = tmp_path / "hostile.mbox"
    huge = b"A" * (16 * MAX_LINE_BYTES) + b"\n"
    mbox.write_bytes(_message(1) + _message(2, b"start\n" + huge + b"end\n") + _message(3))

    tracemalloc.start()
    items = list(iter_mbox(mbox))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 5 * MAX_LINE_BYTES  # a bounded line at a time, never the 16 MB one
    assert [item.error for item in items] == ["", f"line longer than {MAX_LINE_BYTES} bytes ({len(huge)} bytes)", ""]

    run = mail_import_paths(paths=[mbox])
    assert set(EmailMessage.objects.values_list("message_id", flat=True)) == {
        "<hostile-1@example.jp>",
        "<hostile-3@example.jp>",
    }
    (reject,) = ImportReject.objects.filter(run=run)
    assert reject.line == 11 and "line longer than" in reject.reason  # the message's first line


def test_a_single_message_file_with_a_line_of_megabytes_is_rejected_unparsed(tmp_path):
    eml = tmp_path / "one-line.eml"
    eml.write_bytes(_message(7, b"A" * (4 * MAX_LINE_BYTES) + b"\n").split(b"\n", 1)[1])
    maildir = tmp_path / "Maildir"
    shutil.copytree(DATA / "maildir", maildir)
    shutil.copy(eml, maildir / "new" / "1759600002.M3P3.big")

    run = mail_import_paths(paths=[eml, maildir])

    assert list(EmailMessage.objects.values_list("message_id", flat=True)) != []  # the Maildir's real one
    assert not EmailMessage.objects.filter(message_id="<hostile-7@example.jp>").exists()
    reasons = sorted(ImportReject.objects.filter(run=run).values_list("reason", flat=True))
    assert reasons == [f"line longer than {MAX_LINE_BYTES} bytes ({4 * MAX_LINE_BYTES + 1} bytes)"] * 2


def test_a_subject_encoding_control_characters_imports_and_is_answered(tmp_path, settings, agent):
    """An RFC 2047 subject may decode to any character: a record separator (\\x1c) or U+2028
    stored in the subject made the acknowledgement and every reply a 500 (the email package
    refuses them in a header). Decoded headers hold none: each run is one space (the raw
    message keeps the bytes), and an inquiry subject that still has one (an older import, an
    edit) is made one line when a reply is built."""
    import base64

    from helpdesk.mail.outbox import mail_reply_create, outbox_acknowledge
    from helpdesk.models import Inquiry

    settings.HELPDESK_SEND_ACKNOWLEDGEMENT = True
    word = base64.b64encode("申請\x1c\u2028について\x0b質問".encode()).decode()
    mbox = tmp_path / "controls.mbox"
    mbox.write_bytes(_message(1).replace(b"Subject: question 1", f"Subject: =?utf-8?b?{word}?=".encode()))
    mail_import_paths(paths=[mbox])
    message = EmailMessage.objects.get(message_id="<hostile-1@example.jp>")
    assert message.subject == "申請 について 質問"
    assert b"=?utf-8?b?" + word.encode() in bytes(message.raw)  # the original bytes kept
    inquiry = Inquiry.objects.get()
    assert "申請 について 質問" in outbox_acknowledge(inquiry=inquiry).subject  # a file import sends none itself
    EmailMessage.objects.filter(pk=message.pk).update(subject="古い\x1c件名")  # as an older import left it
    reply = mail_reply_create(inquiry=inquiry, actor=agent, body="回答です。")
    assert "\x1c" not in reply.subject and "古い 件名" in reply.subject
