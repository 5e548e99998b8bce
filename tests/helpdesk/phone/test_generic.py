"""Generic call CSV adapter: every outcome, every contradiction, encodings, idempotency,
corrections and service hours."""

import datetime as dt
import io

import pytest

from helpdesk import db
from helpdesk.models import AuditEvent, CalendarDay, Call, ImportReject, ImportRun
from helpdesk.phone import generic
from helpdesk.phone.parse_generic import COLUMNS, FileError, Parsed, Reject, read_calls_csv
from tests.factories import tokyo

pytestmark = pytest.mark.django_db

HEADER = ",".join(COLUMNS) + "\n"


def parse(text: str, encoding="utf-8"):
    return list(read_calls_csv(io.BytesIO(text.encode(encoding)), encoding=encoding))


def test_every_outcome_and_contradiction_in_the_sample_day(calls_data, run_import):
    run = run_import([calls_data / "generic_day.csv"])

    assert run.status == ImportRun.Status.DONE
    assert run.summary() == "18 read, 10 created, 0 updated, 0 unchanged, 8 rejected"
    outcomes = dict(Call.objects.values_list("call_id", "outcome"))
    assert outcomes == {
        "c-001": "answered",
        "c-002": "ivr_abandoned",
        "c-003": "queue_abandoned",
        "c-004": "queue_timeout",
        "c-005": "queue_exit_key",
        "c-006": "queue_empty",
        "c-007": "out_of_hours",
        "c-008": "ivr_abandoned",
        "c-009": "answered",
        "c-010": "queue_abandoned",
    }
    rejects = {r.line: r.reason for r in ImportReject.objects.filter(run=run)}
    assert rejects == {
        11: "answered call without answered_at",
        12: "ended_at before arrived_at",
        13: "unknown outcome 'busy'",
        14: "answered_at on a call with outcome queue_abandoned",
        15: "missing call_id",
        16: "bad timestamp in arrived_at: '2026/10/01 11:50'",
        17: "wrong column count: expected 10, got 7",
        18: "undecodable bytes (utf-8) at byte 33",
    }
    assert bytes(ImportReject.objects.get(run=run, line=18).raw).startswith(b"c-bad8,")


def test_times_naive_are_tokyo_and_offsets_are_kept(calls_data, run_import):
    run_import([calls_data / "generic_day.csv"])
    c1, c2, c9 = (Call.objects.get(call_id=i) for i in ("c-001", "c-002", "c-009"))
    assert c1.answered_at == tokyo(2026, 10, 1, 9, 5, 40)
    assert c2.arrived_at == tokyo(2026, 10, 1, 10, 0)
    assert c9.arrived_at == tokyo(2026, 10, 1, 11, 0)  # 02:00Z
    assert c9.acw_seconds == 45
    assert c1.connected_seconds == 300


def test_service_hours_pbx_verdict_first_then_calendar(calls_data, run_import):
    run_import([calls_data / "generic_day.csv"])
    flags = dict(Call.objects.values_list("call_id", "in_service_hours"))
    assert flags["c-002"] is True  # IVR abandon on a Thursday at 10:00
    assert flags["c-007"] is False  # the PBX said out of hours
    assert flags["c-008"] is False  # IVR abandon at 18:00: the calendar says closed
    assert flags["c-010"] is True  # queued on a Saturday night: the PBX opened the queue


def test_reimport_is_a_no_op(calls_data, run_import):
    run_import([calls_data / "generic_day.csv"])
    before = list(Call.objects.order_by("call_id").values())
    audits = AuditEvent.objects.filter(object_type="helpdesk.call").count()

    again = run_import([calls_data / "generic_day.csv"])

    assert again.summary() == "18 read, 0 created, 0 updated, 10 unchanged, 8 rejected"
    assert list(Call.objects.order_by("call_id").values()) == before
    assert AuditEvent.objects.filter(object_type="helpdesk.call").count() == audits


