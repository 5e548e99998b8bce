"""Re-imports on PostgreSQL: rows whose text is stored unchanged are found by their text
digest (rules.text_key bound to content_hash) and set aside before any checking or staging.
Whatever that sets aside, the results must be those of the full path and of the row path."""

import datetime as dt

import pytest
from django.db import DataError, connection

from helpdesk.calendar import load_service_calendar
from helpdesk.models import AuditEvent, Call, ImportReject
from helpdesk.phone import generic
from helpdesk.phone.generic import PROBE_EVERY, TextProbe
from helpdesk.phone.records import CallRecord
from helpdesk.phone.upsert import calls_upsert
from tests.factories import tokyo

FILES = ("reimport_first.csv", "reimport_second.csv")
PBX_FIELDS = (
    "call_id",
    "arrived_at",
    "caller",
    "outcome",
    "in_service_hours",
    "queue",
    "queued_at",
    "answered_at",
    "ended_at",
    "agent",
    "acw_seconds",
    "source",
    "content_hash",
)


def _both_files(run_import, calls_data) -> dict:
    """Import the first file, then the second (changed, new, rejected, repeated rows): what
    each run said, its rejects, the calls and the audit trail it wrote."""
    last_audit = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    runs = [run_import([calls_data / name]) for name in FILES]
    return {
        "summaries": [run.summary() for run in runs],
        "rejects": [
            sorted(ImportReject.objects.filter(run=run).values_list("line", "offset", "reason", "raw")) for run in runs
        ],
        "calls": sorted(Call.objects.values_list(*PBX_FIELDS)),
        "audit": sorted(
            AuditEvent.objects.filter(id__gt=last_audit, object_type="helpdesk.call").values_list(
                "object_id", "action", "changes", "note"
            )
        ),
    }


def _as_the_row_path_says(outcome: dict) -> dict:
    """What the row path says in its own words: a reject keeps its row as CSV (the SQL path:
    the fields joined), an audited instant is written in Tokyo time (the SQL path: UTC) —
    as before text digests. Compared without the reject's row, instants as instants."""

    def instant(value):
        return dt.datetime.fromisoformat(value) if isinstance(value, str) and value[:2] == "20" else value

    return {
        **outcome,
        "rejects": [[r[:3] for r in run] for run in outcome["rejects"]],
        "audit": [
            (object_id, action, {f: {k: instant(v) for k, v in c.items()} for f, c in changes.items()}, note)
            for object_id, action, changes, note in outcome["audit"]
        ],
    }


def _row_path(*args, **kwargs):
    raise DataError("forced onto the row path")


def _reset() -> None:
    ImportReject.objects.all().delete()
    Call.objects.all().delete()


@pytest.fixture
def set_aside(monkeypatch):
    """How many rows the text digests set aside, batch by batch."""
    counts: list[int] = []
    real = generic.unproven_rows

    def spy(rows):
        rest = real(rows)
        counts.append(len(rows) - len(rest))
        return rest

    monkeypatch.setattr(generic, "unproven_rows", spy)
    return counts


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_reimport_gives_what_the_full_path_and_the_row_path_give(calls_data, run_import, monkeypatch, set_aside):
    """Outside a transaction (two connections, as the command runs it)."""
    if connection.vendor != "postgresql":
        pytest.skip("text digests are the PostgreSQL path's")
    shortcut = _both_files(run_import, calls_data)
    # At least r-01, r-02, r-04 to r-06 and r-08 of the second file (in the first batch of
    # their connection: which one is hash(call_id)'s choice); never r-12 (U+001F in a field).
    assert sum(set_aside) >= 6
    _reset()

    monkeypatch.setattr(generic, "unproven_rows", lambda rows: rows)
    full = _both_files(run_import, calls_data)
    _reset()

    monkeypatch.setattr(generic, "generic_batch_sql", _row_path)
    rows = _both_files(run_import, calls_data)

    assert shortcut == full
    assert _as_the_row_path_says(shortcut) == _as_the_row_path_says(rows)
    assert shortcut["summaries"] == [
        "9 read, 8 created, 0 updated, 0 unchanged, 1 rejected",
        "15 read, 2 created, 2 updated, 9 unchanged, 2 rejected",
    ]
    assert [(object_id, list(changes)) for object_id, _, changes, _ in shortcut["audit"]] == [
        ("r-02", ["ended_at"]),
        ("r-03", ["ended_at"]),
    ]
    assert Call.objects.get(call_id="r-08").queue == "egov, tier 2"


@pytest.mark.postgres
@pytest.mark.django_db
def test_inside_a_transaction_the_same(calls_data, run_import, monkeypatch, set_aside):
    """Inside a caller's transaction (one connection, each batch a savepoint)."""
    shortcut = _both_files(run_import, calls_data)
    # The second file's first batch (up to r-02's second row): r-01, r-02, r-04 to r-06, r-08.
    # The next batch (r-02 corrected, r-11 new) finds none, so the look-up rests after it.
    assert set_aside == [0, 6, 0]
    _reset()
    monkeypatch.setattr(generic, "unproven_rows", lambda rows: rows)
    assert _both_files(run_import, calls_data) == shortcut


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_digest_changed_by_another_writer_is_not_taken_for_unchanged(calls_data, run_import, set_aside):
    """The text digest is bound to content_hash: a call corrected by another path (here the
    row upsert every other import uses) no longer matches the text it was first read from."""
    first = calls_data / FILES[0]
    run_import([first])
    calls_upsert(
        records=[
            CallRecord(
                call_id="r-02",
                arrived_at=tokyo(2026, 10, 1, 10, 10),
                outcome="ivr_abandoned",
                caller="0312345679",
                ended_at=tokyo(2026, 10, 1, 10, 11),
            )
        ],
        calendar=load_service_calendar(),
    )
    set_aside.clear()

    again = run_import([first])

    assert again.summary() == "9 read, 0 created, 1 updated, 7 unchanged, 1 rejected"
    assert sum(set_aside) == 6  # r-02 went the full way and was corrected back
    assert Call.objects.get(call_id="r-02").ended_at == tokyo(2026, 10, 1, 10, 10, 30)


@pytest.mark.postgres
@pytest.mark.django_db
def test_calls_stored_without_a_text_digest_get_it_when_found_unchanged(calls_data, run_import, monkeypatch, set_aside):
    first = calls_data / FILES[0]
    with monkeypatch.context() as patch:
        patch.setattr(generic, "generic_batch_sql", _row_path)
        run_import([first])
    set_aside.clear()
    assert set(Call.objects.values_list("text_digest", flat=True)) == {None}
    stamps = dict(Call.objects.values_list("call_id", "updated_at"))
    audits = AuditEvent.objects.filter(object_type="helpdesk.call").count()

    second = run_import([first])  # the full way, every call unchanged: each gets its digest
    third = run_import([first])  # now found by it

    assert second.summary() == third.summary() == "9 read, 0 created, 0 updated, 8 unchanged, 1 rejected"
    assert set_aside == [0, 7]  # not r-12: U+001F in a field, its text is never looked up
    assert dict(Call.objects.values_list("call_id", "updated_at")) == stamps
    assert AuditEvent.objects.filter(object_type="helpdesk.call").count() == audits
    assert not Call.objects.filter(text_digest=None).exists()


def test_the_look_up_stops_while_it_does_not_pay():
    probe = TextProbe()
    assert probe.due()
    probe.found(unchanged=10, total=20)  # half: it pays
    assert probe.due()
    probe.found(unchanged=9, total=20)
    assert [probe.due() for _ in range(PROBE_EVERY)] == [False] * (PROBE_EVERY - 1) + [True]
