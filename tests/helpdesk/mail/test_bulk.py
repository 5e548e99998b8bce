"""The bulk path of the mail file import stores what the row path stores: the same messages,
inquiries, references, attachments, rejects (line, offset, reason), audit rows (in order) and
counts, and a second import of the same source creates nothing. Each scenario is imported both
ways into a fresh state and the normalized rows compared (ids and the random `EG-…`
references are replaced by the Message-ID that opened the inquiry)."""

from __future__ import annotations

import datetime as dt
import io
import itertools
import shutil
import threading
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection

from helpdesk.audit import audit_chain_verify
from helpdesk.mail import bulk
from helpdesk.mail.files import mail_bulk_chosen, mail_import_paths
from helpdesk.mail.parse import message as message_module
from helpdesk.models import (
    AuditEvent,
    EmailMessage,
    ImportReject,
    ImportRun,
    Inquiry,
    MailReference,
)
from helpdesk.models.mail import Attachment
from tests.factories import InquiryFactory
from tests.helpdesk.mail import builders as b
from tests.helpdesk.mail.test_services_mail import ANSWER, AUTO_ACK, FOLLOW_UP, QUESTION, SECOND_ANSWER

DATA = Path(__file__).resolve().parents[2] / "data" / "mail"
pytestmark = pytest.mark.django_db

_EXCLUDED = {"id", "inquiry", "created_at", "updated_at", "source_message", "ref", "search_text"}


def _wipe() -> None:
    """A fresh state for the second path (the audit trail is append-only: it is compared from
    a marker on)."""
    Attachment.objects.all().delete()
    MailReference.objects.all().delete()
    EmailMessage.objects.update(inquiry=None)
    Inquiry.objects.update(source_message=None)
    Inquiry.objects.all().delete()
    EmailMessage.objects.all().delete()
    ImportReject.objects.all().delete()
    ImportRun.objects.all().delete()


def _value(v):
    if isinstance(v, memoryview):
        return bytes(v)
    if isinstance(v, dt.datetime):
        return v.astimezone(dt.UTC)
    return v


def snapshot(after_audit_id: int) -> dict:
    """Every row an import writes, with ids and random references replaced by stable keys."""
    opener = {
        i.pk: (i.source_message.message_id if i.source_message_id else f"ref:{i.ref}")
        for i in Inquiry.objects.select_related("source_message")
    }
    ref_key = {i.ref: opener[i.pk] for i in Inquiry.objects.all()}
    mid = dict(EmailMessage.objects.values_list("pk", "message_id"))
    run_key = {str(pk): f"run{n}" for n, pk in enumerate(ImportRun.objects.order_by("pk").values_list("pk", flat=True))}
    messages = {}
    for m in EmailMessage.objects.all():
        row = {
            f.name: _value(getattr(m, f.name)) for f in EmailMessage._meta.concrete_fields if f.name not in _EXCLUDED
        }
        row["inquiry"] = opener.get(m.inquiry_id)
        messages[m.message_id] = row
    inquiries = {}
    for i in Inquiry.objects.all():
        row = {f.name: _value(getattr(i, f.name)) for f in Inquiry._meta.concrete_fields if f.name not in _EXCLUDED}
        inquiries[opener[i.pk]] = row
    audit = []
    for e in AuditEvent.objects.filter(pk__gt=after_audit_id).order_by("pk"):
        object_id = e.object_id
        if e.object_type == "helpdesk.emailmessage":
            object_id = mid.get(int(object_id), object_id)
        elif e.object_type == "helpdesk.inquiry":
            object_id = ref_key.get(object_id, object_id)
        elif e.object_type == "helpdesk.importrun":
            object_id = run_key.get(object_id, object_id)
        changes = dict(e.changes)
        if e.object_type == "helpdesk.emailmessage" and changes.get("inquiry"):
            changes["inquiry"] = ref_key.get(changes["inquiry"], changes["inquiry"])
        if isinstance(changes.get("source_message"), dict):  # an inquiry's start moved: message ids
            changes["source_message"] = {k: mid.get(v, v) for k, v in changes["source_message"].items()}
        audit.append((e.action, e.object_type, object_id, changes, e.note, e.actor_label))
    return {
        "messages": messages,
        "inquiries": inquiries,
        "references": sorted(MailReference.objects.values_list("message__message_id", "referenced_message_id")),
        "attachments": sorted(
            (a.message.message_id, a.filename, a.content_type, a.size, _value(a.content), a.truncated)
            for a in Attachment.objects.select_related("message")
        ),
        "rejects": list(
            ImportReject.objects.order_by("pk").values_list("run__pk", "source_name", "line", "offset", "reason", "raw")
        ),
        "audit": audit,
    }