def test_corrected_row_updates_and_is_audited_without_the_number(tmp_path, run_import):
    first = tmp_path / "day.csv"
    first.write_text(
        HEADER + "x-1,2026-10-01 10:00:00,0312345678,queue_abandoned,egov,2026-10-01 10:00:10,,2026-10-01 10:01:00,,\n"
    )
    run_import([first])
    corrected = tmp_path / "day-reexport.csv"
    corrected.write_text(
        HEADER
        + "x-1,2026-10-01 10:00:00,0399998888,answered,egov,2026-10-01 10:00:10,"
        + "2026-10-01 10:00:50,2026-10-01 10:05:00,op01,\n"
    )

    run = run_import([corrected])

    assert run.summary() == "1 read, 0 created, 1 updated, 0 unchanged, 0 rejected"
    call = Call.objects.get(call_id="x-1")
    assert (call.outcome, call.agent, call.caller) == ("answered", "op01", "0399998888")
    audit = AuditEvent.objects.get(object_type="helpdesk.call", object_id="x-1", action="update")
    assert audit.changes["outcome"] == {"old": "queue_abandoned", "new": "answered"}
    assert audit.changes["caller"] == {"changed": True}
    assert "0399998888" not in str(audit.changes) and "0312345678" not in str(audit.changes)
    # Moments in Tokyo time, whether the SQL path (PostgreSQL) or the row path (SQLite) wrote it.
    assert audit.changes["ended_at"] == {"old": "2026-10-01T10:01:00+09:00", "new": "2026-10-01T10:05:00+09:00"}
    assert audit.changes["answered_at"] == {"old": None, "new": "2026-10-01T10:00:50+09:00"}


def test_same_call_twice_in_a_file_later_row_wins(tmp_path, run_import):
    f = tmp_path / "dup.csv"
    f.write_text(
        HEADER
        + "d-1,2026-10-01 10:00:00,,ivr_abandoned,,,,2026-10-01 10:00:30,,\n"
        + "d-1,2026-10-01 10:00:00,,ivr_abandoned,,,,2026-10-01 10:00:40,,\n"
    )
    run = run_import([f])
    assert run.summary() == "2 read, 1 created, 1 updated, 0 unchanged, 0 rejected"
    assert Call.objects.get(call_id="d-1").ended_at == tokyo(2026, 10, 1, 10, 0, 40)


def test_batches_are_streamed(tmp_path, run_import, monkeypatch):
    monkeypatch.setattr(generic, "BATCH_SIZE", 7)
    monkeypatch.setattr(generic, "SQL_BATCH_SIZE", 7)
    f = tmp_path / "many.csv"
    with f.open("w") as out:
        out.write(HEADER)
        for i in range(50):
            out.write(f"m-{i},2026-10-01 10:{i:02d}:00,,ivr_abandoned,,,,2026-10-01 10:{i:02d}:30,,\n")
    seen = []
    run = run_import([f], progress=lambda done, total: seen.append((done, total)))
    assert run.summary() == "50 read, 50 created, 0 updated, 0 unchanged, 0 rejected"
    assert run.total == 51 and run.done == 51
    assert len(seen) >= 7 and seen == sorted(seen)


def test_cp932_on_request(calls_data, run_import):
    run = run_import([calls_data / "generic_cp932.csv"], encoding="cp932")
    assert run.summary() == "2 read, 2 created, 0 updated, 0 unchanged, 0 rejected"
    call = Call.objects.get(call_id="sj-001")
    assert (call.agent, call.queue, call.acw_seconds) == ("山田", "電子政府", 30)


def test_cp932_file_read_as_utf8_is_rejected_line_by_line(calls_data, run_import):
    run = run_import([calls_data / "generic_cp932.csv"])
    assert run.summary() == "2 read, 0 created, 0 updated, 0 unchanged, 2 rejected"
    assert set(ImportReject.objects.filter(run=run).values_list("line", flat=True)) == {2, 3}


def test_wrong_header_fails_the_file_with_a_reject(tmp_path, run_import):
    f = tmp_path / "other.csv"
    f.write_text("id,start,number\n1,2,3\n")
    run = run_import([f])
    assert run.status == ImportRun.Status.FAILED
    assert "header must name exactly the columns" in run.error
    reject = ImportReject.objects.get(run=run)
    assert reject.line == 1 and "missing" in reject.reason
    assert not Call.objects.exists()


