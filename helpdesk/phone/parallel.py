"""The generic call import on PostgreSQL, written by two connections at once.

The file is read here (`GenericRows`, as everywhere), while each batch is written by one of
WORKERS connections, each in a thread of its own: the look-up of its text digests, the field
checks of the rest, and in the database typing, the cross-field rules, the digest, the index
maintenance of every new call. That part costs several times the reading. A call is always written by
the same connection — the one `hash(call_id)` picks — and each connection writes its
batches in file order, so "the later row wins" holds as in a single-connection import.

Only outside a caller's transaction: other connections could not see what it has written.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from django.db import connection

from helpdesk.calendar import ServiceCalendar
from helpdesk.db import fewer_collections
from helpdesk.imports.services import ImportCounts, import_run_reject
from helpdesk.models import ImportRun
from helpdesk.phone.generic import CheckedRows, GenericRows, TextProbe, check_rows, write_generic_batch
from helpdesk.phone.parse_generic import Reject, Row, iter_rows

WORKERS = 2
# Batches waiting per connection: enough to keep it busy while the file is read, few enough
# that memory does not depend on the file's size.
QUEUED = 2


@dataclass
class _Job:
    first_line: int
    future: Future


class _Share(GenericRows):
    """The calls of one connection: its batches go to its own single-thread executor."""

    def __init__(self, *args, executor: ThreadPoolExecutor, jobs: deque[_Job], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.executor = executor
        self.jobs = jobs

    def write(self, rows: list[Row], last_line: int) -> None:
        unfinished = [job for job in self.jobs if not job.future.done()]
        if len(unfinished) >= QUEUED:
            wait([unfinished[0].future])  # the reader stays at most QUEUED batches ahead
        # The field checks and stage text made here, on the reader's thread, while this
        # connection still writes its batch before: its backend then does not wait on Python
        # between statements. (Not for a re-import: there the text digests set most rows aside.)
        checked = check_rows(rows) if self.probe is not None and self.probe.expects_new() else None
        future = self.executor.submit(_write_batch, self.run, self.name, rows, self.calendar, self.probe, checked)
        self.jobs.append(_Job(rows[0].line, future))
        if self.on_flush:
            self.on_flush(last_line)

    def first_line(self) -> int | None:
        """The first line not yet written by this connection, if any is waiting."""
        if self.jobs:
            return self.jobs[0].first_line
        first = next(iter(self.batch.values()), None)
        return first.line if first else None


def _write_batch(
    run, name: str, rows: list[Row], calendar: ServiceCalendar, probe: TextProbe | None, checked: CheckedRows | None
) -> tuple[ImportCounts, list[tuple]]:
    rejects: list[tuple] = []  # found in Python: recorded by the reader's thread
    counts = write_generic_batch(
        run, name, rows, calendar, lambda *item: rejects.append(item), probe=probe, checked=checked
    )
    return counts, rejects


def _close_connection() -> None:
    connection.close()  # this thread's own: the proxy resolves it in the thread that runs this


def import_generic_parallel(
    *, run: ImportRun, path, name: str, encoding: str, calendar: ServiceCalendar, tick: Callable[[int], None]
) -> ImportCounts:
    """Import one generic call file; returns its counts. FileError when its header is wrong."""

    def reject(line, offset, raw, reason) -> None:
        import_run_reject(run=run, source_name=name, reason=reason, line=line, offset=offset, raw=raw)

    executors = [ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"calls-{i}") for i in range(WORKERS)]
    queues: list[deque[_Job]] = [deque() for _ in range(WORKERS)]
    written = ImportCounts()
    line = reported = 0

    def collect(_line: int = 0, wait: bool = False) -> None:
        nonlocal written, reported
        for jobs in queues:
            while jobs and (wait or jobs[0].future.done()):
                counts, rejects = jobs.popleft().future.result()
                written += counts
                for item in rejects:
                    reject(*item)
        # Every line before the first one still waiting for its connection is written.
        waiting = [first for share in shares if (first := share.first_line()) is not None]
        done = min(waiting) - 1 if waiting else line
        if done > reported:
            reported = done
            tick(done)

    shares = [
        _Share(run, name, calendar, reject=reject, on_flush=collect, executor=executor, jobs=jobs)
        for executor, jobs in zip(executors, queues, strict=True)
    ]

    failed = True
    try:
        with fewer_collections(), open(path, "rb", buffering=1 << 20) as fh:
            for item in iter_rows(fh, encoding=encoding):
                if isinstance(item, Reject):
                    shares[0].add(item)
                    continue
                line = item.line
                shares[hash(item.fields[0]) % WORKERS].add(item)
        for share in shares:
            share.flush()
        collect(wait=True)
        failed = False
    finally:
        for jobs in queues:
            for job in jobs:
                if failed:
                    job.future.cancel()  # (a run that failed keeps only what was committed)
        for executor in executors:
            executor.submit(_close_connection)
            executor.shutdown(wait=True)
    total = written
    for share in shares:
        total += share.counts
    return total
