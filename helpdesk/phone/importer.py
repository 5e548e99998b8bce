"""Writes on calls: the bulk upsert behind every phone import (generic CSV and Asterisk),
the Asterisk join, and service-hours reclassification. The management command, the API
upload and the Celery task all run `calls_import_run`."""

from __future__ import annotations

import contextlib
import datetime as dt
import fnmatch
import gc
import json
import logging
import os
from collections import defaultdict, namedtuple
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import DataError, IntegrityError, connection, transaction
from django.db.models import Max, Min, Q
from django.utils import timezone
from psycopg.types.datetime import TimestamptzLoader
from psycopg.types.json import Jsonb, JsonbLoader

from helpdesk.audit import audit_record, diff_fields
from helpdesk.calendar import ServiceCalendar, load_service_calendar
from helpdesk.imports.services import (
    ImportCounts,
    import_run_begin,
    import_run_finish,
    import_run_progress,
    import_run_reject,
)
from helpdesk.models import AsteriskCdr, AsteriskQueueEvent, AuditEvent, Call, ImportRun, Inquiry
from helpdesk.phone.parse_asterisk import (
    DEFAULT_EXTENSION_DIGITS,
    DEFAULT_INBOUND_CONTEXTS,
    NON_CALL_IDS,
    Bad,
    CdrRow,
    Coverage,
    Pending,
    build_call,
    detect_kind,
    read_cdr,
    read_queue_log,
)
from helpdesk.phone.parse_generic import (
    ACW_PATTERN,
    FileError,
    Reject,
    Row,
    encode_row,
    field_error,
    iter_rows,
    normalise_encoding,
    row_to_record,
)
from helpdesk.phone.records import IVR_OR_OUT_OF_HOURS, TOKYO, CallRecord, RowError

logger = logging.getLogger(__name__)

