"""The bulk path (COPY + one set-based upsert per batch, references resolved in SQL) writes
exactly what the row-by-row path writes: the same rows field by field, the same counts,
rejects and audit rows, for the handover tests' own files."""

import datetime as dt
import json

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from helpdesk.handover import bulk, services
from helpdesk.handover.services import records_import
from helpdesk.imports.services import import_run_start
from helpdesk.models import (
    AuditEvent,
    Call,
    CannedResponse,
    Complaint,
    EmailMessage,
    Escalation,
    ImportReject,
    ImportRun,
    Inquiry,
    InquiryNote,
    SecurityIncident,
)
from tests.helpdesk.handover.conftest import empty_database, export_text, jsonl, snapshot
from tests.helpdesk.handover.test_forward_references import RAW
from tests.helpdesk.handover.test_import_rejects import CALL, HEADER, INQUIRY

# These tests run both paths themselves, on PostgreSQL (the only database with the bulk path).
pytestmark = [pytest.mark.django_db, pytest.mark.postgres, pytest.mark.one_import_path]

NOW = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)


def _changed_file(text: str) -> str:
    """The export with changes: a field of a call, an inquiry, an escalation, a note, a canned
    response; a message's attachments; a new complaint without a key; a new note; a line
    moved before what it refers to."""
    lines = [json.loads(line) for line in text.splitlines()]
    for line in lines:
        if line.get("call_id") == "1727740800.102" and line["type"] == "call":
            line["agent"] = "op77"
        if line["type"] == "inquiry" and line["ref"] == "EG-20261004-CCCCCC":
            line.update(category="changed", requester_name="別人", assigned_to="new.user")
        if line["type"] == "escalation" and line["target"] == "internal":
            line["note"] = "追記"
        if line["type"] == "email" and line["message_id"] == "<q1@citizen.example.jp>":
            line["attachments"] = line["attachments"][:1]
        if line["type"] == "inquiry_note" and line["author"] == "sv.suzuki":
            line["author"] = "new.user"
        if line["type"] == "canned_response" and not line["active"]:
            line.update(active=True, body="復活した案内", order=7)
    lines.insert(
        1,
        {
            "type": "inquiry_note",
            "inquiry": {"ref": "EG-20261004-CCCCCC"},
            "created_at": "2026-10-05T10:00:00+09:00",
            "author": "op.sato",
            "body": "先行する行：問い合わせより前",
        },
    )
    lines.insert(
        1,
        {
            "type": "complaint",
            "inquiry": {"call_id": "1727740800.101"},
            "received_at": "2026-10-05T10:00:00+09:00",
            "cause": "operator_error",
        },
    )
    return jsonl(*lines)