def test_bom_and_column_order(tmp_path, run_import):
    cols = list(reversed(COLUMNS))
    values = dict.fromkeys(COLUMNS, "")
    values.update(call_id="o-1", arrived_at="2026-10-01 10:00:00", outcome="ivr_abandoned", ended_at="")
    f = tmp_path / "bom.csv"
    f.write_bytes(b"\xef\xbb\xbf" + (",".join(cols) + "\n" + ",".join(values[c] for c in cols) + "\n").encode())
    run = run_import([f])
    assert run.created == 1
    assert Call.objects.get(call_id="o-1").arrived_at == tokyo(2026, 10, 1, 10)


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("a,2026-10-01 10:00:00,,answered,q,,2026-10-01 10:00:10,,op,", "answered call without ended_at"),
        (
            "a,2026-10-01 10:00:00,,answered,q,,2026-10-01 09:59:00,2026-10-01 10:05:00,op,",
            "answered_at before arrived_at",
        ),
        (
            "a,2026-10-01 10:00:00,,answered,q,2026-10-01 10:00:30,2026-10-01 10:00:10,2026-10-01 10:05:00,op,",
            "answered_at before queued_at",
        ),
        (
            "a,2026-10-01 10:00:00,,answered,q,,2026-10-01 10:01:00,2026-10-01 10:00:30,op,",
            "ended_at before answered_at",
        ),
        (
            "a,2026-10-01 10:00:00,,queue_abandoned,q,2026-10-01 09:59:00,,2026-10-01 10:01:00,,",
            "queued_at before arrived_at",
        ),
        (
            "a,2026-10-01 10:00:00,,queue_abandoned,q,,,2026-10-01 10:01:00,op,",
            "agent on a call with outcome queue_abandoned",
        ),
        (
            "a,2026-10-01 10:00:00,,ivr_abandoned,,2026-10-01 10:00:05,,2026-10-01 10:01:00,,",
            "queued_at on a call with outcome ivr_abandoned",
        ),
        (
            "a,2026-10-01 10:00:00,,ivr_abandoned,,,,2026-10-01 10:01:00,,-5",
            "acw_seconds is not a whole number of seconds: '-5'",
        ),
        ("a,,,ivr_abandoned,,,,,,", "missing arrived_at"),
        ("a,2026-10-01,,ivr_abandoned,,,,,,", "bad timestamp in arrived_at: '2026-10-01'"),
        (
            "a,2026-10-01 10:00:00,,ivr_abandoned,,,,2026-13-01 10:00:00,,",
            "bad timestamp in ended_at: '2026-13-01 10:00:00'",
        ),
        ('a,2026-10-01 10:00:00,,"ivr_abandoned,,,,,,', "malformed CSV: unexpected end of data"),
    ],
)
def test_contradictions_are_rejected_with_the_reason(row, reason):
    items = parse(HEADER + row + "\n")
    assert len(items) == 1 and isinstance(items[0], Reject)
    assert (items[0].line, items[0].reason) == (2, reason)


def test_parser_keeps_going_after_a_bad_row():
    items = parse(
        HEADER
        + "a,2026-10-01 10:00:00,,teleported,,,,,,\n"
        + "\n"
        + "b,2026-10-01 10:00:00+09:00,,ivr_abandoned,,,,,,\n"
    )
    assert [type(i) for i in items] == [Reject, Parsed]
    assert items[1].line == 4 and items[1].record.arrived_at == dt.datetime(2026, 10, 1, 1, tzinfo=dt.UTC)


def test_empty_file_is_a_file_error():
    with pytest.raises(FileError):
        parse("")


def test_calendar_special_day_is_used_at_import(tmp_path, run_import):
    CalendarDay.objects.create(date=dt.date(2026, 10, 3), kind="open", opens_at=dt.time(9), closes_at=dt.time(12))
    f = tmp_path / "sat.csv"
    f.write_text(HEADER + "s-1,2026-10-03 10:00:00,,ivr_abandoned,,,,2026-10-03 10:00:30,,\n")
    run_import([f])
    assert Call.objects.get(call_id="s-1").in_service_hours is True


def test_each_backend_takes_its_own_path_with_the_same_result(calls_data, run_import, monkeypatch):
    """PostgreSQL validates and upserts a batch in SQL, other databases row by row in
    Python: same counts and reasons either way (this suite runs on both)."""
    from django.db import connection

    other = "_generic_batch_python" if connection.vendor == "postgresql" else "generic_batch_sql"

    def must_not_run(*args, **kwargs):
        raise AssertionError(f"{other} ran on {connection.vendor}")

    monkeypatch.setattr(generic, other, must_not_run)
    run = run_import([calls_data / "generic_day.csv"])
    assert run.summary() == "18 read, 10 created, 0 updated, 0 unchanged, 8 rejected"