BATCH_SIZE = 5000
# Rows per statement on the PostgreSQL fast path of the generic import: fewer, bigger
# statements; a batch of strings costs a few MB, whatever the file's size.
SQL_BATCH_SIZE = 10000
ASSEMBLE_CHUNK = 2000
WRITE_FIELDS = (
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
PII_FIELDS = frozenset({"caller"})
Progress = Callable[[int, int | None], None]


def inbound_contexts() -> tuple[str, ...]:
    return tuple(getattr(settings, "HELPDESK_ASTERISK_INBOUND_CONTEXTS", DEFAULT_INBOUND_CONTEXTS))


def extension_digits() -> int:
    return int(getattr(settings, "HELPDESK_ASTERISK_EXTENSION_DIGITS", DEFAULT_EXTENSION_DIGITS))


# --- the upsert ---------------------------------------------------------------------------


def _resolve(record: CallRecord, calendar: ServiceCalendar) -> tuple[str, bool]:
    """(outcome, in_service_hours): the PBX's verdict first, else the service calendar."""
    verdict = record.pbx_verdict
    if verdict is not None and record.outcome != IVR_OR_OUT_OF_HOURS:
        return record.outcome, verdict
    open_ = calendar.is_open_at(record.arrived_at)
    if record.outcome == IVR_OR_OUT_OF_HOURS:
        return (Call.Outcome.IVR_ABANDONED if open_ else Call.Outcome.OUT_OF_HOURS), open_
    return record.outcome, open_


def _values(record: CallRecord, calendar: ServiceCalendar) -> dict:
    outcome, in_hours = _resolve(record, calendar)
    return {
        "arrived_at": record.arrived_at,
        "caller": record.caller,
        "outcome": outcome,
        "in_service_hours": in_hours,
        "queue": record.queue,
        "queued_at": record.queued_at,
        "answered_at": record.answered_at,
        "ended_at": record.ended_at,
        "agent": record.agent,
        "acw_seconds": record.acw_seconds,
        "source": record.source,
    }


def bulk_insert(model, fields: Sequence[str], rows: Iterable[Sequence]) -> None:
    """Insert many rows: PostgreSQL COPY (an order of magnitude faster than INSERT), else
    bulk_create. Runs inside the caller's transaction; a conflict raises IntegrityError.

    COPY rows are written by psycopg's C row writer; JSON fields' lists and dicts go as jsonb."""
    if connection.vendor == "postgresql":
        quote = connection.ops.quote_name
        table = quote(model._meta.db_table)
        model_fields = [model._meta.get_field(f) for f in fields]
        columns = ", ".join(quote(f.column) for f in model_fields)
        json_at = [i for i, f in enumerate(model_fields) if f.get_internal_type() == "JSONField"]
        with connection.cursor() as cursor, cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            write_row = copy.write_row
            if json_at:
                for row in rows:
                    row = list(row)
                    for i in json_at:
                        row[i] = Jsonb(row[i])
                    write_row(row)
            else:
                for row in rows:
                    write_row(row)
    else:
        model.objects.bulk_create([model(**dict(zip(fields, row, strict=True))) for row in rows], batch_size=1000)


def existing_values(model, key: str, value: str, keys: Sequence[str]) -> dict[str, str]:
    """{key: value} for the stored rows among `keys`: one query (on PostgreSQL with one
    array parameter, not thousands of placeholders)."""
    if not keys:
        return {}
    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(model._meta.db_table)
        k = connection.ops.quote_name(model._meta.get_field(key).column)
        v = connection.ops.quote_name(model._meta.get_field(value).column)
        # One index probe per key (a scalar subquery is never made a hash of the whole table,
        # which the planner chose for `= ANY(…)` while a new database had no statistics).
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT k, v FROM (SELECT x.k, (SELECT t.{v} FROM {table} t WHERE t.{k} = x.k LIMIT 1) AS v "
                "FROM jsonb_array_elements_text(%s::jsonb) AS x(k)) s WHERE v IS NOT NULL",
                [json.dumps(list(keys))],  # (one string: the C json encoder, not a Python array dump)
            )
            return dict(cursor.fetchall())
    return dict(model.objects.filter(**{f"{key}__in": list(keys)}).values_list(key, value))


def calls_upsert(
    *, records: Sequence[CallRecord], calendar: ServiceCalendar, actor=None, note: str = ""
) -> tuple[int, int, int]:
    """Create or correct calls by `call_id` (unique within `records`). Returns (created,
    updated, unchanged). One query finds the stored digests; new calls are inserted in
    bulk, changed ones updated in bulk, each correction audit-logged with old/new values
    (the caller's number only as "changed")."""
    hashes = {r.call_id: r.content_hash() for r in records}
    existing = existing_values(Call, "call_id", "content_hash", list(hashes))
    new = [r for r in records if r.call_id not in existing]
    changed = [r for r in records if r.call_id in existing and existing[r.call_id] != hashes[r.call_id]]
    now = timezone.now()
    with transaction.atomic():
        if new:
            fields = ("call_id", *WRITE_FIELDS, "content_hash", "created_at", "updated_at")
            bulk_insert(
                Call,
                fields,
                ((r.call_id, *_values(r, calendar).values(), hashes[r.call_id], now, now) for r in new),
            )
        if changed:
            stored = Call.objects.select_for_update().in_bulk([r.call_id for r in changed], field_name="call_id")
            for record in changed:
                call = stored[record.call_id]
                data = _values(record, calendar)
                changes = diff_fields(call, data, pii_fields=PII_FIELDS)
                for name, value in data.items():
                    setattr(call, name, value)
                call.content_hash = hashes[record.call_id]
                call.updated_at = now
                audit_record(
                    actor=actor,
                    action=AuditEvent.Action.UPDATE,
                    obj=call,
                    object_id=call.call_id,
                    changes=changes,
                    note=note or "corrected by a PBX re-import",
                )
            Call.objects.bulk_update(list(stored.values()), [*WRITE_FIELDS, "content_hash", "updated_at"])
    return len(new), len(changed), len(records) - len(new) - len(changed)


# --- one import run -----------------------------------------------------------------------


@dataclass
class CallImportStats:
    """What an Asterisk import did to calls, beside the line counts of the run."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    pending: int = 0
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"calls: {self.created} created, {self.updated} updated, {self.unchanged} unchanged, "
            f"{self.pending} waiting for their other half"
        )


GC_THRESHOLD = 100_000


@contextlib.contextmanager
def fewer_collections():
    """The cyclic garbage collector runs every 700 new container objects by default: in an
    import that keeps tens of thousands of rows in flight that costs a sixth of a generic
    run and a tenth of an Asterisk one. The rows hold no cycles; collect less often while a
    file is imported (process-wide, restored after)."""
    thresholds = gc.get_threshold()
    gc.set_threshold(GC_THRESHOLD, *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)


def count_lines(path: str | Path) -> int:
    lines = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            lines += chunk.count(b"\n")
    return lines


def calls_import_run(
    *,
    run: ImportRun,
    paths: Sequence[str | Path],
    names: Sequence[str] | None = None,
    fmt: str = "generic",
    encoding: str = "utf-8",
    cdr_timezone: str = "Asia/Tokyo",
    progress: Progress | None = None,
) -> ImportRun:
    """Import call files into `run` (created pending or running) and finish it. Commits
    per batch, so a crash half way keeps what was committed (the run says `failed`)."""
    names = list(names or [str(p) for p in paths])
    counts = ImportCounts()
    errors: list[str] = []
    total = sum(count_lines(p) for p in paths)
    if run.status == ImportRun.Status.PENDING:
        import_run_begin(run=run, total=total)
    else:
        run.total = total
        ImportRun.objects.filter(pk=run.pk).update(total=total)
    done = 0

    def tick(lines: int) -> None:
        nonlocal done
        done = lines
        import_run_progress(run=run, done=min(done, total))
        if progress:
            progress(min(done, total), total)

    try:
        encoding = normalise_encoding(encoding)
        calendar = load_service_calendar()
        if fmt == "generic":
            for path, name in zip(paths, names, strict=True):
                base = done
                try:
                    _import_generic(run, path, name, encoding, calendar, counts, lambda n, b=base: tick(b + n))
                except FileError as exc:
                    import_run_reject(run=run, source_name=name, reason=str(exc), line=1, offset=0)
                    counts.read += 1
                    counts.rejected += 1
                    errors.append(f"{name}: {exc}")
                done = base + count_lines(path)
        elif fmt == "asterisk":
            with fewer_collections():
                stats = _import_asterisk(run, paths, names, encoding, ZoneInfo(cdr_timezone), calendar, counts, tick)
            run.call_stats = stats  # type: ignore[attr-defined]
            counts.created, counts.updated, counts.unchanged = stats.created, stats.updated, stats.unchanged
        else:
            raise FileError(f"unknown format {fmt!r} (generic or asterisk)")
    except Exception as exc:  # the run records the failure; the caller sees it too
        logger.exception("call import %s failed", run.pk)
        import_run_finish(run=run, **counts.as_kwargs(), error=f"{type(exc).__name__}: {exc}"[:2000])
        raise
    return import_run_finish(run=run, **counts.as_kwargs(), error="; ".join(errors)[:2000])


RejectSink = Callable[[int | None, int | None, bytes, str], None]  # (line, offset, raw, reason)


class GenericRows:
    """Validates and upserts generic rows in file order, BATCH_SIZE at a time: on PostgreSQL
    a batch is checked and upserted set-wise in SQL (`_generic_batch_sql`, the same rules as
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
            counts.created, counts.updated, counts.unchanged, counts.rejected = _generic_batch_sql(
                run, name, rows, calendar
            )
            return counts
        except (DataError, IntegrityError):
            # A value the pattern let through but PostgreSQL refused (2026-02-30), or another
            # import stored one of these calls meanwhile: row by row.
            logger.warning("call import %s: SQL batch failed, validating it row by row", run.pk, exc_info=True)
    _generic_batch_python(run, rows, calendar, counts, reject)
    return counts


def _import_generic(run, path, name, encoding, calendar, counts: ImportCounts, tick) -> None:
    """Stream one generic file through `GenericRows`. On PostgreSQL, outside a caller's
    transaction, batches are written by two connections at once (`calls_parallel`)."""

    def reject(line, offset, raw, reason) -> None:
        import_run_reject(run=run, source_name=name, reason=reason, line=line, offset=offset, raw=raw)

    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        from helpdesk.phone.parallel import import_generic_parallel

        counts += import_generic_parallel(
            run=run, path=path, name=name, encoding=encoding, calendar=calendar, tick=tick
        )
        return
    rows = GenericRows(run, name, calendar, reject=reject, on_flush=tick)
    with open(path, "rb", buffering=1 << 20) as fh:
        for item in iter_rows(fh, encoding=encoding):
            rows.add(item)
        rows.flush()
    counts += rows.counts


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


# --- the PostgreSQL fast path -------------------------------------------------------------
# The same rules as helpdesk.phone.parse_generic.row_to_record, set-wise: the batch is COPYed
# into a temporary table, checked and typed by one INSERT … SELECT, and upserted by two
# statements. Messages must stay identical to the Python ones (tests run on both paths).

_STAGE_SQL = """
CREATE TEMP TABLE IF NOT EXISTS calls_stage (
    line bigint, off bigint, call_id text, arrived_at text, caller text, outcome text, queue text,
    queued_at text, answered_at text, ended_at text, agent text, acw_seconds text
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS calls_pending (
    call_id text, caller text, outcome text, queue text, agent text, arrived timestamptz, queued timestamptz,
    answered timestamptz, ended timestamptz, acw integer, hash text
) ON COMMIT DELETE ROWS;
TRUNCATE calls_stage, calls_pending;
"""


def _q(expr: str, width: int) -> str:
    """Python's repr() of a plain string, in SQL (they differ only for strings with quotes)."""
    return f"quote_literal(left({expr}, {width}))"


def _cast(col: str) -> str:
    # The batch's transaction reads timestamps in Tokyo time (SET LOCAL TimeZone): naive
    # text is Tokyo time, text with an offset (or Z) keeps it.
    return f"NULLIF({col}, '')::timestamptz"


def _batch_sql() -> str:
    """One statement for a staged batch (rows reach it past `field_error`, so every timestamp
    has the accepted shape): type it, apply the cross-field rules, digest it, keep the
    rejects, insert the new calls and set aside the stored ones (corrections or unchanged)
    in calls_pending. Returns (rejected, created, pending)."""
    return f"""
WITH t AS MATERIALIZED (
    SELECT line, off, raw, call_id, caller, outcome, queue, agent, acw_text, arrived, queued, answered, ended, acw,
           {_CROSS_CASE} AS reason, {_HASH_SQL} AS hash,
           -- One index probe per row: a scalar subquery with LIMIT is never turned into a hash
           -- of the whole calls table (which the planner picked for EXISTS while the table had
           -- no statistics, making a new database's first big import 70 %% slower).
           (SELECT true FROM helpdesk_call c WHERE c.call_id = y.call_id LIMIT 1) IS NOT NULL AS stored
    FROM (
        SELECT line, off, call_id, caller, outcome, queue, agent, acw_seconds AS acw_text,
               concat_ws(',', call_id, arrived_at, caller, outcome, queue, queued_at, answered_at, ended_at, agent,
                         acw_seconds) AS raw,
               {_cast("arrived_at")} AS arrived, {_cast("queued_at")} AS queued,
               {_cast("answered_at")} AS answered, {_cast("ended_at")} AS ended,
               CASE WHEN acw_seconds ~ '{ACW_PATTERN}' THEN acw_seconds::integer END AS acw
        FROM calls_stage
        OFFSET 0  -- each cast once, not once per use
    ) y
), rejected AS (
    INSERT INTO helpdesk_importreject (run_id, source_name, line, "offset", reason, raw, created_at)
    SELECT %(run)s, %(name)s, line, off, reason, convert_to(raw, 'UTF8'), now() FROM t WHERE reason IS NOT NULL
    RETURNING 1
), created AS (
    INSERT INTO helpdesk_call (call_id, {_CALL_COLUMNS}, created_at)
    SELECT t.call_id, {_TYPED_VALUES}, now() FROM t WHERE t.reason IS NULL AND NOT t.stored
    ORDER BY t.call_id  -- the unique index takes them in its own order: fewer pages touched
    RETURNING 1
), pending AS (
    INSERT INTO calls_pending (call_id, caller, outcome, queue, agent, arrived, queued, answered, ended, acw, hash)
    SELECT call_id, caller, outcome, queue, agent, arrived, queued, answered, ended, acw, hash
    FROM t WHERE t.reason IS NULL AND t.stored
    RETURNING 1
)
SELECT (SELECT count(*) FROM rejected), (SELECT count(*) FROM created), (SELECT count(*) FROM pending)
"""


_CROSS_CASE = f"""CASE
    WHEN outcome = 'answered' AND answered IS NULL THEN 'answered call without answered_at'
    WHEN outcome = 'answered' AND ended IS NULL THEN 'answered call without ended_at'
    WHEN outcome = 'answered' AND answered < arrived THEN 'answered_at before arrived_at'
    WHEN outcome = 'answered' AND queued IS NOT NULL AND answered < queued THEN 'answered_at before queued_at'
    WHEN outcome = 'answered' AND ended < answered THEN 'ended_at before answered_at'
    WHEN outcome <> 'answered' AND answered IS NOT NULL THEN 'answered_at on a call with outcome ' || outcome
    WHEN outcome <> 'answered' AND agent <> '' THEN 'agent on a call with outcome ' || outcome
    WHEN outcome IN ('ivr_abandoned', 'out_of_hours') AND queued IS NOT NULL
        THEN 'queued_at on a call with outcome ' || outcome
    WHEN ended < arrived THEN 'ended_at before arrived_at'
    WHEN queued < arrived THEN 'queued_at before arrived_at'
    WHEN ended < queued THEN 'ended_at before queued_at'
    WHEN acw_text <> '' AND acw_text !~ '{ACW_PATTERN}'
        THEN 'acw_seconds is not a whole number of seconds: ' || {_q("acw_text", 20)}
    WHEN length(caller) > 64 OR length(queue) > 64 OR length(agent) > 64
        THEN 'caller, queue or agent longer than 64 characters'
    END"""
_HASH_SQL = """md5(concat_ws(chr(31), call_id,
        coalesce((extract(epoch FROM arrived) * 1000000)::bigint::text, ''), caller, outcome, queue,
        coalesce((extract(epoch FROM queued) * 1000000)::bigint::text, ''),
        coalesce((extract(epoch FROM answered) * 1000000)::bigint::text, ''),
        coalesce((extract(epoch FROM ended) * 1000000)::bigint::text, ''),
        agent, coalesce(acw::text, ''), 'generic'))"""

_CALL_COLUMNS = (
    "arrived_at, caller, outcome, in_service_hours, queue, queued_at, answered_at, ended_at, agent, "
    "acw_seconds, source, content_hash, updated_at"
)
# in_service_hours: the PBX's verdict, except for IVR abandons (no verdict), where the
# service calendar decides: open intervals passed as two timestamptz arrays (%(opens)s,
# %(closes)s) covering the batch's IVR abandons.
_TYPED_VALUES = (
    "t.arrived, t.caller, t.outcome, CASE WHEN t.outcome = 'ivr_abandoned' THEN EXISTS (SELECT 1 FROM "
    "unnest(%(opens)s::timestamptz[], %(closes)s::timestamptz[]) AS o(opens, closes) "
    "WHERE t.arrived >= o.opens AND t.arrived < o.closes) ELSE t.outcome <> 'out_of_hours' END, t.queue, "
    "t.queued, t.answered, t.ended, t.agent, t.acw, 'generic', t.hash, now()"
)


def _generic_batch_sql(run, name: str, rows: list[Row], calendar: ServiceCalendar) -> tuple[int, int, int, int]:
    """(created, updated, unchanged, rejected) for one batch, validated and upserted in SQL."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_STAGE_SQL)
        with cursor.copy(
            "COPY calls_stage (line, off, call_id, arrived_at, caller, outcome, queue, queued_at, answered_at, "
            "ended_at, agent, acw_seconds) FROM STDIN"
        ) as copy:
            write_row = copy.write_row
            for row in rows:
                write_row((row.line, row.offset, *row.fields))
        cursor.execute("SELECT set_config('TimeZone', 'Asia/Tokyo', true)")
        # No PBX verdict (IVR abandons): the service calendar decides, as the rows are written.
        cursor.execute(
            f"SELECT min(a), max(a) FROM (SELECT {_cast('arrived_at')} AS a FROM calls_stage "
            "WHERE outcome = 'ivr_abandoned') x"
        )
        hours = service_hours_params(calendar, *cursor.fetchone())
        cursor.execute(_batch_sql(), {"run": run.pk, "name": name[:500], **hours})
        rejected, created, pending = cursor.fetchone()
        cursor.execute("SELECT set_config('TimeZone', %s, true)", [connection.timezone_name])
        updated = correct_calls(cursor, run, "calls_pending t", "true", hours) if pending else 0
    return created, updated, pending - updated, rejected


def service_hours_params(calendar: ServiceCalendar, lo: dt.datetime | None, hi: dt.datetime | None) -> dict:
    """The open intervals between `lo` and `hi` as the two arrays `_TYPED_VALUES` reads."""
    intervals = _open_intervals(calendar, lo, hi) if lo is not None else []
    return {"opens": [a for a, _ in intervals], "closes": [b for _, b in intervals]}


def correct_calls(cursor, run, typed: str, where: str, hours: dict) -> int:
    """Apply the corrections among checked rows (`typed`, aliased t, filtered by `where`):
    the stored calls whose digest differs are locked, each change audit-logged with old and
    new values (the caller's number only as "changed"), then updated in one statement."""
    cursor.execute(
        "SELECT c.id, c.call_id, c.arrived_at, c.caller, c.outcome, c.queue, c.queued_at, c.answered_at, "
        "c.ended_at, c.agent, c.acw_seconds, t.arrived, t.caller, t.outcome, t.queue, t.queued, t.answered, "
        f"t.ended, t.agent, t.acw FROM helpdesk_call c JOIN {typed} ON t.call_id = c.call_id "
        f"WHERE {where} AND c.content_hash <> t.hash FOR UPDATE OF c"
    )
    changed = cursor.fetchall()
    if not changed:
        return 0
    names = ("arrived_at", "caller", "outcome", "queue", "queued_at", "answered_at", "ended_at", "agent")
    for row in changed:
        old, new = row[2:11], row[11:20]
        changes = {}
        for field_name, a, b in zip((*names, "acw_seconds"), old, new, strict=True):
            if a != b:
                changes[field_name] = (
                    {"changed": True} if field_name in PII_FIELDS else {"old": _jsonable(a), "new": _jsonable(b)}
                )
        audit_record(
            actor=run.created_by,
            action=AuditEvent.Action.UPDATE,
            object_type="helpdesk.call",
            object_id=row[1],
            changes=changes,
            note="corrected by a PBX re-import",
        )
    cursor.execute(
        f"UPDATE helpdesk_call c SET ({_CALL_COLUMNS}) = ({_TYPED_VALUES}) FROM {typed} "
        f"WHERE t.call_id = c.call_id AND {where} AND c.content_hash <> t.hash",
        hours,
    )
    return cursor.rowcount


def _jsonable(value):
    return value.isoformat() if hasattr(value, "isoformat") else value


def _constraint(exc: IntegrityError) -> str:
    diag = getattr(getattr(exc, "__cause__", None), "diag", None)
    return getattr(diag, "constraint_name", None) or str(exc).splitlines()[0][:200]


# --- Asterisk -----------------------------------------------------------------------------


@dataclass
class _Window:
    start: dt.datetime | None = None
    end: dt.datetime | None = None

    def add(self, start: dt.datetime, end: dt.datetime | None = None) -> None:
        end = end or start
        self.start = start if self.start is None or start < self.start else self.start
        self.end = end if self.end is None or end > self.end else self.end


def queue_log_coverage() -> Coverage:
    agg = AsteriskQueueEvent.objects.aggregate(start=Min("time"), end=Max("time"))
    return Coverage(agg["start"], agg["end"])


QUEUE_FIELDS = ("line_hash", "time", "callid", "queue", "agent", "event", "data", "source_name", "line")
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
    "line",
)


def _stage(model, key: str, fields: Sequence[str], rows: list[tuple]) -> None:
    """Insert the rows whose hash is not staged yet (pieces overlap; lines repeat)."""
    if not rows:
        return
    known = existing_values(model, key, key, [r[0] for r in rows])
    fresh: dict[str, tuple] = {}
    for row in rows:
        if row[0] not in known:
            fresh.setdefault(row[0], row)
    if not fresh:
        return
    if connection.vendor == "postgresql":
        with transaction.atomic():
            bulk_insert(model, fields, fresh.values())
    else:
        model.objects.bulk_create(
            [model(**dict(zip(fields, r, strict=True))) for r in fresh.values()], batch_size=1000, ignore_conflicts=True
        )


def _import_asterisk(run, paths, names, encoding, cdr_tz, calendar, counts: ImportCounts, tick) -> CallImportStats:
    stats = CallImportStats()
    coverage_before = queue_log_coverage()
    events_window, cdr_window = _Window(), _Window()
    for path, name in zip(paths, names, strict=True):
        with open(path, "rb", buffering=1 << 20) as fh:
            kind = detect_kind(fh.read(4096))
            fh.seek(0)
            reader = (
                read_queue_log(fh, encoding=encoding)
                if kind == "queue_log"
                else read_cdr(fh, encoding=encoding, tz=cdr_tz)
            )
            rows: list[tuple] = []
            for item in reader:
                counts.read += 1
                if isinstance(item, Bad):
                    import_run_reject(
                        run=run, source_name=name, reason=item.reason, line=item.line, offset=item.offset, raw=item.raw
                    )
                    counts.rejected += 1
                    continue
                if isinstance(item, CdrRow):
                    cdr_window.add(item.start, item.end)
                    rows.append(
                        (
                            item.row_hash,
                            item.uniqueid,
                            item.linkedid,
                            item.src,
                            item.dst,
                            item.dcontext,
                            item.channel,
                            item.dstchannel,
                            item.lastapp,
                            item.start,
                            item.answer,
                            item.end,
                            item.duration,
                            item.billsec,
                            item.disposition,
                            item.columns,
                            name[:500],
                            counts.read,
                        )
                    )
                else:
                    if item.callid not in NON_CALL_IDS:
                        events_window.add(item.time)
                    rows.append(
                        (
                            item.line_hash,
                            item.time,
                            item.callid,
                            item.queue,
                            item.agent,
                            item.event,
                            item.data,
                            name[:500],
                            counts.read,
                        )
                    )
                if len(rows) >= BATCH_SIZE:
                    _flush_stage(kind, rows)
                    tick(counts.read)
            _flush_stage(kind, rows)
    coverage = queue_log_coverage()
    _check_cdr_timezone(stats)
    _assemble(run, calendar, coverage, coverage_before, events_window, cdr_window, stats)
    tick(counts.read)
    return stats


def _flush_stage(kind: str, rows: list[tuple]) -> None:
    if kind == "queue_log":
        _stage(AsteriskQueueEvent, "line_hash", QUEUE_FIELDS, rows)
    else:
        _stage(AsteriskCdr, "row_hash", CDR_FIELDS, rows)
    rows.clear()


def _check_cdr_timezone(stats: CallImportStats) -> None:
    """A uniqueid starts with the epoch the channel was created: CDR start times far from it
    mean the CDR time zone option is wrong (cdr.conf usegmtime)."""
    sample = list(AsteriskCdr.objects.order_by("-id").values_list("uniqueid", "start")[:200])
    off = 0
    for uniqueid, start in sample:
        head = uniqueid.rsplit("-", 1)[-1].split(".", 1)[0]
        if head.isdigit() and abs(start.timestamp() - int(head)) > 1800:
            off += 1
    if sample and off > len(sample) // 2:
        stats.warnings.append(
            "CDR start times differ from their uniqueid by more than 30 minutes: "
            "check the CDR time zone option (--cdr-timezone; usegmtime in cdr.conf)"
        )


def _inbound_q(prefix: str = "") -> Q:
    q = Q()
    for pattern in inbound_contexts():
        if pattern.endswith("*") and not any(ch in pattern[:-1] for ch in "*?["):
            q |= Q(**{f"{prefix}dcontext__startswith": pattern[:-1]})
        elif not any(ch in pattern for ch in "*?["):
            q |= Q(**{f"{prefix}dcontext": pattern})
        else:
            q |= Q(**{f"{prefix}dcontext__regex": fnmatch.translate(pattern)})
    return q


def _assemble(run, calendar, coverage, coverage_before, events_window, cdr_window, stats) -> None:
    """Rebuild every call the imported pieces touch, in chunks of call ids read by keyset
    (memory stays flat however many calls a file holds)."""
    slack = dt.timedelta(hours=2)
    event_ids = AsteriskQueueEvent.objects.none()
    cdr_q = Q(pk__in=[])
    if events_window.start is not None:
        event_ids = AsteriskQueueEvent.objects.filter(
            time__gte=events_window.start - slack, time__lte=events_window.end + slack
        ).exclude(callid__in=NON_CALL_IDS)
    if cdr_window.start is not None:
        cdr_q |= Q(start__gte=cdr_window.start - slack, start__lte=cdr_window.end + slack)
    if coverage.start is not None and coverage != coverage_before:
        # Newly covered time: CDR-only inbound calls there can now be decided.
        newly = Q(start__gte=coverage.start, end__lte=coverage.end)
        if coverage_before.start is not None:
            newly &= Q(start__lt=coverage_before.start) | Q(end__gt=coverage_before.end)
        cdr_q |= newly & (_inbound_q() | Q(lastapp="Queue"))
    cdr_ids = AsteriskCdr.objects.filter(cdr_q)
    chunks = _touched_chunks_sql if connection.vendor == "postgresql" else _touched_chunks_orm
    for chunk in chunks(event_ids, cdr_ids):
        _assemble_chunk(run, chunk, calendar, coverage, stats)


def _touched_chunks_orm(event_ids, cdr_ids):
    """Keyset over the union of both id sets, without holding it (SQLite)."""
    last = ""
    while True:
        a = list(
            event_ids.filter(callid__gt=last)
            .order_by("callid")
            .values_list("callid", flat=True)
            .distinct()[:ASSEMBLE_CHUNK]
        )
        b = list(
            cdr_ids.filter(uniqueid__gt=last)
            .order_by("uniqueid")
            .values_list("uniqueid", flat=True)
            .distinct()[:ASSEMBLE_CHUNK]
        )
        bounds = [x[-1] for x in (a, b) if len(x) == ASSEMBLE_CHUNK]
        bound = min(bounds) if bounds else None
        chunk = sorted({x for x in (*a, *b) if bound is None or x <= bound})
        if not chunk:
            return
        yield chunk
        last = chunk[-1]


def _touched_chunks_sql(event_ids, cdr_ids):
    """The union of both id sets, computed once into a temporary table with a primary key,
    then read by keyset: one scan of the staging tables, not one per chunk."""
    parts, params = [], []
    for qs, column in ((event_ids, "callid"), (cdr_ids, "uniqueid")):
        try:
            sql, p = qs.order_by().values_list(column).query.sql_with_params()
        except EmptyResultSet:
            continue
        parts.append(f"({sql})")
        params.extend(p)
    if not parts:
        return
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE IF NOT EXISTS calls_touched (id text PRIMARY KEY)")
        cursor.execute("TRUNCATE calls_touched")
        cursor.execute(
            f"INSERT INTO calls_touched SELECT DISTINCT u.id FROM ({' UNION '.join(parts)}) AS u(id)", params
        )
    last = ""
    while True:
        with connection.cursor() as cursor:
            cursor.execute("SELECT id FROM calls_touched WHERE id > %s ORDER BY id LIMIT %s", [last, ASSEMBLE_CHUNK])
            chunk = [row[0] for row in cursor.fetchall()]
        if not chunk:
            break
        yield chunk
        last = chunk[-1]
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS calls_touched")


def _rows_for_ids(model, key: str, fields: Sequence[str], ids: list[str]) -> list[tuple]:
    """The rows whose `key` is one of `ids` (on PostgreSQL with one array parameter)."""
    if connection.vendor != "postgresql":
        return list(model.objects.filter(**{f"{key}__in": ids}).values_list(*fields))
    quote = connection.ops.quote_name
    columns = ", ".join(quote(model._meta.get_field(f).column) for f in fields)
    column = quote(model._meta.get_field(key).column)
    connection.ensure_connection()
    with connection.connection.cursor() as cursor:
        # psycopg's own loaders (in C) rather than Django's Python ones: a million staged
        # lines are read back here. They give aware datetimes and decoded jsonb alike.
        cursor.adapters.register_loader("timestamptz", TimestamptzLoader)
        cursor.adapters.register_loader("jsonb", JsonbLoader)
        # Per key, an index scan (OFFSET 0 keeps the planner from turning this into a hash of
        # the whole staging table, as it did for `= ANY(…)` in a database without statistics).
        cursor.execute(
            f"SELECT r.* FROM jsonb_array_elements_text(%s::jsonb) AS x(k) CROSS JOIN LATERAL "
            f"(SELECT {columns} FROM {quote(model._meta.db_table)} t WHERE t.{column} = x.k OFFSET 0) AS r",
            [json.dumps(ids)],
        )
        return cursor.fetchall()


_EventRow = namedtuple("_EventRow", "callid time queue agent event data")
_CdrRow = namedtuple("_CdrRow", "uniqueid linkedid src dcontext channel lastapp start end")


def _assemble_chunk(run, ids: list[str], calendar, coverage: Coverage, stats: CallImportStats) -> None:
    events: dict[str, list] = defaultdict(list)
    for row in _rows_for_ids(AsteriskQueueEvent, "callid", _EventRow._fields, ids):
        events[row[0]].append(_EventRow(*row))
    cdrs: dict[str, list] = defaultdict(list)
    for row in _rows_for_ids(AsteriskCdr, "uniqueid", _CdrRow._fields, ids):
        cdrs[row[0]].append(_CdrRow(*row))
    contexts = inbound_contexts()
    digits = extension_digits()
    records = []
    for uid in ids:
        built = build_call(
            uid,
            events.get(uid, []),
            cdrs.get(uid, []),
            coverage=coverage,
            inbound_contexts=contexts,
            extension_digits=digits,
        )
        if isinstance(built, Pending):
            stats.pending += 1
        elif built is not None:
            records.append(built)
    if records:
        c, u, n = calls_upsert(records=records, calendar=calendar, actor=run.created_by)
        stats.created += c
        stats.updated += u
        stats.unchanged += n


# --- service hours ------------------------------------------------------------------------


def _open_intervals(calendar: ServiceCalendar, start: dt.datetime, end: dt.datetime) -> list[tuple]:
    intervals = []
    day = start.astimezone(TOKYO).date()
    last = end.astimezone(TOKYO).date()
    while day <= last:
        hours = calendar.hours_on(day)
        if hours:
            intervals.append((dt.datetime.combine(day, hours[0], TOKYO), dt.datetime.combine(day, hours[1], TOKYO)))
        day += dt.timedelta(days=1)
    return intervals


@transaction.atomic
def calls_reclassify_service_hours(*, start: dt.datetime, end: dt.datetime, actor=None) -> int:
    """Recompute `in_service_hours` (and, for Asterisk IVR-only calls, ivr_abandoned vs
    out_of_hours) for calls in [start, end) that have no PBX verdict, after the calendar
    changed. Done in the database, a month at a time; returns how many calls changed."""
    calendar = load_service_calendar()
    no_verdict = Q(queued_at__isnull=True) & (
        Q(outcome=Call.Outcome.IVR_ABANDONED) | Q(outcome=Call.Outcome.OUT_OF_HOURS, source=Call.Source.ASTERISK)
    )
    changed = 0
    cursor = start
    while cursor < end:
        local = cursor.astimezone(TOKYO)
        month_end = (local.replace(day=1, hour=0, minute=0, second=0, microsecond=0) + dt.timedelta(days=32)).replace(
            day=1
        )
        stop = min(end, month_end)
        base = Call.objects.filter(no_verdict, arrived_at__gte=cursor, arrived_at__lt=stop)
        open_q = Q(pk__in=[])
        for opens, closes in _open_intervals(calendar, cursor, stop):
            open_q |= Q(arrived_at__gte=opens, arrived_at__lt=closes)
        changed += (
            base.filter(open_q)
            .exclude(in_service_hours=True, outcome=Call.Outcome.IVR_ABANDONED)
            .filter(Q(outcome=Call.Outcome.IVR_ABANDONED) | Q(source=Call.Source.ASTERISK))
            .update(in_service_hours=True, outcome=Call.Outcome.IVR_ABANDONED, updated_at=timezone.now())
        )
        closed = base.exclude(open_q)
        changed += (
            closed.filter(source=Call.Source.ASTERISK)
            .exclude(outcome=Call.Outcome.OUT_OF_HOURS)
            .update(in_service_hours=False, outcome=Call.Outcome.OUT_OF_HOURS, updated_at=timezone.now())
        )
        changed += (
            closed.exclude(source=Call.Source.ASTERISK)
            .filter(in_service_hours=True)
            .update(in_service_hours=False, updated_at=timezone.now())
        )
        cursor = stop
    audit_record(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        object_type="helpdesk.call",
        object_id=f"{start.isoformat()}/{end.isoformat()}",
        changes={"in_service_hours": {"reclassified": changed}},
        note="service hours reclassified after a calendar change",
    )
    return changed


def upload_dir() -> Path:
    path = Path(settings.MEDIA_ROOT) / "imports" / "calls"
    path.mkdir(parents=True, exist_ok=True)
    return path


def remove_files(paths: Iterable[str | Path]) -> None:
    for path in paths:
        with contextlib.suppress(OSError):
            os.remove(path)


# --- uploads, linking ---------------------------------------------------------------------


def calls_import_enqueue(
    *, uploads: Sequence, fmt: str, encoding: str = "utf-8", cdr_timezone: str = "Asia/Tokyo", actor=None
) -> ImportRun:
    """Store uploaded files and queue `calls_import_files` once the run row is committed;
    progress and the result are on the run (GET /api/import-runs/{id}/). With the broker
    down: ServiceUnavailableError (503) and nothing stored (`import_run_enqueue`)."""
    from helpdesk.imports.services import import_run_create_pending, import_run_enqueue, import_uploads_check
    from helpdesk.phone.tasks import calls_import_files

    import_uploads_check(uploads)
    normalise_encoding(encoding)
    ZoneInfo(cdr_timezone)
    kind = ImportRun.Kind.CALLS_ASTERISK if fmt == "asterisk" else ImportRun.Kind.CALLS_GENERIC
    names = [upload.name or f"upload-{i}" for i, upload in enumerate(uploads)]
    run = import_run_create_pending(
        kind=kind, source_name=", ".join(names), created_by=actor, total=sum(u.size for u in uploads)
    )
    paths = [str(upload_dir() / f"run-{run.pk}-{i}") for i in range(len(uploads))]

    def store() -> None:
        for upload, path in zip(uploads, paths, strict=True):
            with open(path, "wb") as out:
                for chunk in upload.chunks():
                    out.write(chunk)

    return import_run_enqueue(
        run,
        calls_import_files,
        run.pk,
        paths,
        names,
        store=store,
        paths=paths,
        fmt=fmt,
        encoding=encoding,
        cdr_timezone=cdr_timezone,
    )


@transaction.atomic
def call_log_inquiry(*, call: Call, actor, data: dict) -> Inquiry:
    """The agent logs the phone inquiry for a call (one inquiry per call)."""
    from helpdesk.errors import ConflictError, PermissionDeniedError
    from helpdesk.inquiries.services import inquiry_create
    from helpdesk.roles import is_staff_operator

    if not is_staff_operator(actor):
        raise PermissionDeniedError("問い合わせを記録する権限がありません。")
    locked = Call.objects.select_for_update().get(pk=call.pk)
    existing = Inquiry.objects.filter(call=locked).values_list("ref", flat=True).first()
    if existing:
        raise ConflictError("この通話の問い合わせは記録済みです。", extra={"ref": existing})
    return inquiry_create(
        channel=Inquiry.Channel.PHONE,
        call=locked,
        received_at=locked.arrived_at,
        created_by=actor,
        assigned_to=actor,
        requester_phone=data.pop("requester_phone", None) or locked.caller,
        **data,
    )
