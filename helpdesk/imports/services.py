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

``import_upload_path(*, run, upload) -> pathlib.Path`` / ``import_upload_write(*, upload, path)``
    Where an uploaded file (Django ``UploadedFile``) is kept under ``MEDIA_ROOT/imports/``
    (a name derived from the run id) and the streamed write, which ``import_run_enqueue``
    runs as its ``store`` only once the broker answered; the task deletes the file when the
    run finishes, the sweeper if the run dies.

``import_run_enqueue(run, task, *args, store=None, paths=(), **kwargs) -> ImportRun``
    Queue a pending run's Celery task. Checks the broker answers BEFORE anything is
    written (``ServiceUnavailableError``, HTTP 503, and the run row deleted: nothing is
    left behind), then calls ``store()`` (writes the uploads to ``paths``) and publishes
    the task after commit. If publishing still fails the run stays ``pending`` with its
    files and the sweeper queues it again.

``import_runs_sweep(*, now=None) -> SweepResult``
    Runs whose process is gone: ``running`` without a heartbeat for
    ``HELPDESK_IMPORT_STALE_MINUTES`` → failed; ``pending`` older than
    ``HELPDESK_IMPORT_PENDING_MINUTES`` → queued again once if its files are still
    there, else failed. A failed run's uploaded files are removed (personal data).

Do not wrap a whole import in one transaction: commit per record (or per batch) with a
savepoint, so one bad record never loses the others and progress is visible to the
status endpoint (``GET /api/import-runs/{id}/``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
import pathlib
import re
from collections.abc import Callable, Iterable
from typing import Any, Literal

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from config.celery import app
from helpdesk.audit import audit_record
from helpdesk.errors import PayloadTooLargeError, ServiceUnavailableError
from helpdesk.models import AuditEvent, ImportReject, ImportRun

logger = logging.getLogger(__name__)

QUEUE_UNAVAILABLE = "取込キューに接続できません。しばらくしてから再度お試しください。"

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
    run.started_at = run.heartbeat_at = timezone.now()
    fields = ["status", "started_at", "heartbeat_at"]
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
    run.heartbeat_at = run.started_at
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
    run.heartbeat_at = timezone.now()
    ImportRun.objects.filter(pk=run.pk).update(done=done, heartbeat_at=run.heartbeat_at)


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


def import_upload_path(*, run: ImportRun, upload) -> pathlib.Path:
    """Where an upload for `run` is kept until its task has imported it."""
    directory = pathlib.Path(settings.MEDIA_ROOT) / "imports"
    suffix = re.sub(r"[^A-Za-z0-9.]", "", pathlib.Path(upload.name or "").suffix)[:16]
    return directory / f"run-{run.pk}{suffix}"


def import_upload_write(*, upload, path: pathlib.Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        for chunk in upload.chunks():
            out.write(chunk)


def import_files_remove(paths: Iterable[str | pathlib.Path]) -> None:
    """Delete uploaded files (and the per-upload folder left empty), ignoring missing ones."""
    for p in paths:
        path = pathlib.Path(p)
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):  # only removes an empty folder of its own
            if path.parent.name != "imports" and path.parent.parent.name in ("mail",):
                path.parent.rmdir()


# --- queueing ------------------------------------------------------------------------------


def import_broker_check(*, timeout: float | None = None) -> None:
    """Raise ServiceUnavailableError unless the Celery broker answers within `timeout`
    seconds. Eager Celery (demo, tests) has no broker to reach."""
    if app.conf.task_always_eager:
        return
    try:
        with _broker_connection(timeout) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=_timeout(timeout))
    except Exception as exc:
        logger.warning("import queue unavailable: %s", exc)
        raise ServiceUnavailableError(QUEUE_UNAVAILABLE, extra={"retry": True}) from exc


def _timeout(timeout: float | None) -> float:
    return settings.HELPDESK_BROKER_CHECK_SECONDS if timeout is None else timeout


def _broker_connection(timeout: float | None = None):
    """A connection to the broker that gives up after `timeout` seconds: Celery's own
    producer retries a lost broker for minutes, which would hang the request."""
    timeout = _timeout(timeout)
    options = {
        **(app.conf.broker_transport_options or {}),
        "socket_connect_timeout": timeout,
        "socket_timeout": timeout,
        "max_retries": 1,
    }
    return app.connection_for_write(connect_timeout=timeout, transport_options=options)


def _publish(run: ImportRun) -> bool:
    """Send the run's recorded task; False (logged, run left pending) when the broker refuses."""
    spec = run.queued_task
    task = app.tasks[spec["task"]]
    args, kwargs = spec.get("args", []), spec.get("kwargs", {})
    try:
        if app.conf.task_always_eager:
            task.apply_async(args=args, kwargs=kwargs)
        else:
            with _broker_connection() as conn:
                conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=_timeout(None))
                task.apply_async(args=args, kwargs=kwargs, connection=conn, retry=False)
    except Exception:
        if app.conf.task_always_eager:
            raise  # eager: the "publish" ran the import in-process; its failure is the run's
        logger.warning("import run %s: could not queue its task, left pending for the sweeper", run.pk, exc_info=True)
        return False
    return True