def test_a_date_the_pattern_allows_but_the_calendar_does_not(tmp_path, run_import):
    f = tmp_path / "feb30.csv"
    f.write_text(
        HEADER
        + "f-1,2026-02-30 10:00:00,,ivr_abandoned,,,,,,\n"
        + "f-2,2026-02-27 10:00:00,,ivr_abandoned,,,,2026-02-27 10:00:30,,\n"
    )
    run = run_import([f])
    assert run.summary() == "2 read, 1 created, 0 updated, 0 unchanged, 1 rejected"
    assert ImportReject.objects.get(run=run).reason == "bad timestamp in arrived_at: '2026-02-30 10:00:00'"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_sql_batches_outside_a_transaction(tmp_path, run_import, monkeypatch):
    """As the command and the Celery task run it (each batch its own committed transaction):
    file order kept (a later row wins), rejects, service hours and corrections."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("the SQL fast path is PostgreSQL's")
    monkeypatch.setattr(generic, "SQL_BATCH_SIZE", 7)
    f = tmp_path / "many.csv"
    with f.open("w") as out:
        out.write(HEADER)
        for i in range(40):
            out.write(f"p-{i},2026-10-01 10:{i:02d}:00,,ivr_abandoned,,,,2026-10-01 10:{i:02d}:30,,\n")
        out.write("p-3,2026-10-01 10:03:00,,ivr_abandoned,,,,2026-10-01 10:03:50,,\n")  # later row wins
        out.write("p-x,2026-10-01 10:00:00,,answered,egov,,,,op01,\n")  # rejected in SQL
        out.write("p-y,not a time,,answered,egov,,,,op01,\n")  # rejected in Python
    seen = []
    run = run_import([f], progress=lambda done, total: seen.append((done, total)))
    assert run.summary() == "43 read, 40 created, 1 updated, 0 unchanged, 2 rejected"
    assert len(seen) >= 3 and seen == sorted(seen) and seen[-1] == (44, 44)
    assert Call.objects.get(call_id="p-3").ended_at == tokyo(2026, 10, 1, 10, 3, 50)
    assert Call.objects.get(call_id="p-10").in_service_hours is True
    assert sorted(ImportReject.objects.filter(run=run).values_list("line", flat=True)) == [43, 44]
    assert AuditEvent.objects.filter(object_id="p-3").count() == 1
    again = run_import([f])
    assert again.summary() == "43 read, 0 created, 2 updated, 39 unchanged, 2 rejected"  # p-3 twice


@pytest.mark.postgres
def test_a_batch_after_one_of_new_calls_is_written_without_looking_each_call_up(tmp_path, run_import, monkeypatch):
    """After a batch that stored none of its calls, the next is written without the per-row
    look-up of stored calls; a stored call in it undoes that statement alone and the batch is
    written the full way: same counts, rejects and audited correction."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    if connection.vendor != "postgresql":
        pytest.skip("the SQL fast path is PostgreSQL's")
    monkeypatch.setattr(generic, "SQL_BATCH_SIZE", 5)
    Call.objects.create(call_id="s-1", arrived_at=tokyo(2026, 10, 1, 9), outcome="ivr_abandoned")

    def line(call_id: str, minute: int) -> str:
        return f"{call_id},2026-10-01 10:{minute:02d}:00,,ivr_abandoned,,,,2026-10-01 10:{minute:02d}:30,,\n"

    f = tmp_path / "new.csv"
    f.write_text(
        HEADER
        + "".join(line(f"n-{i}", i) for i in range(10))  # two batches of new calls
        + line("s-1", 50)  # stored: a correction in the third batch
        + "n-x,2026-10-01 10:00:00,,answered,egov,,,,op01,\n"  # rejected in SQL, in it too
        + "".join(line(f"n-{i}", i) for i in range(10, 23))
    )
    with CaptureQueriesContext(connection) as queries:
        run = run_import([f])

    batches = [q["sql"] for q in queries.captured_queries if "INSERT INTO helpdesk_call " in q["sql"]]
    looked_up = ["SELECT true FROM helpdesk_call c WHERE c.call_id" in sql for sql in batches]
    # (the third batch's first statement finds s-1 stored and is undone)
    assert looked_up == [True, False, False, True, True, False]
    assert run.summary() == "25 read, 23 created, 1 updated, 0 unchanged, 1 rejected"
    assert list(ImportReject.objects.filter(run=run).values_list("line", "reason")) == [
        (13, "answered call without answered_at")
    ]
    assert Call.objects.get(call_id="s-1").arrived_at == tokyo(2026, 10, 1, 10, 50)
    assert AuditEvent.objects.filter(object_id="s-1").count() == 1
    assert Call.objects.filter(call_id__startswith="n-").count() == 23


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_connections_write_and_each_call_stays_on_one(tmp_path, run_import, monkeypatch):
    """Outside a transaction, PostgreSQL batches go to two connections at once; every row of
    a call goes to the same one, in file order."""
    from django.db import connection

    from helpdesk.phone import parallel as calls_parallel

    monkeypatch.setattr(generic, "SQL_BATCH_SIZE", 5)
    writers: dict[str, set[int]] = {}
    real = calls_parallel.write_generic_batch

    def spy(run, name, rows, calendar, reject, **kwargs):
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            pid = cursor.fetchone()[0]
        for row in rows:
            writers.setdefault(row.fields[0], set()).add(pid)
        return real(run, name, rows, calendar, reject, **kwargs)

    monkeypatch.setattr(calls_parallel, "write_generic_batch", spy)
    f = tmp_path / "two.csv"
    with f.open("w") as out:
        out.write(HEADER)
        for minute in range(3):  # every call three times: the last row must win
            for i in range(30):
                out.write(f"w-{i},2026-10-01 10:00:00,,ivr_abandoned,,,,2026-10-01 10:0{minute}:30,,\n")
    run = run_import([f])

    assert run.summary() == "90 read, 30 created, 60 updated, 0 unchanged, 0 rejected"
    assert all(len(pids) == 1 for pids in writers.values())
    assert len(set().union(*writers.values())) == 2
    assert {c.ended_at for c in Call.objects.filter(call_id__startswith="w-")} == {tokyo(2026, 10, 1, 10, 2, 30)}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_batches_of_a_new_file_are_checked_ahead_with_the_same_result(tmp_path, run_import, monkeypatch):
    """In a new file the reader makes each batch's field checks and stage text before the
    batch reaches its connection (`check_rows`; the connection's backend then does not wait
    on Python); a batch whose rows the text digests partly set aside is checked again. Every
    row, reject and count is what the import gives with nothing checked ahead."""
    from helpdesk.phone import parallel as calls_parallel

    monkeypatch.setattr(generic, "SQL_BATCH_SIZE", 5)
    monkeypatch.setattr(generic, "PROBE_EVERY", 3)  # look-ups on batches that hold stored calls
    ahead: list[bool] = []
    real = calls_parallel.write_generic_batch

    def spy(run, name, rows, calendar, reject, **kwargs):
        ahead.append(kwargs["checked"] is not None)
        if kwargs["checked"] is not None:
            assert kwargs["checked"].rows == rows
        return real(run, name, rows, calendar, reject, **kwargs)

    monkeypatch.setattr(calls_parallel, "write_generic_batch", spy)

    def line(call_id: str, minute: int, end: int = 30) -> str:
        return f"{call_id},2026-10-01 10:{minute:02d}:00,,ivr_abandoned,,,,2026-10-01 10:{minute:02d}:{end},,\n"

    body = "".join(line(f"a-{i}", i % 60) for i in range(120))
    body += "a-x,2026-10-01 10:00:00,,answered,egov,,,,op01,\n"  # rejected in SQL
    body += "a-y,not a time,,answered,egov,,,,op01,\n"  # rejected by the field checks
    body += "".join(line(f"a-{i}", i % 60, end=45) for i in range(0, 120, 7))  # corrections, later rows win
    first = tmp_path / "first.csv"
    first.write_text(HEADER + "".join(line(f"a-{i}", i % 60) for i in range(0, 120, 3)))  # a third stored before
    f = tmp_path / "calls.csv"
    f.write_text(HEADER + body)

    def outcome() -> tuple:
        run_import([first])
        before = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        run = run_import([f])
        result = (
            run.summary(),
            sorted(ImportReject.objects.filter(run=run).values_list("line", "offset", "reason")),
            sorted(Call.objects.values_list("call_id", "arrived_at", "ended_at", "in_service_hours", "content_hash")),
            sorted(
                AuditEvent.objects.filter(pk__gt=before, object_type="helpdesk.call").values_list(
                    "object_id", "action", "changes"
                )
            ),
        )
        Call.objects.all().delete()  # (the audit trail is append-only: compared by the new events)
        return result

    checked_ahead = outcome()
    assert any(ahead) and not all(ahead)  # (each connection's first batch: not yet known to be new)
    ahead.clear()
    monkeypatch.setattr(generic.TextProbe, "expects_new", lambda self: False)
    nothing_ahead = outcome()
    assert not any(ahead)
    assert checked_ahead == nothing_ahead
    assert checked_ahead[0] == "140 read, 80 created, 18 updated, 40 unchanged, 2 rejected"


