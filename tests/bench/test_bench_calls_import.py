"""bench_calls_import.py measures two bounds of the proposed in-run split of the Asterisk import
(issue 17). They bound it only if they do the same work as the import: the split bound writes
the very calls the SQL path writes (and stages no line), and "typing only" reads, types and
rejects the same lines (and writes nothing else)."""

import sys
from pathlib import Path

import pytest

from helpdesk.imports.services import import_run_start
from helpdesk.models import AsteriskCdr, AsteriskQueueEvent, Call, ImportReject, ImportRun
from helpdesk.phone.importer import calls_import_run

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from bench_calls_import import generate_asterisk, split_bound

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

EDGE = Path(__file__).resolve().parents[1] / "data" / "calls" / "asterisk_edge"
CALL_FIELDS = ("call_id", "content_hash", "arrived_at", "outcome", "in_service_hours", "queued_at", "ended_at", "agent")


def _import(paths: list[Path]) -> ImportRun:
    run = import_run_start(kind=ImportRun.Kind.CALLS_ASTERISK, source_name="test")
    return calls_import_run(run=run, paths=[str(p) for p in paths], fmt="asterisk")


def _outcome(run: ImportRun) -> dict:
    return {
        "counts": (run.read, run.rejected, run.created, run.call_stats.pending),
        "calls": sorted(Call.objects.values_list(*CALL_FIELDS)),
        "rejects": sorted(ImportReject.objects.values_list("line", "reason")),
    }


def _reset() -> None:
    for model in (Call, AsteriskQueueEvent, AsteriskCdr, ImportReject):
        model.objects.all().delete()


@pytest.fixture
def pair(tmp_path) -> list[Path]:
    """The benchmark's own pair (some thousand calls of every kind) and the edge-case pair
    (rejects, later legs, extensions, clock steps) in one run."""
    qlog, master = tmp_path / "queue_log", tmp_path / "Master.csv"
    generate_asterisk(qlog, master, 3000)
    return [qlog, master, EDGE / "queue_log", EDGE / "Master.csv"]


def test_the_split_bound_writes_the_sql_paths_calls_and_stages_nothing(pair, monkeypatch):
    sql = _outcome(_import(pair))
    assert len(sql["calls"]) > 800 and sql["rejects"]
    _reset()
    split_bound(typing_only=False, patch=monkeypatch.setattr)
    split = _outcome(_import(pair))
    assert split == sql
    assert not AsteriskQueueEvent.objects.exists() and not AsteriskCdr.objects.exists()


def test_typing_only_reads_and_rejects_the_same_lines_and_writes_nothing_else(pair, monkeypatch):
    sql = _outcome(_import(pair))
    _reset()
    split_bound(typing_only=True, patch=monkeypatch.setattr)
    typed = _outcome(_import(pair))
    assert typed["counts"][:2] == sql["counts"][:2] and typed["rejects"] == sql["rejects"]
    assert typed["counts"][2:] == (0, 0) and typed["calls"] == []
    assert not AsteriskQueueEvent.objects.exists() and not AsteriskCdr.objects.exists()
