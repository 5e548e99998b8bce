"""Asterisk adapter: a realistic day (IVR abandons, every queue-abandon kind, transfers,
RINGNOANSWER, pauses, a clock step, rotated overlapping pieces, NUL runs, duplicates,
truncated and badly encoded lines), pieces in any order, re-imports, and the real
Issabel sample files (counts from SOURCE.md)."""

import datetime as dt
import io
import itertools
from collections import Counter
from zoneinfo import ZoneInfo

import pytest

from helpdesk.models import AsteriskCdr, AsteriskQueueEvent, Call, ImportReject, ImportRun
from helpdesk.phone.parse_asterisk import (
    CDR_FIELDS,
    CdrRow,
    Coverage,
    build_call,
    detect_kind,
    parse_queue_log_line,
    read_cdr,
)
from helpdesk.phone.records import RowError
from tests.factories import tokyo

pytestmark = pytest.mark.django_db

PIECES = ("queue_log-20261001", "queue_log", "Master.csv")
CALL_FIELDS = (
    "call_id",
    "arrived_at",
    "outcome",
    "in_service_hours",
    "queue",
    "queued_at",
    "answered_at",
    "ended_at",
    "agent",
    "caller",
)


def snapshot():
    return sorted(Call.objects.values_list(*CALL_FIELDS))


def by_id():
    return {c.call_id: c for c in Call.objects.all()}


def test_a_day_at_the_center(calls_data, run_import):
    run = run_import([calls_data / p for p in PIECES], fmt="asterisk")

    assert run.status == ImportRun.Status.DONE
    assert (run.created, run.updated, run.unchanged, run.rejected) == (11, 0, 0, 6)
    calls = by_id()
    outcome = {cid: c.outcome for cid, c in calls.items()}
    assert outcome == {
        "1790813100.101": "answered",  # RINGNOANSWER on op01, answered by op02
        "1790814000.140": "ivr_abandoned",  # hung up in the menu: CDR only
        "1790814600.160": "queue_abandoned",
        "1790815200.180": "queue_timeout",
        "1790815800.200": "queue_exit_key",
        "1790816400.220": "queue_empty",
        "1790817000.240": "answered",  # blind transfer; the transferred leg is no new call
        "1790818200.280": "answered",  # attended transfer
        "1790820000.320": "answered",  # COMPLETEAGENT
        "1790821800.340": "answered",  # clock stepped back an hour mid-call
        "1790845800.300": "out_of_hours",  # 18:10, IVR only
    }
    a = calls["1790813100.101"]
    assert (a.arrived_at, a.queued_at, a.answered_at, a.ended_at) == (
        tokyo(2026, 10, 1, 9, 5),
        tokyo(2026, 10, 1, 9, 5, 20),
        tokyo(2026, 10, 1, 9, 5, 40),
        tokyo(2026, 10, 1, 9, 10, 40),
    )
    assert (a.agent, a.queue, a.caller, a.source, a.in_service_hours) == (
        "op02",
        "egov",
        "0312345678",
        "asterisk",
        True,
    )
    assert calls["1790817000.240"].ended_at == tokyo(2026, 10, 1, 10, 15, 20)  # the agent's leg ends at the transfer
    assert calls["1790818200.280"].ended_at == tokyo(2026, 10, 1, 10, 32, 20)
    k = calls["1790821800.340"]
    assert (k.answered_at, k.ended_at) == (tokyo(2026, 10, 1, 11, 30, 15), tokyo(2026, 10, 1, 11, 32, 15))
    assert calls["1790845800.300"].in_service_hours is False
    assert calls["1790814000.140"].ended_at == tokyo(2026, 10, 1, 9, 20, 45)


