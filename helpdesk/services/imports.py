"""Shared plumbing for every import (phone CSV, Asterisk, mail, contractor handover).

Each import kind writes its records with its own service; this module only keeps the
bookkeeping every import shares: the `ImportRun` row (status, progress, counts), the
`ImportReject` rows that make an import lossless, and the IMPORT audit event.

Contract (keep it stable — phone, mail and handover imports all call it):

``import_run_start(*, kind, source_name, created_by=None, total=None) -> ImportRun``
    Creates the run in status ``running`` with ``started_at`` set. ``kind`` is an
    ``ImportRun.Kind`` value; ``total`` is what progress counts towards (rows or bytes),
    if known. To queue a run for a Celery task first, create it with
    ``import_run_create_pending`` and call ``import_run_begin`` in the task.

``import_run_reject(*, run, source_name, reason, line=None, offset=None, raw=b"") -> None``
    Records one thing that could not be read: file name, 1-based line number and/or
    byte offset, a reason (no personal information in the reason — it is shown in
    reports), and the raw bytes (a ``str`` is stored UTF-8 encoded). Rejects are
    buffered on the ``run`` instance and written with ``bulk_create`` every
    ``REJECT_BATCH`` rows, on ``import_run_progress`` and on ``import_run_finish``;
    always pass the same ``run`` instance and always finish the run. Call it OUTSIDE the
    savepoint of the record that failed (or after that savepoint rolled back): a
    rolled-back transaction must not take the reject with it.

``import_run_progress(*, run, done) -> None``
    Stores how far the run is (same unit as ``total``) and flushes buffered rejects.
    One UPDATE; call it every few hundred records, not for each one.

``import_run_finish(*, run, read, created, updated, unchanged, rejected, error="") -> ImportRun``
    Flushes rejects, stores the counts and ``finished_at``; the status becomes ``done``,
    or ``failed`` when ``error`` is not empty (an import that stopped half way: the
    counts then say what was committed before it stopped). Writes one AuditEvent
    IMPORT (actor = ``run.created_by`` or "system", object = the run, changes = the
    counts). ``run.summary()`` is the report line
    ``N read, N created, N updated, N unchanged, N rejected``. With an
    ``ImportCounts`` ``c``: ``import_run_finish(run=run, **c.as_kwargs())``.

``ImportCounts``
    Mutable tally: ``c.read += 1``; ``c.add(outcome)`` with ``outcome`` one of
    ``"created"``, ``"updated"``, ``"unchanged"``, ``"rejected"``; ``c + other`` sums.

``import_upload_store(*, run, upload) -> pathlib.Path``
    Streams an uploaded file (Django ``UploadedFile``) to ``MEDIA_ROOT/imports/`` under a
    name derived from the run id, for the Celery task that imports it; the task deletes
    it when the run finishes.

Do not wrap a whole import in one transaction: commit per record (or per batch) with a
savepoint, so one bad record never loses the others and progress is visible to the
status endpoint (``GET /api/import-runs/{id}/``).
"""

from __future__ import annotations

import dataclasses
import pathlib
import re
from typing import Literal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from helpdesk.models import AuditEvent, ImportReject, ImportRun
from helpdesk.services.audit import audit_record

REJECT_BATCH = 500
_BUFFER_ATTR = "_pending_rejects"

Outcome = Literal["created", "updated", "unchanged", "rejected"]


@dataclasses.dataclass
class ImportCounts:
    read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0

    def add(self, outcome: Outcome, n: int = 1) -> None:
        if outcome not in ("created", "updated", "unchanged", "rejected"):
            raise ValueError(f"unknown import outcome {outcome!r}")
        setattr(self, outcome, getattr(self, outcome) + n)

    def __add__(self, other: ImportCounts) -> ImportCounts:
        return ImportCounts(**{f: getattr(self, f) + getattr(other, f) for f in self.as_kwargs()})

    def __iadd__(self, other: ImportCounts) -> ImportCounts:  # in place: a caller's tally grows
        for f in self.as_kwargs():
            setattr(self, f, getattr(self, f) + getattr(other, f))
        return self

    def as_kwargs(self) -> dict[str, int]:
        return dataclasses.asdict(self)

    def summary(self) -> str:
        return (
            f"{self.read} read, {self.created} created, {self.updated} updated, "
            f"{self.unchanged} unchanged, {self.rejected} rejected"
        )