def _files(export: str) -> list[tuple[str, str]]:
    return [
        ("export", export),
        ("export again", export),
        ("changed", _changed_file(export)),
        (
            "bad lines",
            jsonl(
                HEADER,
                '{"type": "inquiry", "ref": ',
                {"type": "ticket", "id": 1},
                {**INQUIRY, "ref": "EG-X-BADTIME", "received_at": "2026-13-45T99:00"},
                {"type": "complaint", "inquiry": {"ref": "EG-NOWHERE"}, "received_at": "2026-10-01T10:00:00+09:00"},
                {**CALL, "call_id": "c-bad", "ended_at": "2026-10-01T09:00:00+09:00"},
                INQUIRY,
                {**INQUIRY, "ref": "EG-X-CHANNEL", "channel": "fax"},
                {**INQUIRY, "ref": "EG-X-LONG", "subject": "長" * 300},
                CALL,
                {"type": "inquiry_note", "inquiry": {"ref": "EG-NOWHERE"}, "created_at": "2026-10-01", "body": "x"},
                {"type": "inquiry_note", "inquiry": {"ref": INQUIRY["ref"]}, "created_at": "2026-10-01", "body": ""},
                {"type": "inquiry_note", "inquiry": {"ref": INQUIRY["ref"]}, "created_at": "2026-10-01", "body": "良"},
                {"type": "canned_response", "title": "x", "created_at": "2026-10-01", "body": "y", "order": -1},
                {"type": "canned_response", "title": "x", "created_at": "2026-10-01", "body": "y", "order": 1},
            ),
        ),
        (
            "forward references",
            jsonl(
                {
                    "type": "email",
                    "message_id": "<r2@center.jp>",
                    "direction": "outbound",
                    "inquiry": {"ref": "EG-F-1"},
                    "raw": RAW,
                },
                {
                    "type": "escalation",
                    "inquiry": {"message_id": "<m9@x.jp>"},
                    "target": "internal",
                    "escalated_at": "2026-10-01T10:10:00+09:00",
                    "key": "0b6f0a3e-2f7c-4f41-9a55-4a4c8c1f0c11",
                },
                {
                    "type": "inquiry",
                    "ref": "EG-F-1",
                    "channel": "email",
                    "received_at": "2026-10-01T11:00:00+09:00",
                    "message_id": "<m9@x.jp>",
                },
                {
                    "type": "email",
                    "message_id": "<m9@x.jp>",
                    "direction": "inbound",
                    "received_at": "2026-10-01T11:00:00+09:00",
                    "raw": RAW,
                },
                {
                    "type": "inquiry_note",
                    "inquiry": {"ref": "EG-F-1"},
                    "created_at": "2026-10-01T11:05:00+09:00",
                    "author": "op.later",
                    "body": "問い合わせより前のメモ",
                },
                {
                    "type": "inquiry_note",
                    "inquiry": {"call_id": "c-never"},
                    "created_at": "2026-10-01T11:05:00+09:00",
                    "body": "来ない問い合わせへのメモ",
                },
                {
                    "type": "inquiry",
                    "ref": "EG-F-2",
                    "channel": "phone",
                    "received_at": "2026-10-01T10:00:00+09:00",
                    "call_id": "c-never",
                },
            ),
        ),
    ]


def _run(files: list[tuple[str, str]], tmp_path, *, bulk_path: bool) -> list[dict]:
    """Import the files in turn; after each, everything the import wrote."""
    states = []
    for name, text in files:
        path = tmp_path / f"{name}.jsonl"
        path.write_text(text, encoding="utf-8")
        first_event = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        with path.open("rb") as stream:
            run = import_run_start(kind=ImportRun.Kind.RECORDS, source_name=path.name)
            records_import(run=run, stream=stream, bulk=bulk_path)
        run.refresh_from_db()
        states.append(
            {
                "file": name,
                "counts": (run.read, run.created, run.updated, run.unchanged, run.rejected, run.error),
                "rows": snapshot(),
                "rejects": list(
                    ImportReject.objects.filter(run=run).order_by("line").values_list("line", "offset", "reason", "raw")
                ),
                "audit": [
                    (e.action, e.object_type, _natural_id(e), _natural_changes(e.changes))
                    for e in AuditEvent.objects.filter(pk__gt=first_event).order_by(
                        "action", "object_type", "object_id"
                    )
                ],
            }
        )
    return states