def test_checks_made_ahead_are_the_field_checks_and_the_stage_text_of_the_rows_that_pass():
    from helpdesk.phone.generic_pg import stage_text
    from helpdesk.phone.parse_generic import Row, field_error

    good = ("c-1", "2026-10-01 10:00:00", "", "ivr_abandoned", "", "", "", "2026-10-01 10:00:30", "", "")
    bad = ("c-2", "not a time", "", "ivr_abandoned", "", "", "", "", "", "")
    rows = [Row(2, 80, good), Row(3, 160, bad), Row(4, 240, good)]
    checked = generic.check_rows(rows)
    assert checked.rows == rows
    assert checked.errors == [None, field_error(bad), None] and field_error(bad)
    assert checked.stage == stage_text([rows[0], rows[2]])
    assert generic.check_rows([Row(2, 80, bad)]).stage is None


@pytest.mark.parametrize("column", ["arrived_at", "queued_at", "answered_at", "ended_at"])
def test_each_bad_timestamp_is_named(column):
    from helpdesk.phone.parse_generic import field_error

    row = dict.fromkeys(COLUMNS, "")
    row.update(call_id="b-1", outcome="answered", arrived_at="2026-10-01 10:00:00")
    row[column] = "2026/10/01 10:00"
    assert field_error(tuple(row[c] for c in COLUMNS)) == f"bad timestamp in {column}: '2026/10/01 10:00'"
    row[column] = "2026-10-01T10:00:00.5+09:00"
    assert field_error(tuple(row[c] for c in COLUMNS)) is None


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_failing_connection_fails_the_run_and_keeps_what_was_committed(tmp_path, run_import, monkeypatch):
    import threading

    from helpdesk.phone import parallel as calls_parallel

    monkeypatch.setattr(generic, "SQL_BATCH_SIZE", 5)
    real = calls_parallel.write_generic_batch
    written = []

    def flaky(run, name, rows, calendar, reject, **kwargs):
        if len(written) >= 2:
            raise RuntimeError("connection lost")
        written.append(len(rows))
        return real(run, name, rows, calendar, reject, **kwargs)

    monkeypatch.setattr(calls_parallel, "write_generic_batch", flaky)
    f = tmp_path / "flaky.csv"
    f.write_text(
        HEADER + "".join(f"k-{i},2026-10-01 10:00:00,,ivr_abandoned,,,,2026-10-01 10:00:30,,\n" for i in range(60))
    )
    threads_before = threading.active_count()

    with pytest.raises(RuntimeError, match="connection lost"):
        run_import([f])

    run = ImportRun.objects.get(source_name="test")
    assert run.status == ImportRun.Status.FAILED and "connection lost" in run.error
    assert Call.objects.filter(call_id__startswith="k-").count() == sum(written) == 10
    assert threading.active_count() == threads_before  # both writers stopped


