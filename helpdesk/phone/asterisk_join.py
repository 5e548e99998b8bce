"""The Asterisk import: queue_log lines and CDR rows are staged, then every call the new
pieces touch is rebuilt from all its pieces (`parse_asterisk.build_call`) and upserted."""

from __future__ import annotations

import datetime as dt
import fnmatch
import json
from collections import defaultdict, namedtuple
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connection, transaction
from django.db.models import Max, Min, Q
from psycopg.types.datetime import TimestamptzLoader
from psycopg.types.json import JsonbLoader

from helpdesk.db import bulk_insert, existing_values
from helpdesk.imports.services import (
    ImportCounts,
    import_run_reject,
)
from helpdesk.models import AsteriskCdr, AsteriskQueueEvent
from helpdesk.phone.parse_asterisk import (
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
from helpdesk.phone.upsert import calls_upsert

ASSEMBLE_CHUNK = 2000
BATCH_SIZE = 5000  # staged lines per insert


def inbound_contexts() -> tuple[str, ...]:
    return tuple(settings.HELPDESK_ASTERISK_INBOUND_CONTEXTS)


def extension_digits() -> int:
    return settings.HELPDESK_ASTERISK_EXTENSION_DIGITS


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
                    rows.append((*item.values(), name[:500], counts.read))
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


def touched_querysets(coverage, coverage_before, events_window, cdr_window):
    """(queue events, CDRs) whose call ids an import touched: every piece near the time the
    files cover (2 h of slack), and the inbound CDRs in queue_log time newly covered. Both
    assembly paths rebuild exactly these calls."""
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
    return event_ids, AsteriskCdr.objects.filter(cdr_q)


def _assemble(run, calendar, coverage, coverage_before, events_window, cdr_window, stats) -> None:
    """Rebuild every call the imported pieces touch, in chunks of call ids read by keyset
    (memory stays flat however many calls a file holds)."""
    event_ids, cdr_ids = touched_querysets(coverage, coverage_before, events_window, cdr_window)
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


def fill_touched(event_ids, cdr_ids) -> bool:
    """The union of both id sets into the temporary table `calls_touched` (primary key `id`),
    computed once: one scan of the staging tables. False when both sets are empty."""
    parts, params = [], []
    for qs, column in ((event_ids, "callid"), (cdr_ids, "uniqueid")):
        try:
            sql, p = qs.order_by().values_list(column).query.sql_with_params()
        except EmptyResultSet:
            continue
        parts.append(f"({sql})")
        params.extend(p)
    if not parts:
        return False
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE IF NOT EXISTS calls_touched (id text PRIMARY KEY)")
        cursor.execute("TRUNCATE calls_touched")
        cursor.execute(
            f"INSERT INTO calls_touched SELECT DISTINCT u.id FROM ({' UNION '.join(parts)}) AS u(id)", params
        )
        cursor.execute("ANALYZE calls_touched")
    return True


def _touched_chunks_sql(event_ids, cdr_ids):
    """`calls_touched` read by keyset."""
    if not fill_touched(event_ids, cdr_ids):
        return
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
            f"(SELECT {columns} FROM {quote(model._meta.db_table)} t WHERE t.{column} = x.k ORDER BY t.id OFFSET 0) AS r",
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