def import_run_create_pending(*, kind: str, source_name: str, created_by=None, total: int | None = None) -> ImportRun:
    """A run queued for a Celery task (status ``pending``); the task calls ``import_run_begin``."""
    run = ImportRun(kind=kind, source_name=source_name[:500], created_by=created_by, total=total)
    run.full_clean()
    run.save()
    return run


def import_run_begin(*, run: ImportRun, total: int | None = None) -> ImportRun:
    """Move a pending run to ``running`` (the task picked it up)."""
    run.status = ImportRun.Status.RUNNING
    run.started_at = timezone.now()
    fields = ["status", "started_at"]
    if total is not None:
        run.total = total
        fields.append("total")
    run.save(update_fields=fields)
    return run


def import_run_start(*, kind: str, source_name: str, created_by=None, total: int | None = None) -> ImportRun:
    run = ImportRun(
        kind=kind,
        source_name=source_name[:500],
        created_by=created_by,
        total=total,
        status=ImportRun.Status.RUNNING,
        started_at=timezone.now(),
    )
    run.full_clean()
    run.save()
    return run


def import_run_reject(
    *,
    run: ImportRun,
    source_name: str,
    reason: str,
    line: int | None = None,
    offset: int | None = None,
    raw: bytes | str = b"",
) -> None:
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogateescape")
    buffer: list[ImportReject] = run.__dict__.setdefault(_BUFFER_ATTR, [])
    buffer.append(
        ImportReject(
            run=run,
            source_name=(source_name or "")[:500],
            line=line,
            offset=offset,
            reason=reason or "rejected",
            raw=bytes(raw),
        )
    )
    if len(buffer) >= REJECT_BATCH:
        _flush_rejects(run)


def import_run_pending_rejects(*, run: ImportRun) -> int:
    """How many rejects are buffered and not yet written (for tests and diagnostics)."""
    return len(run.__dict__.get(_BUFFER_ATTR, []))


def _flush_rejects(run: ImportRun) -> None:
    buffer: list[ImportReject] = run.__dict__.get(_BUFFER_ATTR, [])
    if not buffer:
        return
    ImportReject.objects.bulk_create(buffer, batch_size=REJECT_BATCH)
    buffer.clear()


def import_run_progress(*, run: ImportRun, done: int) -> None:
    _flush_rejects(run)
    run.done = done
    ImportRun.objects.filter(pk=run.pk).update(done=done)


def import_run_finish(
    *,
    run: ImportRun,
    read: int,
    created: int,
    updated: int,
    unchanged: int,
    rejected: int,
    error: str = "",
) -> ImportRun:
    with transaction.atomic():
        _flush_rejects(run)
        run.read = read
        run.created = created
        run.updated = updated
        run.unchanged = unchanged
        run.rejected = rejected
        run.error = error
        run.status = ImportRun.Status.FAILED if error else ImportRun.Status.DONE
        run.finished_at = timezone.now()
        if run.started_at is None:
            run.started_at = run.finished_at
        if not error and run.total is not None:
            run.done = run.total
        run.save(
            update_fields=[
                "read",
                "created",
                "updated",
                "unchanged",
                "rejected",
                "error",
                "status",
                "finished_at",
                "started_at",
                "done",
            ]
        )
        audit_record(
            actor=run.created_by,
            action=AuditEvent.Action.IMPORT,
            obj=run,
            changes={
                "kind": run.kind,
                "status": run.status,
                "read": read,
                "created": created,
                "updated": updated,
                "unchanged": unchanged,
                "rejected": rejected,
            },
            note=f"{run.kind} {run.source_name}"[:255],
        )
    return run


def import_upload_store(*, run: ImportRun, upload) -> pathlib.Path:
    directory = pathlib.Path(settings.MEDIA_ROOT) / "imports"
    directory.mkdir(parents=True, exist_ok=True)
    suffix = re.sub(r"[^A-Za-z0-9.]", "", pathlib.Path(upload.name or "").suffix)[:16]
    path = directory / f"run-{run.pk}{suffix}"
    with path.open("wb") as out:
        for chunk in upload.chunks():
            out.write(chunk)
    return path