def test_a_batch_the_database_refuses_is_written_row_by_row(tmp_path, run_import, monkeypatch):
    """Another import storing one of these calls meanwhile (IntegrityError), or a date
    PostgreSQL refuses (DataError): that batch goes through the Python path."""
    from django.db import IntegrityError

    def refused(*args, **kwargs):
        raise IntegrityError("duplicate key value violates unique constraint")

    monkeypatch.setattr(generic, "generic_batch_sql", refused)
    Call.objects.create(call_id="r-1", arrived_at=tokyo(2026, 10, 1, 10), outcome="ivr_abandoned")
    f = tmp_path / "refused.csv"
    f.write_text(
        HEADER
        + "r-1,2026-10-01 10:00:00,,ivr_abandoned,,,,2026-10-01 10:00:30,,\n"
        + "r-2,2026-10-01 10:01:00,,ivr_abandoned,,,,2026-10-01 10:01:30,,\n"
        + "r-3,2026-10-01 10:02:00,,answered,egov,,,,op01,\n"
    )
    run = run_import([f])
    assert run.summary() == "3 read, 1 created, 1 updated, 0 unchanged, 1 rejected"
    assert ImportReject.objects.get(run=run).reason == "answered call without answered_at"


def test_imports_give_the_garbage_collector_back_its_thresholds(calls_data, run_import):
    import gc

    before = gc.get_threshold()
    with pytest.raises(RuntimeError), db.fewer_collections():
        assert gc.get_threshold()[0] == db.GC_THRESHOLD
        raise RuntimeError
    assert gc.get_threshold() == before
    run_import([calls_data / "queue_log", calls_data / "Master.csv"], fmt="asterisk")
    assert gc.get_threshold() == before


TRICKY_LINES = (
    "x-1, 2026-10-01 10:00:00 ,0312,answered,egov,,,, op01 ,5\r\n",  # spaces, CRLF
    '"x-2","2026-10-01 10:00:00","","ivr_abandoned","","","","","",""\n',  # every field quoted
    'x-3,2026-10-01 10:00:00,"abc\n',  # a quoted field over three lines, the middle one
    "x-4,2026-10-01 10:01:00,,ivr_abandoned,,,,,,\n",  # looking like a row of its own
    'def",answered,egov,,,,,\n',
    "x-5,2026-10-01 10:00:00,0312\r,answered,egov,,,,,\n",  # a carriage return inside
    "\n",
    "   \n",
    ",,,,,,,,,\n",
    "x-6,a,b,c,d,e,f,g,h,i,j\n",  # eleven columns
    "x-7,2026-10-01 10:00:00,,ivr_abandoned,,,,,,\r\r\n",
    'x-8,2026-10-01 10:00:00,,ivr_abandoned,,"a""b",,,,\n',
    "x-9,2026-10-01 10:00:00,,ivr_abandoned,,,,,,",  # no line end
)


