"""The Asterisk import has two paths: Python assembly (`asterisk_join`, SQLite) and SQL
assembly (`asterisk_pg`, PostgreSQL). Every Asterisk fixture goes through both here — whole,
piece by piece in every order, with its lines shuffled, in blocks small enough to split every
file many times — and the calls, digests, rejects (line, offset, reason, bytes), staged lines,
counts and audited corrections must be equal."""

import datetime as dt
import itertools
import random
import sys
from pathlib import Path

import pytest

from helpdesk.models import AsteriskCdr, AsteriskQueueEvent, AuditEvent, Call, ImportReject
from helpdesk.phone import asterisk_pg, importer

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

DAY = ("queue_log-20261001", "queue_log", "Master.csv")
ISSABEL = (
    "queue_log-20220707",
    "queue_log-20220801",
    "queue_log-20220901",
    "queue_log-20221005",
    "queue_log",
    "Master.csv",
)
CALL_FIELDS = (
    "call_id",
    "content_hash",
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
)
EVENT_FIELDS = ("line_hash", "time", "callid", "queue", "agent", "event", "data", "source_name")
CDR_FIELDS = (
    "row_hash",
    "uniqueid",
    "linkedid",
    "src",
    "dst",
    "dcontext",
    "channel",
    "dstchannel",
    "lastapp",
    "start",
    "answer",
    "end",
    "duration",
    "billsec",
    "disposition",
    "columns",
    "source_name",
)


def _audit_changes(changes: dict) -> dict:
    """Old/new values as instants where they are times (the paths print offsets differently)."""

    def value(v):
        try:
            return dt.datetime.fromisoformat(v).timestamp()
        except (TypeError, ValueError):
            return v

    return {k: {kk: value(vv) for kk, vv in v.items()} for k, v in changes.items()}


def _outcome(run_import, batches: list[list[Path]], **options) -> dict:
    audit_from = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    runs = [run_import(paths, fmt="asterisk", **options) for paths in batches]
    return {
        "runs": [(r.status, r.summary(), r.call_stats.summary(), r.call_stats.warnings) for r in runs],
        "calls": sorted(Call.objects.values_list(*CALL_FIELDS)),
        "rejects": sorted(ImportReject.objects.values_list("source_name", "line", "offset", "reason", "raw")),
        "events": sorted(AsteriskQueueEvent.objects.values_list(*EVENT_FIELDS)),
        "cdrs": sorted(AsteriskCdr.objects.values_list(*CDR_FIELDS)),
        "audits": sorted(
            (a.object_id, repr(_audit_changes(a.changes)), a.note)
            for a in AuditEvent.objects.filter(id__gt=audit_from, object_type="helpdesk.call")
        ),
    }


def _reset() -> None:
    for model in (Call, AsteriskQueueEvent, AsteriskCdr, ImportReject):
        model.objects.all().delete()


def _both(run_import, monkeypatch, batches, *, block=None, **options) -> dict:
    if block:
        monkeypatch.setattr(asterisk_pg, "BLOCK_BYTES", block)
    sql_blocks = []
    real_block = asterisk_pg._File._block

    def spy(self, data, lines, offset):
        done = real_block(self, data, lines, offset)
        sql_blocks.append(done)
        return done

    monkeypatch.setattr(asterisk_pg._File, "_block", spy)
    sql = _outcome(run_import, batches, **options)
    _reset()
    monkeypatch.setattr(importer, "asterisk_in_sql", lambda: False)
    python = _outcome(run_import, batches, **options)
    monkeypatch.setattr(importer, "asterisk_in_sql", lambda: True)
    _reset()
    assert any(sql_blocks), "no block was typed in SQL"
    for key in python:
        assert sql[key] == python[key], key
    return sql


def _shuffled(src: Path, dest: Path, seed: int) -> Path:
    lines = src.read_bytes().splitlines(keepends=True)
    if lines and not lines[-1].endswith(b"\n"):
        lines[-1] += b"\n"
    random.Random(seed).shuffle(lines)
    dest.write_bytes(b"".join(lines))
    return dest


def _without_unterminated_quote(src: Path, dest: Path) -> Path:
    """The day's Master.csv minus its unterminated-quote row, so whole blocks of it are plain."""
    dest.write_bytes(b"".join(line for line in src.read_bytes().splitlines(keepends=True) if line.count(b'"') % 2 == 0))
    return dest