def _normalize_rejects(snap: dict) -> dict:
    runs = {pk: n for n, pk in enumerate(sorted({r[0] for r in snap["rejects"]}))}
    snap["rejects"] = [(runs[r[0]], *r[1:5], bytes(r[5])) for r in snap["rejects"]]
    return snap


def _marker() -> int:
    return AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def _import(paths, *, path: str) -> list[str]:
    """Import `paths` (a list per run) on one path; the runs' report lines."""
    return [mail_import_paths(paths=p, bulk=(path == "bulk"), workers=0).summary() for p in paths]


def both_ways(runs: list[list], monkeypatch, *, batch: int = 3, before=None) -> tuple[dict, dict]:
    """Import the runs on the row path, snapshot, wipe, then on the bulk path (small batches,
    so threads span them); both snapshots and report lines."""
    monkeypatch.setattr(bulk, "BATCH", batch)
    results = {}
    for path in ("row", "bulk"):
        if path == "bulk":
            _wipe()
        mark = _marker()
        if before:
            before()
        summaries = _import(runs, path=path)
        results[path] = {"summaries": summaries, **_normalize_rejects(snapshot(mark))}
    assert audit_chain_verify().intact
    return results["row"], results["bulk"]


def assert_same(row: dict, bulk_: dict) -> None:
    for key in ("summaries", "messages", "inquiries", "references", "attachments", "rejects", "audit"):
        if isinstance(row[key], dict):  # name the rows and fields that differ
            assert bulk_[key].keys() == row[key].keys(), key
            differ = {
                (k, f): (bulk_[key][k][f], v)
                for k, fields in row[key].items()
                for f, v in fields.items()
                if bulk_[key][k][f] != v
            }
            assert not differ, (key, differ)
        assert bulk_[key] == row[key], key


def _mbox(path: Path, messages: list[bytes]) -> Path:
    path.write_bytes(b.mbox(messages))
    return path


# --- the tests/data sources, and every import scenario of test_import_mail / test_hostile_sources


def test_the_data_sources_twice(monkeypatch):
    paths = [DATA / "sample.mbox", DATA / "maildir", DATA / "question-iso2022jp-cp50220.eml"]
    row, bulk_ = both_ways([paths, paths], monkeypatch)
    assert row["summaries"] == [
        "6 read, 5 created, 0 updated, 0 unchanged, 1 rejected",
        "6 read, 0 created, 0 updated, 5 unchanged, 1 rejected",
    ]
    assert_same(row, bulk_)


def test_copies_of_one_maildir_and_a_missing_path(monkeypatch, tmp_path):
    shutil.copytree(DATA / "maildir", tmp_path / "a")
    shutil.copytree(DATA / "maildir", tmp_path / "b")
    row, bulk_ = both_ways([[tmp_path / "a", tmp_path / "b"], [tmp_path / "nope.mbox"]], monkeypatch)
    assert row["summaries"][0] == "2 read, 1 created, 0 updated, 1 unchanged, 0 rejected"
    assert_same(row, bulk_)


def _hostile(n: int, body: bytes = b"") -> bytes:
    return (
        b"From citizen@example.jp Mon Oct  5 09:00:00 2026\n"
        b"From: citizen@example.jp\nTo: support@e-gov-help.example.jp\n"
        b"Message-ID: <hostile-%d@example.jp>\nSubject: question %d\n"
        b"Date: Mon, 05 Oct 2026 09:00:00 +0900\n\n" % (n, n) + (body or b"body %d\n" % n) + b"\n"
    )


def test_hostile_sources(monkeypatch, tmp_path):
    from helpdesk.mail.parse.sources import MAX_LINE_BYTES

    maildir = tmp_path / "Maildir"
    shutil.copytree(DATA / "maildir", maildir)
    secret = tmp_path / "passwd"
    secret.write_bytes(b"From: root@localhost\nSubject: not mail\n\nroot:x:0:0\n")
    (maildir / "new" / "1759600001.M2P2.link").symlink_to(secret)
    mbox = tmp_path / "hostile.mbox"
    mbox.write_bytes(_hostile(1) + _hostile(2, b"start\n" + b"A" * (2 * MAX_LINE_BYTES) + b"\nend\n") + _hostile(3))
    junk = tmp_path / "junk.eml"
    junk.write_bytes(b"\n\n\n")  # not mail: a reject from the parser
    row, bulk_ = both_ways([[maildir, mbox, junk]], monkeypatch)
    assert row["summaries"] == ["6 read, 3 created, 0 updated, 0 unchanged, 3 rejected"]
    assert_same(row, bulk_)