def test_rejects_name_file_line_and_reason(calls_data, run_import):
    run = run_import([calls_data / p for p in PIECES], fmt="asterisk")
    rejects = sorted(ImportReject.objects.filter(run=run).values_list("source_name", "line", "reason"))
    qlog, master = str(calls_data / "queue_log"), str(calls_data / "Master.csv")
    assert rejects == sorted(
        [
            (qlog, 17, "truncated ABANDON line: 1 of 3 data fields"),
            (qlog, 18, "undecodable bytes (utf-8) at byte 22"),
            (qlog, 19, "truncated queue_log line: 3 of at least 5 fields"),
            (master, 10, "CDR row without uniqueid (16 columns): enable loguniqueid in cdr.conf"),
            (master, 16, "bad CDR time in start: '2026-10-01 25:00:00'"),
            (master, 17, "truncated CDR row (unterminated quote)"),
        ]
    )


def test_nul_runs_duplicates_and_custom_events_are_kept_once(calls_data, run_import):
    run_import([calls_data / p for p in PIECES], fmt="asterisk")
    events = Counter(AsteriskQueueEvent.objects.values_list("event", flat=True))
    assert events["BLINDTRANSFER"] == 1  # duplicated line
    assert events["ENTERQUEUE"] == 9  # the overlapping rotation line only once
    assert events["SURVEY"] == 1 and events["DID"] == 1  # dialplan QueueLog() events
    assert events["PAUSE"] == 1 and events["RINGNOANSWER"] == 1
    assert AsteriskCdr.objects.count() == 13  # 14 good rows, one duplicated


@pytest.mark.parametrize("order", list(itertools.permutations(PIECES)))
def test_pieces_in_any_order_give_the_same_calls(calls_data, run_import, order):
    for piece in order:
        run_import([calls_data / piece], fmt="asterisk")
    one_by_one = snapshot()
    assert len(one_by_one) == 11

    Call.objects.all().delete()
    AsteriskQueueEvent.objects.all().delete()
    AsteriskCdr.objects.all().delete()
    run_import([calls_data / p for p in PIECES], fmt="asterisk")
    assert snapshot() == one_by_one


def test_a_call_waits_for_its_other_half(calls_data, run_import):
    run = run_import([calls_data / "queue_log-20261001", calls_data / "queue_log"], fmt="asterisk")
    assert run.created == 0 and not Call.objects.exists()
    assert run.call_stats.pending == 9  # queued calls without their CDR yet

    run = run_import([calls_data / "Master.csv"], fmt="asterisk")
    assert run.created == 11


def test_ivr_only_call_waits_until_the_queue_log_covers_its_time(calls_data, run_import):
    run_import([calls_data / "Master.csv"], fmt="asterisk")
    assert not Call.objects.exists()  # without the log, "never queued" is not known yet

    run_import([calls_data / "queue_log-20261001"], fmt="asterisk")
    # The morning piece covers 08:55–10:10: the 09:20 IVR abandon is now decided, the
    # 18:10 call is not, nor the calls whose queue lines are in the next piece.
    assert Call.objects.filter(outcome="ivr_abandoned").count() == 1
    assert not Call.objects.filter(outcome="out_of_hours").exists()

    run_import([calls_data / "queue_log"], fmt="asterisk")
    assert Call.objects.count() == 11


def test_reimport_of_any_piece_is_a_no_op(calls_data, run_import):
    run_import([calls_data / p for p in PIECES], fmt="asterisk")
    before = snapshot()
    staged = (AsteriskQueueEvent.objects.count(), AsteriskCdr.objects.count())
    for piece in PIECES:
        run = run_import([calls_data / piece], fmt="asterisk")
        assert (run.created, run.updated) == (0, 0)
        assert run.unchanged > 0
    assert snapshot() == before
    assert (AsteriskQueueEvent.objects.count(), AsteriskCdr.objects.count()) == staged