@pytest.mark.parametrize(
    ("parse", "first"),
    [("process", "detected"), ("thread", "detected"), ("process", "always"), ("process", "never")],
)
@time_machine.travel(NOW, tick=False)
def test_bulk_and_row_paths_write_the_same_rows_rejects_and_audit(
    full_dataset, tmp_path, monkeypatch, settings, parse, first
):
    # The bulk path types its batches ahead in a child process (the default) or on a thread.
    settings.HELPDESK_HANDOVER_PARSE_PROCESS = parse == "process"
    # Insert first, probing only the keys already stored: on a first handover ("detected":
    # the first file only); on every file ("always": each line of the files after the first
    # conflicts, and goes through the probe and the upsert); never (the probe for every line).
    if first != "detected":
        monkeypatch.setattr(services, "tables_empty", lambda: first == "always")
    files = _files(export_text())
    empty_database()
    row = _run(files, tmp_path, bulk_path=False)

    empty_database()
    copies = []
    monkeypatch.setattr(bulk, "copy_import", _spy(bulk.copy_import, copies, with_kwargs=True))
    ahead = []  # runs typed on the parsing thread, ahead of their batch's transaction (not in a child)
    monkeypatch.setattr(bulk, "prepare_rows", _spy(bulk.prepare_rows, ahead))
    fallbacks = []
    monkeypatch.setattr(services._Importer, "run_batch_safe", _spy(services._Importer.run_batch_safe, fallbacks))
    bulk_states = _run(files, tmp_path, bulk_path=True)

    for row_state, bulk_state in zip(row, bulk_states, strict=True):
        name = row_state["file"]
        assert bulk_state["counts"] == row_state["counts"], name
        for table, rows in row_state["rows"].items():
            assert len(bulk_state["rows"][table]) == len(rows), (name, table)
            for before, after in zip(rows, bulk_state["rows"][table], strict=True):
                assert after == before, (name, table)  # field by field, surrogate ids aside
        assert bulk_state["rejects"] == row_state["rejects"], name
        assert bulk_state["audit"] == row_state["audit"], name
    assert row[1]["counts"][3] == row[1]["counts"][0]  # the second import: all unchanged
    # a call, an inquiry, an escalation, a message's attachments, a note's author, a canned response
    assert row[2]["counts"][2] == 6
    assert copies, "the bulk path ran"
    typed_ahead = [kwargs["prepared"] for _args, kwargs in copies if kwargs.get("prepared") is not None]
    assert typed_ahead, "its runs were typed ahead"
    if parse == "thread":
        assert ahead, "typed on the importer's parsing thread"
    # Line by line only: the batch with bad lines, the batch whose new complaint derives its
    # key from a call_id reference, and the last pass of the references that never resolve.
    assert len(fallbacks) == 4


def _natural_id(event: AuditEvent) -> str:
    """The audited record's natural key (surrogate ids differ between the two databases)."""
    if event.action == AuditEvent.Action.IMPORT:
        return "run"
    keys = {
        "helpdesk.call": (Call, "call_id"),
        "helpdesk.emailmessage": (EmailMessage, "message_id"),
        "helpdesk.escalation": (Escalation, "handover_key"),
        "helpdesk.complaint": (Complaint, "handover_key"),
        "helpdesk.securityincident": (SecurityIncident, "handover_key"),
        "helpdesk.cannedresponse": (CannedResponse, "title"),
        "helpdesk.inquirynote": (InquiryNote, "created_at"),
    }
    if event.object_type in keys:
        model, field = keys[event.object_type]
        return str(model.objects.filter(pk=event.object_id).values_list(field, flat=True).first())
    return event.object_id


USER_FIELDS = {
    "assigned_to",
    "created_by",
    "requested_by",
    "escalated_by",
    "recorded_by",
    "confirmed_by",
    "reported_by",
    "author",
}


def _natural_changes(changes: dict) -> dict:
    """Audit values naming a user or an inquiry by id, by username or ref instead."""
    from django.contrib.auth import get_user_model

    out = {}
    for field, change in changes.items():
        if isinstance(change, dict) and change.get("new") is not None and field in USER_FIELDS | {"inquiry"}:
            model, attr = (get_user_model(), "username") if field in USER_FIELDS else (Inquiry, "ref")
            change = {**change, "new": model.objects.filter(pk=change["new"]).values_list(attr, flat=True).first()}
        out[field] = change
    return out


def _spy(function, calls: list, *, with_kwargs: bool = False):
    def wrapper(*args, **kwargs):
        calls.append((args, kwargs) if with_kwargs else args)
        return function(*args, **kwargs)

    return wrapper


