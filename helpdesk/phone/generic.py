"""The generic CSV batch writer: per batch, on PostgreSQL, the rows whose text is stored
unchanged are set aside first (`generic_pg.unproven_rows`, the text digest of rules.py); the
others are checked field by field (`parse_generic.field_error`), then the cross-field rules
and the upsert run set-wise in SQL on PostgreSQL (`generic_pg`), row by row in Python
elsewhere or when the SQL batch fails."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.db import DataError, IntegrityError, connection

from helpdesk.calendar import ServiceCalendar
from helpdesk.imports.services import (
    ImportCounts,
)
from helpdesk.phone.generic_pg import generic_batch_sql, stage_text, unproven_rows
from helpdesk.phone.parse_generic import (
    CALL_ID_MAX,
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

# After a batch that the text digests did not pay for, this many batches go without them.
PROBE_EVERY = 10


class TextProbe:
    """Whether a batch is first looked up by its rows' text digests: while that pays. A batch
    where fewer than half the rows are found stored unchanged (a new file, new calls) turns
    the look-up off for the next PROBE_EVERY - 1 batches, so a new import pays for it on one
    batch in PROBE_EVERY. One per connection (its batches come in file order); it also keeps
    whether that connection's last batch stored none of its calls (`all_new`)."""

    def __init__(self) -> None:
        self.skip = 0
        # The connection's last SQL batch stored no call of its rows (only new calls, or
        # rejects): the next one is written without looking each call up (`generic_batch_sql`).
        self.all_new = False
        self.mostly_new = False  # the last look-up's finding (`found`)

    def due(self) -> bool:
        if self.skip:
            self.skip -= 1
            return False
        return True

    def found(self, unchanged: int, total: int) -> None:
        self.mostly_new = unchanged * 2 < total
        if self.mostly_new:
            self.skip = PROBE_EVERY - 1

    def expects_new(self) -> bool:
        """The connection's last look-up found mostly new calls (a new file): its next batches
        most likely reach the field checks whole, so checking them ahead (`check_rows`) pays.
        (Not `all_new`: in a re-import the few rows left after the look-up, rejects, set it.)"""
        return self.mostly_new


@dataclass(frozen=True, slots=True)
class CheckedRows:
    """A batch's field checks and, for the rows that pass them, its stage text
    (`generic_pg.stage_text`), computed before the batch reaches its connection
    (`check_rows`): the two-connection import does this on the reader's thread while the
    connection still writes the batch before, so its backend does not sit idle between
    statements waiting on Python. Used only when the batch reaches the checks whole (the
    text-digest look-up set none of its rows aside); otherwise they are made again."""

    rows: list[Row]
    errors: list[str | None]
    stage: str | None  # None: a field needs COPY's escaping (written row by row)


def check_rows(rows: list[Row]) -> CheckedRows:
    errors = [field_error(row.fields) for row in rows]
    passed = [row for row, error in zip(rows, errors, strict=True) if not error] if any(errors) else rows
    return CheckedRows(rows, errors, stage_text(passed) if passed else None)


class GenericRows:
    """Validates and upserts generic rows in file order, BATCH_SIZE at a time
    (`write_generic_batch`). A call seen twice flushes the batch first, so the later row
    wins. Rejects go to `reject`; `on_flush(line)` is told the last line written."""

    def __init__(self, run, name: str, calendar: ServiceCalendar, *, reject: RejectSink, on_flush=None) -> None:
        self.run, self.name, self.calendar = run, name, calendar
        self.reject = reject
        self.on_flush = on_flush
        self.counts = ImportCounts()
        self.batch: dict[str, Row] = {}
        self.use_sql = connection.vendor == "postgresql"
        self.probe = TextProbe() if self.use_sql else None
        self.last_line = 0

    def add(self, item: Row | Reject) -> None:
        self.counts.read += 1
        if isinstance(item, Reject):
            self.reject(item.line, item.offset, item.raw, item.reason)
            self.counts.rejected += 1
            return
        self.last_line = item.line
        call_id = item.fields[0]
        if not 0 < len(call_id) <= CALL_ID_MAX:  # no key to batch it by (the field checks say why)
            self.reject(item.line, item.offset, encode_row(item.fields), field_error(item.fields) or "")
            self.counts.rejected += 1
            return
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
        self.counts += write_generic_batch(self.run, self.name, rows, self.calendar, self.reject, probe=self.probe)
        if self.on_flush:
            self.on_flush(last_line)


def write_generic_batch(
    run,
    name: str,
    rows: list[Row],
    calendar: ServiceCalendar,
    reject: RejectSink,
    *,
    probe: TextProbe | None = None,
    checked: CheckedRows | None = None,
) -> ImportCounts:
    """Check and upsert one batch of rows (call ids unique): on PostgreSQL, when `probe`
    says so, the rows whose text is stored unchanged are counted and set aside first; the
    others are checked field by field, then set-wise in SQL on PostgreSQL, elsewhere, or
    when that fails, row by row in Python. Uses only the calling thread's connection.
    `checked`: the batch's field checks made ahead (`check_rows`), used when no row was set
    aside — the same checks, so the same result."""
    counts = ImportCounts()
    if probe is not None and connection.vendor == "postgresql" and probe.due():
        total = len(rows)
        rows = unproven_rows(rows)
        counts.unchanged = total - len(rows)
        probe.found(counts.unchanged, total)
    if checked is None or len(checked.rows) != len(rows):  # (the look-up keeps the rows' order)
        checked = CheckedRows(rows, [field_error(row.fields) for row in rows], None)
    passed = []
    for row, error in zip(rows, checked.errors, strict=True):
        if error:
            reject(row.line, row.offset, encode_row(row.fields), error)
            counts.rejected += 1
        else:
            passed.append(row)
    rows = passed
    if not rows:
        return counts
    if connection.vendor == "postgresql":
        try:
            all_new = probe is not None and probe.all_new
            created, updated, unchanged, rejected = generic_batch_sql(
                run, name, rows, calendar, all_new=all_new, stage=checked.stage
            )
            if probe is not None:
                probe.all_new = updated + unchanged == 0
            counts.created += created
            counts.updated += updated
            counts.unchanged += unchanged
            counts.rejected += rejected
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