def import_uploads_check(uploads: Iterable[Any]) -> None:
    """Every import endpoint's size limit, checked before a run exists or a byte is stored:
    HELPDESK_IMPORT_MAX_UPLOAD_BYTES for the upload (all its files together). Larger files go
    through the management commands, which stream from the server's disk."""
    limit = settings.HELPDESK_IMPORT_MAX_UPLOAD_BYTES
    size = sum(upload.size or 0 for upload in uploads)
    if size > limit:
        raise PayloadTooLargeError(
            f"アップロードが上限 {limit:,} バイトを超えています（{size:,} バイト）。大きなファイルは管理コマンドで取り込んでください。"
            f" (upload over the {limit:,}-byte limit: import it with the management command)",
            extra={"field": "file", "limit_bytes": limit, "size_bytes": size},
        )


def import_run_enqueue(
    run: ImportRun,
    task,
    *args: Any,
    store: Callable[[], None] | None = None,
    paths: Iterable[str | pathlib.Path] = (),
    **kwargs: Any,
) -> ImportRun:
    """Queue `task(*args, **kwargs)` for the pending `run`; see the module docstring."""
    try:
        import_broker_check()
    except ServiceUnavailableError:
        ImportRun.objects.filter(pk=run.pk, status=ImportRun.Status.PENDING).delete()
        raise
    run.upload_paths = [str(p) for p in paths]
    run.queued_task = {"task": task.name, "args": list(args), "kwargs": kwargs}
    run.save(update_fields=["upload_paths", "queued_task"])
    if store is not None:
        try:
            store()
        except BaseException:
            import_files_remove(run.upload_paths)
            ImportRun.objects.filter(pk=run.pk).delete()
            raise
    transaction.on_commit(lambda: _publish(run))
    return run


# --- sweeping runs whose worker is gone ------------------------------------------------------


@dataclasses.dataclass
class SweepResult:
    failed: list[int] = dataclasses.field(default_factory=list)
    requeued: list[int] = dataclasses.field(default_factory=list)
    unqueued: list[int] = dataclasses.field(default_factory=list)  # re-queue refused: still pending

    def summary(self) -> str:
        return f"{len(self.failed)} failed, {len(self.requeued)} queued again, {len(self.unqueued)} left pending"


def _fail(run: ImportRun, error: str) -> None:
    import_run_finish(
        run=run,
        read=run.read,
        created=run.created,
        updated=run.updated,
        unchanged=run.unchanged,
        rejected=run.rejected,
        error=error,
    )
    import_files_remove(run.upload_paths)


def import_runs_sweep(*, now: dt.datetime | None = None) -> SweepResult:
    """Mark runs whose process is gone failed (and remove their uploads), queue stale
    pending runs again once. Safe to run at any time and from several places: each run is
    re-read under a row lock before it changes."""
    now = now or timezone.now()
    stale = now - dt.timedelta(minutes=settings.HELPDESK_IMPORT_STALE_MINUTES)
    old = now - dt.timedelta(minutes=settings.HELPDESK_IMPORT_PENDING_MINUTES)
    result = SweepResult()
    running = ImportRun.objects.filter(status=ImportRun.Status.RUNNING).filter(
        models.Q(heartbeat_at__lt=stale)
        | models.Q(heartbeat_at__isnull=True, started_at__lt=stale)
        | models.Q(heartbeat_at__isnull=True, started_at__isnull=True, created_at__lt=stale)
    )
    for pk in running.values_list("pk", flat=True):
        with transaction.atomic():
            run = ImportRun.objects.select_for_update().filter(pk=pk, status=ImportRun.Status.RUNNING).first()
            if run is None:
                continue
            last = run.heartbeat_at or run.started_at or run.created_at
            if last >= stale:
                continue  # it moved on while we looked
            _fail(run, f"worker stopped: no progress since {timezone.localtime(last):%Y-%m-%d %H:%M} (swept)")
            result.failed.append(run.pk)
    pending = ImportRun.objects.filter(status=ImportRun.Status.PENDING, created_at__lt=old)
    for pk in pending.values_list("pk", flat=True):
        requeue = None
        with transaction.atomic():
            run = ImportRun.objects.select_for_update().filter(pk=pk, status=ImportRun.Status.PENDING).first()
            if run is None:
                continue
            if run.requeued_at is not None and run.requeued_at >= old:
                continue  # queued again recently: give it its time
            files_there = bool(run.upload_paths) and all(pathlib.Path(p).exists() for p in run.upload_paths)
            if run.requeued_at is None and run.queued_task.get("task") and files_there:
                # Claimed under the lock, sent once the claim is committed (below).
                run.requeued_at = now
                run.save(update_fields=["requeued_at"])
                requeue = run
            else:
                reason = "never picked up by a worker" if files_there else "never picked up, upload gone"
                _fail(run, f"{reason} (swept)")
                result.failed.append(run.pk)
        if requeue is not None:
            _requeued(requeue, result)
    return result


def _requeued(run: ImportRun, result: SweepResult) -> None:
    if _publish(run):
        result.requeued.append(run.pk)
    else:  # the broker is down: try again on the next sweep
        ImportRun.objects.filter(pk=run.pk).update(requeued_at=None)
        result.unqueued.append(run.pk)