def test_row_by_row_option_keeps_the_orm_path_on_postgresql(tmp_path, monkeypatch, settings):
    from tests.helpdesk.handover.conftest import import_file

    settings.HELPDESK_HANDOVER_BULK = True  # the default
    copies = []
    monkeypatch.setattr(bulk, "copy_import", _spy(bulk.copy_import, copies))
    path = tmp_path / "f.jsonl"
    path.write_text(jsonl(CALL, INQUIRY), encoding="utf-8")

    assert import_file(path, row_by_row=True) == "2 read, 2 created, 0 updated, 0 unchanged, 0 rejected"
    assert not copies
    path.write_text(jsonl({**CALL, "call_id": "c-2"}), encoding="utf-8")
    assert import_file(path) == "1 read, 1 created, 0 updated, 0 unchanged, 0 rejected"
    assert copies  # PostgreSQL's default path


# --- the link-only retry: a mail whose inquiry comes later is written once -------------------


def _mail(message_id: str, subject: str, **extra) -> dict:
    return {
        "type": "email",
        "message_id": message_id,
        "direction": "outbound",
        "subject": subject,
        "sent_at": "2026-10-01T12:00:00+09:00",
        "raw": RAW,
        **extra,
    }


LATER_INQUIRY = {
    "type": "inquiry",
    "ref": "EG-L-1",
    "channel": "email",
    "received_at": "2026-10-01T11:00:00+09:00",
}


@time_machine.travel(NOW, tick=False)
def test_a_mail_retried_only_for_its_link_is_typed_and_written_once(tmp_path, monkeypatch, settings):
    from helpdesk.handover import records

    settings.HELPDESK_HANDOVER_PARSE_PROCESS = False  # the spy counts in this process

    parsed: list[str] = []
    monkeypatch.setattr(records.COPY_EMAIL, "parse", _spy_keys(records.COPY_EMAIL.parse, parsed))
    files = [
        (
            "mail before its inquiry",
            jsonl(
                _mail("<r1@center.jp>", "回答", inquiry={"ref": "EG-L-1"}),
                _mail("<r2@center.jp>", "受付", inquiry={"ref": "EG-L-1"}),
                LATER_INQUIRY,
            ),
        )
    ]
    (state,) = _run(files, tmp_path, bulk_path=True)

    assert state["counts"] == (3, 3, 0, 0, 0, "")
    assert sorted(parsed) == ["<r1@center.jp>", "<r2@center.jp>"]  # typed once each, not twice
    assert set(EmailMessage.objects.values_list("inquiry__ref", flat=True)) == {"EG-L-1"}
    assert [event[0] for event in state["audit"]] == ["import"]  # the run's IMPORT, no UPDATE row


@pytest.mark.parametrize("batch_lines", [2, 5000], ids=["another batch", "same batch"])
@time_machine.travel(NOW, tick=False)
def test_an_opening_mail_linked_by_its_inquiry_keeps_its_link_only_retry(tmp_path, monkeypatch, settings, batch_lines):
    from helpdesk.handover import records

    settings.HELPDESK_HANDOVER_PARSE_PROCESS = False  # the spy counts in this process
    monkeypatch.setattr(services, "BULK_BATCH_LINES", batch_lines)

    parsed: list[str] = []
    monkeypatch.setattr(records.COPY_EMAIL, "parse", _spy_keys(records.COPY_EMAIL.parse, parsed))
    # Given a question and a reply before their inquiry, which names the question as the
    # message that opened it (the inquiry's batch links it: the note must follow that write)
    files = [
        (
            "opening mail before its inquiry",
            jsonl(
                _mail("<q1@citizen.jp>", "質問", direction="inbound", inquiry={"ref": "EG-L-1"}),
                _mail("<r1@center.jp>", "回答", inquiry={"ref": "EG-L-1"}),
                {**LATER_INQUIRY, "message_id": "<q1@citizen.jp>"},
            ),
        )
    ]
    (state,) = _run(files, tmp_path, bulk_path=True)

    # Then each mail is typed once (the retry sets only links), both are linked, and the
    # counts and audit are the row path's
    assert state["counts"] == (3, 3, 0, 0, 0, "")
    assert sorted(parsed) == ["<q1@citizen.jp>", "<r1@center.jp>"]
    assert set(EmailMessage.objects.values_list("inquiry__ref", flat=True)) == {"EG-L-1"}
    assert Inquiry.objects.get(ref="EG-L-1").source_message.message_id == "<q1@citizen.jp>"
    assert [event[0] for event in state["audit"]] == ["import"]