# --- threads: every order of one thread, threads across batches, replies before questions


ORDERS = [p for n, p in enumerate(itertools.permutations(range(5))) if n % 9 == 0] + [(4, 3, 2, 1, 0)]


@pytest.mark.parametrize("order", ORDERS, ids=lambda o: "".join(map(str, o)))
@pytest.mark.parametrize("batch", [2, 100])
def test_one_thread_in_any_order(order, batch, monkeypatch, tmp_path):
    messages = [QUESTION, AUTO_ACK, ANSWER, FOLLOW_UP, SECOND_ANSWER]
    box = _mbox(tmp_path / "thread.mbox", [messages[i].replace(b"\r\n", b"\n") for i in order])
    row, bulk_ = both_ways([[box]], monkeypatch, batch=batch)
    assert len(row["inquiries"]) == 1
    assert_same(row, bulk_)


def _day(minute: int) -> str:
    return f"Thu, 01 Oct 2026 {9 + minute // 60:02d}:{minute % 60:02d}:00 +0900"


def _mailbox() -> list[bytes]:
    """Questions, answers (some in a later batch than their question, some answering an
    answer), follow-ups, duplicates, auto-replies, an answer whose question is not here, a
    reference in the subject to a stored inquiry, attachments, a reply before its question."""
    out: list[bytes] = []
    for i in range(12):
        out.append(b.message(message_id=f"<q{i}@example.jp>", date=_day(i * 3), subject=f"質問 {i}"))
    for i in range(0, 12, 2):
        out.append(
            b.reply(to_message_id=f"<q{i}@example.jp>", message_id=f"<a{i}@e-gov-help.example.jp>", date=_day(60 + i))
        )
    for i in range(0, 12, 4):
        out.append(
            b.message(
                message_id=f"<f{i}@example.jp>",
                in_reply_to=f"<a{i}@e-gov-help.example.jp>",
                references=f"<q{i}@example.jp> <a{i}@e-gov-help.example.jp>",
                subject="Re: 質問",
                date=_day(120 + i),
            )
        )
    out.append(b.message(message_id="<q0@example.jp>", date=_day(1)))  # a duplicate
    out.append(b.message(message_id="<ooo@example.jp>", extra_headers={"Auto-Submitted": "auto-replied"}))
    out.append(
        b.reply(to_message_id="<elsewhere@example.jp>", message_id="<a-orphan@e-gov-help.example.jp>", date=_day(200))
    )
    out.append(
        b.reply(to_message_id="<late-q@example.jp>", message_id="<a-late@e-gov-help.example.jp>", date=_day(210))
    )
    out.append(b.message(message_id="<late-q@example.jp>", date=_day(205)))  # its answer came first
    out.append(
        b.message(
            message_id="<by-subject@e-gov-help.example.jp>",
            from_addr="support@e-gov-help.example.jp",
            subject="Re: お問い合わせ [EG-20261001-ABCDEF]",
            date=_day(220),
        )
    )
    out.append(
        b"From: a@example.jp\nMessage-ID: <att@example.jp>\nSubject: s\nDate: " + _day(230).encode() + b"\n"
        b'Content-Type: multipart/mixed; boundary="B"\n\n--B\nContent-Type: text/plain\n\nhi\n'
        b"--B\nContent-Type: application/octet-stream\nContent-Disposition: attachment; filename=small.bin\n\n"
        b"12345\n--B--\n"
    )
    for i in range(12, 16):  # answers in later batches than their questions, and their answers
        out.append(b.message(message_id=f"<q{i}@example.jp>", date=_day(240 + i)))
    for i in range(12, 16):
        out.append(
            b.reply(to_message_id=f"<q{i}@example.jp>", message_id=f"<a{i}@e-gov-help.example.jp>", date=_day(300 + i))
        )
        out.append(
            b.reply(
                to_message_id=f"<a{i}@e-gov-help.example.jp>",
                message_id=f"<a{i}b@e-gov-help.example.jp>",
                date=_day(310 + i),
            )
        )
    return [m.replace(b"\r\n", b"\n") for m in out]