def test_late_queue_lines_correct_a_call_and_are_audited(calls_data, run_import, tmp_path):
    from helpdesk.models import AuditEvent

    run_import([calls_data / p for p in PIECES], fmt="asterisk")
    # A piece found later: the 09:20 "IVR abandon" had in fact entered the queue.
    late = tmp_path / "queue_log-late"
    late.write_text(
        "1790814010|1790814000.140|egov|NONE|ENTERQUEUE||0312349999|1\n1790814045|1790814000.140|egov|NONE|ABANDON|1|1|35\n"
    )
    run = run_import([late], fmt="asterisk")
    assert run.updated == 1
    call = Call.objects.get(call_id="1790814000.140")
    assert call.outcome == "queue_abandoned" and call.queued_at == tokyo(2026, 10, 1, 9, 20, 10)
    audit = AuditEvent.objects.get(object_type="helpdesk.call", object_id="1790814000.140", action="update")
    assert audit.changes["outcome"] == {"old": "ivr_abandoned", "new": "queue_abandoned"}


def test_cdr_time_zone_option(tmp_path, run_import):
    row = (
        '"","0312345678","0570","ivr-1","","SIP/trunk-1","","BackGround","","2026-10-01 01:00:00",'
        '"2026-10-01 01:00:01","2026-10-01 01:00:30",30,29,"ANSWERED","DOCUMENTATION","1790816400.9",""\n'
    )
    master = tmp_path / "Master.csv"
    master.write_text(row)
    qlog = tmp_path / "queue_log"
    qlog.write_text("1790812800|NONE|NONE|NONE|QUEUESTART|\n1790820000|NONE|NONE|NONE|CONFIGRELOAD|\n")
    run_import([qlog, master], fmt="asterisk", cdr_timezone="UTC")
    call = Call.objects.get()
    assert call.arrived_at == tokyo(2026, 10, 1, 10, 0)
    assert call.outcome == "ivr_abandoned"


def test_internal_calls_are_not_calls(tmp_path, run_import):
    master = tmp_path / "Master.csv"
    master.write_text(
        '"","1001","2001","ivr-1","","SIP/1001-1","","BackGround","","2026-10-01 10:00:00",'
        '"2026-10-01 10:00:01","2026-10-01 10:00:30",30,29,"ANSWERED","DOCUMENTATION","1790816400.1",""\n'
        '"","0312345678","2001","from-internal","","SIP/trunk-2","SIP/2001-3","Dial","","2026-10-01 10:00:00",'
        '"2026-10-01 10:00:01","2026-10-01 10:00:30",30,29,"ANSWERED","DOCUMENTATION","1790816400.2",""\n'
    )
    qlog = tmp_path / "queue_log"
    qlog.write_text("1790812800|NONE|NONE|NONE|QUEUESTART|\n1790820000|NONE|NONE|NONE|CONFIGRELOAD|\n")
    run = run_import([qlog, master], fmt="asterisk")
    assert run.rejected == 0 and not Call.objects.exists()


# --- the real Issabel files ---------------------------------------------------------------

REAL = (
    "queue_log-20220707",
    "queue_log-20220801",
    "queue_log-20220901",
    "queue_log-20221005",
    "queue_log",
    "Master.csv",
)


def test_real_issabel_files_match_the_independent_counts(test_data, run_import):
    base = test_data / "calls" / "asterisk_issabel"
    run = run_import([base / name for name in REAL], fmt="asterisk", cdr_timezone="UTC")

    assert run.rejected == 0
    assert run.created == 33  # internal test box: only the queue calls are inbound calls
    months = Counter()
    for call in Call.objects.all():
        month = call.arrived_at.astimezone(ZoneInfo("Asia/Tokyo")).strftime("%Y-%m")
        months[(month, "queued")] += call.queued_at is not None
        months[(month, call.outcome)] += 1
    assert months == Counter(
        {
            ("2022-07", "queued"): 30,
            ("2022-07", "answered"): 3,
            ("2022-07", "queue_abandoned"): 27,
            ("2022-09", "queued"): 1,
            ("2022-09", "queue_abandoned"): 1,
            ("2022-10", "queued"): 2,
            ("2022-10", "queue_abandoned"): 2,
        }
    )
    ends = Counter(AsteriskQueueEvent.objects.filter(event__startswith="COMPLETE").values_list("event", flat=True))
    assert ends == {"COMPLETEAGENT": 2, "COMPLETECALLER": 1}
    # every queue call joined its CDR: arrival is the CDR start, a few seconds before the queue
    assert all(c.arrived_at <= c.queued_at <= c.arrived_at + dt.timedelta(minutes=2) for c in Call.objects.all())

    again = run_import([base / name for name in reversed(REAL)], fmt="asterisk", cdr_timezone="UTC")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 33)