def test_the_day_whole_and_in_small_blocks(calls_data, run_import, monkeypatch, tmp_path):
    master = _without_unterminated_quote(calls_data / "Master.csv", tmp_path / "Master.csv")
    pieces = [calls_data / "queue_log-20261001", calls_data / "queue_log", master]
    for block in (None, 300, 64):
        result = _both(run_import, monkeypatch, [pieces], block=block)
        assert len(result["calls"]) == 11
    whole = _both(run_import, monkeypatch, [[calls_data / p for p in DAY]])
    assert len(whole["calls"]) == 11 and len(whole["rejects"]) == 6


@pytest.mark.parametrize("order", list(itertools.permutations(DAY)))
def test_the_day_piece_by_piece_in_every_order(calls_data, run_import, monkeypatch, order):
    result = _both(run_import, monkeypatch, [[calls_data / p] for p in order], block=256)
    assert len(result["calls"]) == 11


def test_shuffled_lines_give_the_same_calls(calls_data, run_import, monkeypatch, tmp_path):
    ordered = _both(run_import, monkeypatch, [[calls_data / p for p in DAY]])
    for seed in (1, 2, 3):
        pieces = [_shuffled(calls_data / p, tmp_path / f"{seed}-{p}", seed) for p in DAY]
        shuffled = _both(run_import, monkeypatch, [pieces], block=512)
        assert shuffled["calls"] == ordered["calls"]


def test_late_lines_correct_a_call_the_same_way(calls_data, run_import, monkeypatch, tmp_path):
    late = tmp_path / "queue_log-late"
    late.write_text(
        "1790814010|1790814000.140|egov|NONE|ENTERQUEUE||0312349999|1\n1790814045|1790814000.140|egov|NONE|ABANDON|1|1|35\n"
    )
    result = _both(run_import, monkeypatch, [[calls_data / p for p in DAY], [late]])
    assert [a[0] for a in result["audits"]] == ["1790814000.140"]


def test_the_real_issabel_files(test_data, run_import, monkeypatch):
    base = test_data / "calls" / "asterisk_issabel"
    result = _both(run_import, monkeypatch, [[base / n for n in ISSABEL]], cdr_timezone="UTC")
    assert len(result["calls"]) == 33
    again = _both(run_import, monkeypatch, [[base / n for n in reversed(ISSABEL)]], block=4096, cdr_timezone="UTC")
    assert again["calls"] == result["calls"]


def test_the_real_issabel_files_shuffled(test_data, run_import, monkeypatch, tmp_path):
    base = test_data / "calls" / "asterisk_issabel"
    pieces = [_shuffled(base / n, tmp_path / n, 7) for n in ISSABEL]
    result = _both(run_import, monkeypatch, [pieces], block=2048, cdr_timezone="UTC")
    assert len(result["calls"]) == 33


def test_the_benchmark_generator_pair(run_import, monkeypatch, tmp_path):
    """Some thousand calls of every kind the benchmark writes, split into many blocks."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "bench"))
    from bench_calls_import import generate_asterisk

    qlog, master = tmp_path / "queue_log", tmp_path / "Master.csv"
    generate_asterisk(qlog, master, 3000)
    result = _both(run_import, monkeypatch, [[qlog, master]], block=16384)
    assert len(result["calls"]) > 800
    pieces = [[master], [qlog]]
    _both(run_import, monkeypatch, pieces, block=8192)


EDGE = ("queue_log", "Master.csv")


@pytest.mark.parametrize("block", [None, 200])
def test_the_edge_cases(calls_data, run_import, monkeypatch, block):
    base = calls_data / "asterisk_edge"
    result = _both(run_import, monkeypatch, [[base / n for n in EDGE]], block=block)
    calls = {c[0]: c for c in result["calls"]}
    assert calls["1790899190.1"][4] == "answered" and calls["1790899190.1"][10] == "op01"  # first answer kept
    assert calls["1790899290.4"][4] == "queue_exit_key"  # the last exit
    assert "1790899229.2" not in calls and "1790900450.15" not in calls  # a later leg, an extension
    assert {r[3] for r in result["rejects"]} >= {"bad number in duration: '--5'", "CDR end before start"}


def test_the_edge_cases_shuffled_and_piece_by_piece(calls_data, run_import, monkeypatch, tmp_path):
    base = calls_data / "asterisk_edge"
    whole = _both(run_import, monkeypatch, [[base / n for n in EDGE]])
    for seed in (4, 5):
        pieces = [_shuffled(base / n, tmp_path / f"{seed}-{n}", seed) for n in EDGE]
        assert _both(run_import, monkeypatch, [pieces], block=300)["calls"] == whole["calls"]
        assert _both(run_import, monkeypatch, [[p] for p in reversed(pieces)])["calls"] == whole["calls"]