@pytest.mark.parametrize("batch", [1, 4, 7, 1000])
def test_a_mailbox_across_batches_then_again(batch, monkeypatch, tmp_path):
    box = _mbox(tmp_path / "box.mbox", _mailbox())

    def stored_inquiry():
        InquiryFactory(
            ref="EG-20261001-ABCDEF",
            requester_email="citizen@example.jp",
            received_at=dt.datetime(2026, 10, 1, 8, 0, tzinfo=dt.UTC),
        )

    row, bulk_ = both_ways([[box], [box]], monkeypatch, batch=batch, before=stored_inquiry if batch == 1 else None)
    assert row["summaries"][1].endswith("0 created, 0 updated, 40 unchanged, 0 rejected")
    assert_same(row, bulk_)


def test_a_mailbox_split_in_two_runs(monkeypatch, tmp_path):
    """The second half (answers, follow-ups) in a later import than the questions."""
    messages = _mailbox()
    first = _mbox(tmp_path / "first.mbox", messages[:14])
    second = _mbox(tmp_path / "second.mbox", messages[14:])
    row, bulk_ = both_ways([[first], [second], [first, second]], monkeypatch, batch=5)
    assert_same(row, bulk_)


@pytest.mark.parametrize("row_parser", ["as shipped", "stdlib only"])
def test_the_row_path_and_parsing_a_batch_ahead_in_worker_processes_store_the_same(row_parser, monkeypatch, tmp_path):
    """The bulk path parses in worker processes, a batch ahead (6-message batches: the next
    ones are parsed while one is written), with the parser's fast path; the row path reads
    every message in this process — as shipped, or with the stdlib parser alone."""
    box = _mbox(tmp_path / "box.mbox", _mailbox())
    monkeypatch.setattr(bulk, "BATCH", 6)
    mark = _marker()
    with monkeypatch.context() as row_path:
        if row_parser == "stdlib only":
            row_path.setattr(message_module, "simple_message", lambda raw: None)
        summary = mail_import_paths(paths=[box], bulk=False).summary()
    row = _normalize_rejects(snapshot(mark))
    _wipe()
    mark = _marker()

    assert mail_import_paths(paths=[box], bulk=True, workers=2).summary() == summary
    assert _normalize_rejects(snapshot(mark)) == row
    assert any(message_module.simple_message(m) is not None for m in _mailbox())


def _spy_writes(monkeypatch) -> list[tuple[str, str, int]]:
    """("walk" | "write", first Message-ID, thread id) of every bulk segment, in order."""
    events: list[tuple[str, str, int]] = []
    walk, execute = bulk._walk, bulk._execute

    def spy_walk(todo, *args):
        events.append(("walk", todo[0][1].message_id, threading.get_ident()))
        return walk(todo, *args)

    def spy_execute(plan):
        kind = "write batch" if plan.run is not None else "write"  # (a whole batch, or a segment)
        events.append((kind, plan.messages[0][1] if plan.messages else "", threading.get_ident()))
        return execute(plan)

    monkeypatch.setattr(bulk, "_walk", spy_walk)
    monkeypatch.setattr(bulk, "_execute", spy_execute)
    return events


def test_a_batch_is_walked_before_the_one_before_it_is_written(monkeypatch, tmp_path):
    """Batch N+1 is walked on what is stored and on what batch N stores, before batch N is
    written (inside a transaction, as here: in this thread; otherwise by the writer thread):
    every comparison above goes through that."""
    box = _mbox(tmp_path / "box.mbox", _mailbox())
    events = _spy_writes(monkeypatch)
    row, bulk_ = both_ways([[box]], monkeypatch, batch=4)
    assert_same(row, bulk_)
    order = [(kind, mid) for kind, mid, _ in events]
    ahead = [
        mid for i, (kind, mid) in enumerate(order) if kind == "write batch" and ("walk", mid) in order[: i - 1]
    ]  # written after a later batch was walked
    assert len(ahead) >= 3, order


def _row_path_reference(tmp_path, monkeypatch):
    """The mailbox (batches of 4), the row path's summary and rows of it, then a wiped
    database and a fresh marker for the bulk path's import of the same mailbox."""
    box = _mbox(tmp_path / "box.mbox", _mailbox())
    monkeypatch.setattr(bulk, "BATCH", 4)
    mark = _marker()
    summary = mail_import_paths(paths=[box], bulk=False).summary()
    row = _normalize_rejects(snapshot(mark))
    _wipe()
    return box, summary, row, _marker()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("overlap", [True, False])
