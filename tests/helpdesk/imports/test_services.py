"""The shared import bookkeeping: runs, buffered rejects, counts, the IMPORT audit event."""

import pytest

from helpdesk.imports import services as imports
from helpdesk.imports.services import (
    ImportCounts,
    import_run_begin,
    import_run_create_pending,
    import_run_finish,
    import_run_pending_rejects,
    import_run_progress,
    import_run_reject,
    import_run_start,
)
from helpdesk.models import AuditEvent, ImportReject, ImportRun

pytestmark = pytest.mark.django_db


def test_start_creates_running_run(admin_user):
    run = import_run_start(kind=ImportRun.Kind.RECORDS, source_name="x.jsonl", created_by=admin_user, total=10)
    run.refresh_from_db()
    assert run.status == ImportRun.Status.RUNNING
    assert run.started_at is not None
    assert run.total == 10
    assert run.created_by == admin_user


def test_pending_then_begin():
    run = import_run_create_pending(kind=ImportRun.Kind.MAIL, source_name="box.mbox")
    assert ImportRun.objects.get(pk=run.pk).status == ImportRun.Status.PENDING
    import_run_begin(run=run, total=99)
    run.refresh_from_db()
    assert (run.status, run.total) == (ImportRun.Status.RUNNING, 99)
    assert run.started_at is not None


def test_rejects_are_buffered_and_flushed_on_progress_and_finish():
    run = import_run_start(kind=ImportRun.Kind.CALLS_GENERIC, source_name="a.csv")
    import_run_reject(run=run, source_name="a.csv", reason="bad time", line=3, raw="行3,データ")
    assert import_run_pending_rejects(run=run) == 1
    assert ImportReject.objects.count() == 0
    import_run_progress(run=run, done=5)
    assert ImportReject.objects.count() == 1
    assert ImportRun.objects.get(pk=run.pk).done == 5
    import_run_reject(run=run, source_name="a.csv", reason="unknown outcome", line=7, offset=120, raw=b"\xff")
    import_run_finish(run=run, read=8, created=6, updated=0, unchanged=0, rejected=2)
    rejects = list(ImportReject.objects.filter(run=run).order_by("line"))
    assert [(r.line, r.offset, r.reason) for r in rejects] == [(3, None, "bad time"), (7, 120, "unknown outcome")]
    assert bytes(rejects[0].raw) == "行3,データ".encode()
    assert bytes(rejects[1].raw) == b"\xff"


def test_reject_buffer_flushes_in_batches(monkeypatch):
    monkeypatch.setattr(imports, "REJECT_BATCH", 3)
    run = import_run_start(kind=ImportRun.Kind.MAIL, source_name="m")
    for i in range(7):
        import_run_reject(run=run, source_name="m", reason="r", line=i + 1)
    assert ImportReject.objects.filter(run=run).count() == 6
    assert import_run_pending_rejects(run=run) == 1


def test_finish_stores_counts_summary_and_audits(admin_user):
    run = import_run_start(kind=ImportRun.Kind.RECORDS, source_name="h.jsonl", created_by=admin_user, total=4)
    counts = ImportCounts()
    for outcome in ("created", "created", "unchanged", "rejected"):
        counts.read += 1
        counts.add(outcome)
    import_run_finish(run=run, **counts.as_kwargs())
    run.refresh_from_db()
    assert run.status == ImportRun.Status.DONE
    assert run.summary() == "4 read, 2 created, 0 updated, 1 unchanged, 1 rejected"
    assert counts.summary() == run.summary()
    assert run.done == 4
    event = AuditEvent.objects.get(action=AuditEvent.Action.IMPORT)
    assert event.actor == admin_user
    assert event.object_id == str(run.pk)
    assert event.changes["created"] == 2
    assert event.changes["rejected"] == 1


def test_finish_with_error_marks_failed_and_system_actor():
    run = import_run_start(kind=ImportRun.Kind.MAIL, source_name="m", total=10)
    import_run_finish(run=run, read=1, created=1, updated=0, unchanged=0, rejected=0, error="IMAP gone")
    run.refresh_from_db()
    assert run.status == ImportRun.Status.FAILED
    assert run.error == "IMAP gone"
    assert run.done == 0
    assert AuditEvent.objects.get(action=AuditEvent.Action.IMPORT).actor_label == "system"


def test_counts_add_and_sum():
    a = ImportCounts(read=2, created=1, rejected=1)
    b = ImportCounts(read=1, updated=1)
    assert (a + b).as_kwargs() == {"read": 3, "created": 1, "updated": 1, "unchanged": 0, "rejected": 1}
    with pytest.raises(ValueError):
        a.add("deleted")  # type: ignore[arg-type]
