"""The generic CSV batch writer: rows checked field by field (`parse_generic`), then per
batch the cross-field rules and the upsert, set-wise in SQL on PostgreSQL (`generic_pg`),
row by row in Python elsewhere or when the SQL batch fails."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import DataError, IntegrityError, connection

from helpdesk.calendar import ServiceCalendar
from helpdesk.imports.services import (
    ImportCounts,
)
from helpdesk.phone.generic_pg import generic_batch_sql
from helpdesk.phone.parse_generic import (
    Reject,
    Row,
    encode_row,
    field_error,
    row_to_record,
)
from helpdesk.phone.records import CallRecord, RowError
from helpdesk.phone.upsert import calls_upsert

logger = logging.getLogger(__name__)


BATCH_SIZE = 5000


# Rows per statement on the PostgreSQL fast path of the generic import: fewer, bigger
# statements; a batch of strings costs a few MB, whatever the file's size.
SQL_BATCH_SIZE = 10000


RejectSink = Callable[[int | None, int | None, bytes, str], None]  # (line, offset, raw, reason)


class GenericRows:
    """Validates and upserts generic rows in file order, BATCH_SIZE at a time: on PostgreSQL
    a batch is checked and upserted set-wise in SQL (`generic_batch_sql`, the same rules as
    `row_to_record`), elsewhere, or if that fails for a batch, row by row in Python. A call
    seen twice flushes the batch first, so the later row wins. Rejects go to `reject`;
    `on_flush(line)` is told the last line written."""

    def __init__(self, run, name: str, calendar: ServiceCalendar, *, reject: RejectSink, on_flush=None) -> None:
        self.run, self.name, self.calendar = run, name, calendar
        self.reject = reject
        self.on_flush = on_flush
        self.counts = ImportCounts()
        self.batch: dict[str, Row] = {}
        self.use_sql = connection.vendor == "postgresql"
        self.last_line = 0

    def add(self, item: Row | Reject) -> None:
        self.counts.read += 1
        if isinstance(item, Reject):
            self.reject(item.line, item.offset, item.raw, item.reason)
            self.counts.rejected += 1
            return
        self.last_line = item.line
        error = field_error(item.fields)
        if error:
            self.reject(item.line, item.offset, encode_row(item.fields), error)
            self.counts.rejected += 1
            return
        call_id = item.fields[0]
        if call_id in self.batch:  # the same call twice in a file: the later row wins
            self.flush()
        self.batch[call_id] = item
        if len(self.batch) >= (SQL_BATCH_SIZE if self.use_sql else BATCH_SIZE):
            self.flush()

    def flush(self) -> None:
        if not self.batch:
            return
        rows = list(self.batch.values())
        self.batch.clear()
        self.write(rows, self.last_line)

    def write(self, rows: list[Row], last_line: int) -> None:
        """Write one batch (here, at once; `calls_parallel` hands it to a connection of its own)."""
        self.counts += write_generic_batch(self.run, self.name, rows, self.calendar, self.reject)
        if self.on_flush:
            self.on_flush(last_line)


def write_generic_batch(run, name: str, rows: list[Row], calendar: ServiceCalendar, reject: RejectSink) -> ImportCounts:
    """Check and upsert one batch of rows (`field_error` already passed, call ids unique):
    on PostgreSQL set-wise in SQL, elsewhere, or when that fails, row by row in Python.
    Uses only the calling thread's connection."""
    counts = ImportCounts()
    if connection.vendor == "postgresql":
        try:
            counts.created, counts.updated, counts.unchanged, counts.rejected = generic_batch_sql(
                run, name, rows, calendar
            )
            return counts
        except (DataError, IntegrityError):
            # A value the pattern let through but PostgreSQL refused (2026-02-30), or another
            # import stored one of these calls meanwhile: row by row.
            logger.warning("call import %s: SQL batch failed, validating it row by row", run.pk, exc_info=True)
    _generic_batch_python(run, rows, calendar, counts, reject)
    return counts


def _generic_batch_python(run, rows: list[Row], calendar, counts: ImportCounts, reject: RejectSink) -> None:
    records: list[tuple[int, CallRecord]] = []
    for row in rows:
        try:
            records.append((row.line, row_to_record(row.fields)))
        except RowError as exc:
            reject(row.line, row.offset, encode_row(row.fields), str(exc))
            counts.rejected += 1
    try:
        c, u, n = calls_upsert(records=[r for _, r in records], calendar=calendar, actor=run.created_by)
        counts.created += c
        counts.updated += u
        counts.unchanged += n
    except IntegrityError:
        # Someone else imported some of these at the same moment, or a row broke a
        # database rule the parser did not foresee: retry one by one.
        for line, record in records:
            try:
                c, u, n = calls_upsert(records=[record], calendar=calendar, actor=run.created_by)
            except IntegrityError as exc:
                reject(line, None, b"", f"refused by the database: {_constraint(exc)}")
                counts.rejected += 1
                continue
            counts.created += c
            counts.updated += u
            counts.unchanged += n


def _constraint(exc: IntegrityError) -> str:
    diag = getattr(getattr(exc, "__cause__", None), "diag", None)
    return getattr(diag, "constraint_name", None) or str(exc).splitlines()[0][:200]