def test_batches_are_written_on_a_second_connection_while_the_next_is_walked(overlap, settings, monkeypatch, tmp_path):
    """Outside a transaction on PostgreSQL each batch is written and committed by the writer
    thread (its own connection) while this thread walks the next one — in this thread when
    HELPDESK_MAIL_BULK_OVERLAP is off: the same rows as the row path either way."""
    settings.HELPDESK_MAIL_BULK_OVERLAP = overlap
    box, summary, row, mark = _row_path_reference(tmp_path, monkeypatch)
    events = _spy_writes(monkeypatch)

    assert mail_import_paths(paths=[box], bulk=True, workers=2).summary() == summary
    assert _normalize_rejects(snapshot(mark)) == row
    assert audit_chain_verify().intact
    main = threading.get_ident()
    batches = {thread for kind, _, thread in events if kind == "write batch"}
    assert batches and (main not in batches if overlap else batches == {main}), events
    again = mail_import_paths(paths=[box], bulk=True, workers=2).summary()
    assert again.endswith(" 0 created, 0 updated, 40 unchanged, 0 rejected")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_import_that_fails_mid_way_keeps_what_it_counted_and_a_rerun_completes_it(monkeypatch, tmp_path):
    """The importer fails while the writer thread writes the batch before: that batch is still
    committed, the run fails with the importer's error and counts what is stored, and the same
    import again stores the rest (the row path's rows)."""
    box, summary, row, mark = _row_path_reference(tmp_path, monkeypatch)
    walk, calls = bulk._walk, []

    def failing_walk(*args):
        calls.append(1)
        if len(calls) == 4:
            raise RuntimeError("the importer fails")
        return walk(*args)

    with monkeypatch.context() as failing:
        failing.setattr(bulk, "_walk", failing_walk)
        with pytest.raises(RuntimeError):
            mail_import_paths(paths=[box], bulk=True, workers=2)
    failed = ImportRun.objects.get()
    assert failed.status == ImportRun.Status.FAILED and "the importer fails" in failed.error
    assert 0 < failed.created == EmailMessage.objects.count()

    created = int(summary.split(", ")[1].split()[0])  # (the row path's, in one run)
    rerun = mail_import_paths(paths=[box], bulk=True, workers=2).summary()
    assert rerun == (
        f"40 read, {created - failed.created} created, 0 updated, {40 - created + failed.created} unchanged, 0 rejected"
    )
    assert audit_chain_verify().intact
    after = _normalize_rejects(snapshot(mark))
    assert after["messages"] == row["messages"] and after["inquiries"] == row["inquiries"]
    assert after["references"] == row["references"] and after["attachments"] == row["attachments"]


# --- the choice


def test_the_bulk_path_is_chosen_by_size(settings, tmp_path):
    box = _mbox(tmp_path / "box.mbox", _mailbox())
    settings.HELPDESK_MAIL_BULK_MIN_BYTES = box.stat().st_size
    assert mail_bulk_chosen([box]) and mail_bulk_chosen([tmp_path])
    settings.HELPDESK_MAIL_BULK_MIN_BYTES = box.stat().st_size + 1
    assert not mail_bulk_chosen([box]) and not mail_bulk_chosen([tmp_path / "nope"])
    settings.HELPDESK_MAIL_BULK_MIN_BYTES = 0
    assert not mail_bulk_chosen([box])


def test_import_mail_bulk_option(monkeypatch, tmp_path):
    box = _mbox(tmp_path / "box.mbox", _mailbox())
    calls = []
    real = bulk.mail_import_bulk

    def spy(**kwargs):
        calls.append(kwargs["workers"])
        return real(**kwargs)

    monkeypatch.setattr("helpdesk.mail.files.mail_import_bulk", spy)
    out = io.StringIO()
    call_command("import_mail", str(box), "--bulk", "--workers", "0", stdout=out, stderr=io.StringIO())
    assert calls == [0]
    assert out.getvalue().strip() == "40 read, 39 created, 0 updated, 1 unchanged, 0 rejected"
    call_command("import_mail", str(box), "--row-by-row", stdout=io.StringIO(), stderr=io.StringIO())
    assert calls == [0]
    assert connection.vendor in ("postgresql", "sqlite")
