"""Files no PBX writes — a NUL byte in a field, a line of many megabytes, values out of any
center's range — cost one reject each (line and reason) and never stop the rows after them,
on the PostgreSQL fast path and the Python path alike; memory stays flat."""

import io
import tracemalloc

import pytest

from helpdesk.imports.lines import MAX_LINE_BYTES, REJECT_EXCERPT_BYTES
from helpdesk.models import Call, ImportReject, ImportRun
from helpdesk.phone.parse_asterisk import read_queue_log
from helpdesk.phone.parse_generic import COLUMNS, Reject, iter_rows

pytestmark = pytest.mark.django_db

ROW = "2026-10-01T09:05:00+09:00,0312345678,answered,egov,2026-10-01T09:05:20+09:00,2026-10-01T09:05:40+09:00,2026-10-01T09:10:40+09:00,op01,30"


def test_bad_bytes_and_impossible_values_are_rejects_and_the_rest_imports(calls_data, run_import):
    run = run_import([calls_data / "hostile_values.csv"])

    assert run.status == ImportRun.Status.DONE
    assert run.summary() == "14 read, 9 created, 0 updated, 0 unchanged, 5 rejected"
    assert set(Call.objects.values_list("call_id", flat=True)) == {f"h-{i}" for i in range(1, 9)} | {"h-acw-day"}
    rejects = {r.line: r.reason for r in ImportReject.objects.filter(run=run)}
    assert rejects == {
        6: "NUL byte at byte 45",
        7: "arrived_at year 9999 outside 2000–2099",
        8: "arrived_at year 0001 outside 2000–2099",
        9: "acw_seconds above 86400 (a day): '999999999'",
        10: "ended_at year 9999 outside 2000–2099",
    }
    assert bytes(ImportReject.objects.get(run=run, line=6).raw).startswith(b"h-nul-caller,")
    # Idempotent as ever: the same file again changes nothing and rejects the same lines.
    again = run_import([calls_data / "hostile_values.csv"])
    assert again.summary() == "14 read, 0 created, 0 updated, 9 unchanged, 5 rejected"


def test_a_line_of_megabytes_is_one_reject_with_an_excerpt_and_costs_no_memory(tmp_path, run_import):
    huge = 20 * 1024 * 1024
    path = tmp_path / "one_huge_line.csv"
    with path.open("wb") as fh:
        fh.write((",".join(COLUMNS) + "\n").encode())
        fh.write(f"x-1,{ROW}\n".encode())
        fh.write(b"x-huge," + b"9" * huge + b"\n")
        fh.write(f"x-2,{ROW}\n".encode())

    tracemalloc.start()
    with path.open("rb") as fh:
        items = list(iter_rows(fh))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 1024 * 1024  # the 20 MB line is never held
    (overlong,) = [item for item in items if isinstance(item, Reject)]
    assert overlong.line == 3 and overlong.reason == f"line longer than {MAX_LINE_BYTES} bytes ({huge + 8} bytes)"
    assert len(overlong.raw) == REJECT_EXCERPT_BYTES and overlong.raw.startswith(b"x-huge,999")
    assert [item.fields[0] for item in items if not isinstance(item, Reject)] == ["x-1", "x-2"]
    # Offsets stay exact past the skipped line: the row after it is found where it is.
    last = items[-1]
    assert path.read_bytes()[last.offset : last.offset + 4] == b"x-2,"

    run = run_import([path])
    assert run.summary() == "3 read, 2 created, 0 updated, 0 unchanged, 1 rejected"
    assert len(bytes(ImportReject.objects.get(run=run).raw)) == REJECT_EXCERPT_BYTES


def test_queue_log_padding_of_any_length_is_skipped_and_an_overlong_line_rejected():
    enter = b"1664600000|1664600000.1|egov|NONE|ENTERQUEUE||0312345678|1\n"
    abandon = b"1664600030|1664600000.1|egov|NONE|ABANDON|1|1|30\n"
    data = (
        b"\x00" * (3 * MAX_LINE_BYTES)
        + enter
        + b"1664600010|x|egov|NONE|DID|"
        + b"7" * (2 * MAX_LINE_BYTES)
        + b"\n"
        + abandon
    )
    items = list(read_queue_log(io.BytesIO(data)))
    events = [getattr(item, "event", None) for item in items]
    assert events == ["ENTERQUEUE", None, "ABANDON"]
    bad = items[1]
    assert bad.line == 2 and bad.reason.startswith(f"line longer than {MAX_LINE_BYTES} bytes")
    assert bad.offset == 3 * MAX_LINE_BYTES + len(enter) and len(bad.raw) == REJECT_EXCERPT_BYTES