def _as_the_csv_reader_reads(data: bytes) -> list[tuple]:
    """What `iter_rows` gave when the csv reader read every line (before lines without
    quotes were split at their commas): the oracle."""
    import csv

    *body, last = data.split(b"\n")
    lines = [line + b"\n" for line in body] + ([last] if last else [])
    at = {"line": 0, "offset": 0}

    def source():
        offset = 0
        for number, raw in enumerate(lines, 1):
            at.update(line=number, offset=offset)
            offset += len(raw)
            yield raw.decode()

    reader = csv.reader(source(), strict=True)
    header = [cell.strip() for cell in next(reader)]
    out: list[tuple] = []
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return out
        except csv.Error as exc:
            out.append(("reject", at["line"], at["offset"], f"malformed CSV: {exc}"))
            continue
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        if len(row) != len(COLUMNS):
            out.append(("reject", at["line"], at["offset"], f"wrong column count: expected 10, got {len(row)}"))
            continue
        out.append(("row", at["line"], at["offset"], tuple(row[header.index(c)].strip() for c in COLUMNS)))


@pytest.mark.parametrize("header", [COLUMNS, tuple(reversed(COLUMNS))])
def test_lines_split_at_their_commas_read_as_the_csv_reader_reads_them(header):
    from helpdesk.phone.parse_generic import iter_rows

    data = (",".join(header) + "\r\n" + "".join(TRICKY_LINES)).encode()
    read = [
        ("reject", item.line, item.offset, item.reason)
        if isinstance(item, Reject)
        else ("row", item.line, item.offset, item.fields)
        for item in iter_rows(io.BytesIO(data))
    ]
    assert read == _as_the_csv_reader_reads(data)
    # lines 4 to 6 are one record: line 5 is inside its quoted field, never a row of its own
    assert read[2][:2] == ("row", 6) and "abc\nx-4" in "".join(read[2][3])


def test_rows_and_rejects_keep_their_line_and_offset_among_bad_lines():
    """Plain lines are read outside `_Lines` (their own count of lines and bytes): every row
    and reject still says the line and byte offset it came from, around lines rejected for a
    NUL, undecodable bytes or their length, and quoted records over several lines."""
    from helpdesk.imports.lines import MAX_LINE_BYTES
    from helpdesk.phone.parse_generic import iter_rows

    good = "g-{},2026-10-01 10:00:00,,ivr_abandoned,,,,,,\n"
    lines = [
        HEADER.encode(),
        good.format(1).encode(),
        b"g-nul,2026-10-01 10:00:00,\x00,ivr_abandoned,,,,,,\n",
        good.format(2).encode(),
        b"g-bad,2026-10-01 10:00:00,\xff\xfe,ivr_abandoned,,,,,,\n",
        b"g-long," + b"x" * (MAX_LINE_BYTES + 10) + b"\n",
        b'"g-3",2026-10-01 10:00:00,"a\nb",ivr_abandoned,,,,,,\n',
        "g-4,2026-10-01 10:00:00,発信者,ivr_abandoned,,,,,,\r\n".encode(),
        b"g-5,too,few\n",
        good.format(6).encode(),
    ]
    data = b"".join(lines)
    offsets = [sum(len(line) for line in lines[:i]) for i in range(len(lines))]
    # (line number, offset) of each physical line: the quoted record spans lines 7 and 8
    starts = {}
    number = 1
    for i, line in enumerate(lines):
        starts[i] = (number, offsets[i])
        number += line.count(b"\n")

    read = [
        (
            type(item).__name__,
            item.line,
            item.offset,
            getattr(item, "fields", (None,))[0] or getattr(item, "reason", ""),
        )
        for item in iter_rows(io.BytesIO(data))
    ]
    line_2, off_2 = starts[2]
    line_4, off_4 = starts[4]
    line_5, off_5 = starts[5]
    assert read == [
        ("Row", *starts[1], "g-1"),
        ("Reject", line_2, off_2, f"NUL byte at byte {lines[2].index(0) + 1}"),
        ("Row", *starts[3], "g-2"),
        ("Reject", line_4, off_4, f"undecodable bytes (utf-8) at byte {lines[4].index(0xFF) + 1}"),
        ("Reject", line_5, off_5, f"line longer than {MAX_LINE_BYTES} bytes ({len(lines[5])} bytes)"),
        # a record read by the csv reader is numbered by its last line, at that line's offset
        ("Row", starts[6][0] + 1, offsets[6] + len(lines[6].split(b"\n")[0]) + 1, "g-3"),
        ("Row", *starts[7], "g-4"),
        ("Reject", *starts[8], "wrong column count: expected 10, got 3"),
        ("Row", *starts[9], "g-6"),
    ]