def test_a_retry_pass_hands_over_each_mails_link_not_the_decoded_line():
    from helpdesk.handover.services import _Group, _Importer

    # Given mail lines spooled for their link (created on the first pass), one without a
    # usable reference
    importer = _Importer(run=import_run_start(kind=ImportRun.Kind.RECORDS, source_name="x"), source_name="x", bulk=True)
    lines = [
        _mail("<r1@center.jp>", "回答", inquiry={"ref": "EG-L-1"}),
        _mail("<r2@center.jp>", "受付", inquiry={"call_id": "17.1"}),
        _mail("<r3@center.jp>", "受付", inquiry="not a reference"),
    ]
    entries = [(n, 100 * n, json.dumps(line).encode(), "created") for n, line in enumerate(lines, start=1)]

    # When the parsing side produces the retry batch
    (group,) = importer.produce(entries, retry=True).steps

    # Then what crosses to the importer is each line's link, not its decoded line (the raw
    # message with it), and the entries themselves (for the lines that need more)
    assert isinstance(group, _Group)
    assert group.data is None
    assert group.prepared.links == [
        ("<r1@center.jp>", "ref", "EG-L-1"),
        ("<r2@center.jp>", "call_id", "17.1"),
        (None, None, None),
    ]
    assert group.entries == entries


@pytest.mark.parametrize("batch_lines", [2, 5000], ids=["another batch", "same batch"])
@time_machine.travel(NOW, tick=False)
def test_a_mail_written_again_before_its_retry_is_retried_whole_as_the_row_path(tmp_path, monkeypatch, batch_lines):
    """The second line of the same message (in another transaction, or in the same one after
    another type's lines) changes it: the retry of the first line brings the first line's
    values back, as the row path does, not just the link."""
    monkeypatch.setattr(services, "BULK_BATCH_LINES", batch_lines)
    files = [
        (
            "the same message twice",
            jsonl(
                _mail("<r1@center.jp>", "一回目", inquiry={"ref": "EG-L-1"}),
                CALL,
                _mail("<r1@center.jp>", "二回目"),
                LATER_INQUIRY,
            ),
        )
    ]
    row = _run(files, tmp_path, bulk_path=False)
    empty_database()
    bulk_state = _run(files, tmp_path, bulk_path=True)

    assert bulk_state == row
    assert EmailMessage.objects.get().subject == "一回目"
    assert EmailMessage.objects.get().inquiry.ref == "EG-L-1"


def _spy_keys(parse, keys: list):
    def wrapper(data, ctx):
        keys.append(data["message_id"])
        return parse(data, ctx)

    return wrapper


@time_machine.travel(NOW, tick=False)
def test_a_mail_rewritten_by_a_batch_redone_line_by_line_then_opening_its_inquiry_comes_back_whole(
    tmp_path, monkeypatch
):
    """Written again by a batch that fell back to the row path, then linked as the opening
    message of its inquiry: the link write must not make the note look fresh again."""
    monkeypatch.setattr(services, "BULK_BATCH_LINES", 2)
    inbound = {"direction": "inbound", "received_at": "2026-10-01T11:00:00+09:00"}
    files = [
        (
            "rewritten in a fallback batch",
            jsonl(
                _mail("<q1@x.jp>", "一回目", inquiry={"ref": "EG-L-1"}, **inbound),
                CALL,
                _mail("<q1@x.jp>", "二回目", **inbound),
                {**CALL, "call_id": "c-bad", "ended_at": "2026-10-01T09:00:00+09:00"},  # this batch: line by line
                {**LATER_INQUIRY, "message_id": "<q1@x.jp>"},
                {**CALL, "call_id": "c-2"},
            ),
        )
    ]
    row = _run(files, tmp_path, bulk_path=False)
    empty_database()
    bulk_state = _run(files, tmp_path, bulk_path=True)

    assert bulk_state == row
    assert EmailMessage.objects.get().subject == "一回目"