# --- parsing units ------------------------------------------------------------------------


def test_queue_log_line_fields():
    line = parse_queue_log_line(b"1658129431|1658129428.1048|500|NONE|ENTERQUEUE||1001|1")
    assert (line.callid, line.queue, line.agent, line.event, line.data) == (
        "1658129428.1048",
        "500",
        "",
        "ENTERQUEUE",
        ["", "1001", "1"],
    )
    assert line.time == dt.datetime(2022, 7, 18, 7, 30, 31, tzinfo=dt.UTC)
    with pytest.raises(RowError, match="bad epoch"):
        parse_queue_log_line(b"2022-07-18 07:30:31|1.1|500|NONE|ENTERQUEUE||1001|1")


@pytest.mark.parametrize(("columns", "ok"), [(16, False), (17, True), (18, True), (21, True), (26, False)])
def test_cdr_column_counts(columns, ok):
    fields = ['""'] * columns
    fields[9], fields[11] = '"2026-10-01 10:00:00"', '"2026-10-01 10:00:30"'
    if columns > 16:
        fields[16] = '"1790816400.1"'
    items = list(read_cdr(io.BytesIO((",".join(fields) + "\n").encode())))
    assert (type(items[0]).__name__ == "CdrRow") is ok


def test_cdr_row_values_follow_the_declared_fields():
    """Both staging paths write `CdrRow.values()` under `CDR_FIELDS`' column order: a field
    added or reordered in one place must show here, not as a shifted column in one path."""
    line = b'"","0312345678","500","from-pstn","","SIP/a-1","SIP/1001-2","Queue","500",'
    line += b'"2026-10-01 10:00:00","2026-10-01 10:00:05","2026-10-01 10:00:30","30","25","ANSWERED","3",'
    line += b'"1790816400.1","","","1790816400.0","7"\n'
    (row,) = list(read_cdr(io.BytesIO(line)))
    assert isinstance(row, CdrRow)
    assert dict(zip(CDR_FIELDS, row.values(), strict=True)) == {name: getattr(row, name) for name in CDR_FIELDS}
    assert (row.uniqueid, row.linkedid, row.src, row.billsec, row.columns) == (
        "1790816400.1",
        "1790816400.0",
        "0312345678",
        25,
        21,
    )


def test_cdr_header_row_is_skipped():
    header = ",".join(["accountcode", "src", "dst"] + ["x"] * 15)
    assert list(read_cdr(io.BytesIO(header.encode() + b"\n"))) == []


def test_detect_kind():
    assert detect_kind(b"\x00\x00\x001658129431|NONE|NONE|NONE|QUEUESTART|\n") == "queue_log"
    assert detect_kind(b'"","1001","1002","from-internal"\n') == "cdr"


def test_build_call_without_coverage_is_pending():
    class Row:
        uniqueid = linkedid = "1.1"
        src, dcontext, channel = "0312345678", "ivr-1", "SIP/trunk-1"
        start = end = tokyo(2026, 10, 1, 10)

    assert repr(build_call("1.1", [], [Row()], coverage=Coverage(None, None))) == "PENDING"
    built = build_call("1.1", [], [Row()], coverage=Coverage(tokyo(2026, 10, 1, 9), tokyo(2026, 10, 1, 11)))
    assert built.outcome == "ivr_or_out_of_hours"