TIMESTAMP_LIKE = (
    "",
    "2026-10-01 10:00:00",
    "2026-10-01T10:00:00",
    "2026-10-01 10:00",
    "2026-10-01 10:00:00.5",
    "2026-10-01 10:00:00+09:00",
    "2026-10-01 10:00:00Z",
    "1999-10-01 10:00:00",
    "2100-01-01 00:00:00",
    "2026-10-01 10:00:0",
    "2026-10-01 10:00:000",
    "2026/10/01 10:00:00",
    "２026-10-01 10:00:00",  # a full-width digit
    "2026-10-01 10:00:00\x1f2026-10-01 10:00:00",  # the separator inside a field
    "20",
    "2026-10-01x10:00:00",
)


def test_field_checks_without_the_regex_say_what_the_regex_says():
    """`field_error` skips the timestamp regex for the usual shapes (digits mapped to 0): for
    every combination of these values in the four timestamp fields it gives what the regex
    alone gives."""
    import itertools

    from helpdesk.phone import parse_generic

    combos = [
        ("c-1", a, "", "answered", "", q, b, e, "", "") for a, q, b, e in itertools.product(TIMESTAMP_LIKE, repeat=4)
    ]
    fast = [parse_generic.field_error(fields) for fields in combos]
    shapes = parse_generic._SHAPES
    try:
        parse_generic._SHAPES = {}
        slow = [parse_generic.field_error(fields) for fields in combos]
    finally:
        parse_generic._SHAPES = shapes
    assert fast == slow
    usual = [
        fields
        for fields in combos
        if "\x1f".join((fields[1], *fields[5:8])).encode().translate(parse_generic._ZERO_DIGITS) in shapes
    ]
    assert len(usual) > 100 and 0 < fast.count(None) < len(combos)


def test_a_batch_is_staged_as_joined_text_only_when_no_field_needs_escaping():
    from helpdesk.phone.generic_pg import stage_text
    from helpdesk.phone.parse_generic import Row

    plain = ("c-1", "2026-10-01 10:00:00", "0312", "answered", "窓口", "", "", "", "op01", "5")
    assert stage_text([Row(2, 80, plain), Row(3, 160, plain)]) == (
        "2\t80\tc-1\t2026-10-01 10:00:00\t0312\tanswered\t窓口\t\t\t\top01\t5\n"
        "3\t160\tc-1\t2026-10-01 10:00:00\t0312\tanswered\t窓口\t\t\t\top01\t5\n"
    )
    for odd in ("a\\b", "a\tb", "a\rb", "a\nb"):
        fields = (*plain[:2], odd, *plain[3:])
        assert stage_text([Row(2, 80, plain), Row(3, 160, fields)]) is None


def test_a_probe_is_staged_as_joined_text_only_when_every_row_has_a_plain_text_key():
    from helpdesk.phone.generic_pg import probe_text
    from helpdesk.phone.parse_generic import Row
    from helpdesk.phone.rules import text_key

    plain = ("c-1", "2026-10-01 10:00:00", "0312", "answered", "窓口", "", "", "", "op01", "5")
    assert (
        probe_text([Row(2, 80, plain), Row(3, 160, plain)]) == f"0\tc-1\t{text_key(plain)}\n1\tc-1\t{text_key(plain)}\n"
    )
    for odd in ("a\\b", "a\tb", "a\rb", "a\nb", "a\x1fb"):
        fields = (*plain[:2], odd, *plain[3:])
        assert probe_text([Row(2, 80, plain), Row(3, 160, fields)]) is None


@pytest.mark.postgres
def test_fields_that_copy_escapes_are_stored_as_read(tmp_path, run_import):
    """A batch with a backslash, a tab or a line break inside a field goes to COPY row by row
    (escaped): the calls hold the fields exactly as read."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("the SQL fast path is PostgreSQL's")
    f = tmp_path / "odd.csv"
    f.write_text(
        HEADER
        + "e-1,2026-10-01 10:00:00,03\\12,ivr_abandoned,,,,,,\n"
        + 'e-2,2026-10-01 10:00:00,"03\t12",ivr_abandoned,,,,,,\n'
        + 'e-3,2026-10-01 10:00:00,"03\n12",ivr_abandoned,,,,,,\n'
        + "e-4,2026-10-01 10:00:00,0312,ivr_abandoned,,,,,,\n"
    )
    run = run_import([f])
    assert run.summary() == "4 read, 4 created, 0 updated, 0 unchanged, 0 rejected"
    assert dict(Call.objects.values_list("call_id", "caller")) == {
        "e-1": "03\\12",
        "e-2": "03\t12",
        "e-3": "03\n12",
        "e-4": "0312",
    }
    assert run_import([f]).summary() == "4 read, 0 created, 0 updated, 4 unchanged, 0 rejected"