# --- a first handover: references resolved aside, lines inserted first ------------------------


@time_machine.travel(NOW, tick=False)
def test_a_first_handover_inserts_first_and_never_rewrites_the_stage(tmp_path, settings):
    """Into empty tables the lines are inserted without the probe of stored keys; references
    and users are resolved into the narrow side table, never by an UPDATE of the wide stage
    rows. A second import of the same file probes (every key is stored): all unchanged."""
    settings.HELPDESK_HANDOVER_PARSE_PROCESS = False  # the statements run in this process anyway
    reply = _mail("<r1@center.jp>", "回答", inquiry={"ref": "EG-L-1"})
    lines = (CALL, reply, {**LATER_INQUIRY, "assigned_to": "op.new"}, {**INQUIRY, "created_by": "op.new"})
    files = [("first", jsonl(*lines))]

    with CaptureQueriesContext(connection) as first:
        (state,) = _run(files, tmp_path, bulk_path=True)
    with CaptureQueriesContext(connection) as again:
        (state_again,) = _run([("again", jsonl(*lines))], tmp_path, bulk_path=True)

    assert state["counts"] == (4, 4, 0, 0, 0, "")
    assert state_again["counts"] == (4, 0, 0, 4, 0, "")
    statements = [q["sql"] for q in first.captured_queries]
    assert not [sql for sql in statements if sql.startswith("UPDATE hstage_")]
    assert [sql for sql in statements if "INSERT INTO hres_helpdesk_inquiry" in sql]
    assert not [sql for sql in statements if "JOIN LATERAL (SELECT * FROM" in sql]  # no probe
    assert not [sql for sql in statements if sql.startswith('INSERT INTO "helpdesk_call"')]  # COPYed straight in
    assert Call.objects.get().call_id == CALL["call_id"]
    assert [sql for sql in (q["sql"] for q in again.captured_queries) if "JOIN LATERAL (SELECT * FROM" in sql]
    inquiry = Inquiry.objects.get(ref="EG-L-1")
    assert inquiry.assigned_to.username == "op.new"
    assert EmailMessage.objects.get(message_id="<r1@center.jp>").inquiry == inquiry
    assert Inquiry.objects.get(ref=INQUIRY["ref"]).created_by.username == "op.new"


@time_machine.travel(NOW, tick=False)
def test_a_first_handover_repeating_a_key_in_a_later_batch_matches_the_row_path(tmp_path, monkeypatch):
    """The tables were empty at the start, yet a later batch repeats a key (changed): that
    line conflicts on the insert and goes through the probe and the upsert, with the row
    path's outcome and audit row."""
    monkeypatch.setattr(services, "BULK_BATCH_LINES", 2)
    files = [
        (
            "a call twice",
            jsonl(CALL, {**CALL, "call_id": "c-2"}, {**CALL, "call_id": "c-3"}, {**CALL, "agent": "op77"}),
        )
    ]
    row = _run(files, tmp_path, bulk_path=False)
    empty_database()
    fallbacks = []
    monkeypatch.setattr(services._Importer, "run_batch_safe", _spy(services._Importer.run_batch_safe, fallbacks))
    with CaptureQueriesContext(connection) as queries:
        bulk_state = _run(files, tmp_path, bulk_path=True)

    assert bulk_state == row
    assert row[0]["counts"] == (4, 3, 1, 0, 0, "")
    assert Call.objects.get(call_id="c-1").agent == "op77"
    # The second batch's COPY straight into the table met the stored key: that batch went
    # the staged way (insert, then the probe and upsert of the stored key), not line by line.
    assert not fallbacks
    assert [q["sql"] for q in queries.captured_queries if q["sql"] == "ROLLBACK TO SAVEPOINT handover_direct"]
    assert [q["sql"] for q in queries.captured_queries if "JOIN LATERAL (SELECT * FROM" in q["sql"]]
