"""The PostgreSQL path of the Asterisk import: lines are COPYed into temporary tables in
blocks, typed and checked by one statement per block, staged with one INSERT per file, and
every touched call is assembled and upserted by set-based statements.

Python reads each file in blocks of BLOCK_BYTES and does only what SQL cannot: the line
bound, the line hash (`parse_asterisk.line_hash`, so a line staged by either path is the same
line) and, for Master.csv, the CSV split (the C reader). A block that is not plain — a NUL,
a carriage return, bytes that are not UTF-8, a line over the bound, a CSV row over two lines
— is read line by line by the Python parser instead. Within a plain block, SQL types the lines
of the ordinary shape; any other line (a shape SQL does not vouch for: a header row, an odd
time, a truncated event…) goes back to the Python parser, which accepts it or rejects it with
its line, offset and reason. So every reject is the Python parser's own.

The assembly (`_ASSEMBLE_SQL`) states build_call's mapping in SQL over the staged pieces of the
touched calls (`asterisk_join.touched_querysets`, shared with the Python path); the patterns
both read are `parse_asterisk`'s. tests/helpdesk/phone/test_asterisk_parity.py runs every
fixture, in shuffled orders, through both paths and compares calls, rejects and counts.
"""

from __future__ import annotations

import csv
import datetime as dt
import itertools
from binascii import hexlify
from collections.abc import Callable
from hashlib import blake2b
from typing import Any

from django.db import connection, transaction
from psycopg.types.json import Jsonb

from helpdesk.audit import audit_record, audit_value
from helpdesk.calendar import ServiceCalendar
from helpdesk.imports.lines import MAX_LINE_BYTES, Overlong, Padding, bounded_lines
from helpdesk.imports.services import ImportCounts, import_run_reject
from helpdesk.models import AuditEvent
from helpdesk.phone.asterisk_join import (
    CallImportStats,
    _check_cdr_timezone,
    _Window,
    extension_digits,
    fill_touched,
    inbound_contexts,
    queue_log_coverage,
    touched_querysets,
)
from helpdesk.phone.parse_asterisk import (
    AGENT_LEG_ENDS,
    CDR_INT_PATTERN,
    FIELD_BLANKS,
    LOCAL_CHANNEL_PREFIX,
    MIN_DATA_FIELDS,
    NON_CALL_IDS,
    QUEUE_EXITS,
    SECONDS_PATTERN,
    Bad,
    CdrRow,
    QueueLogLine,
    cdr_item,
    detect_kind,
    extension_pattern,
    fnmatch_regex,
    queue_log_item,
)
from helpdesk.phone.reclassify import service_hours_params
from helpdesk.phone.records import IVR_OR_OUT_OF_HOURS, QUEUE_OUTCOMES
from helpdesk.phone.rules import digest_sql
from helpdesk.phone.upsert import PII_FIELDS, WRITE_FIELDS

BLOCK_BYTES = 1 << 22
CDR_FIELDS = 21  # the widest layout the adapter reads
# Zones without daylight saving: a naive CDR time is one instant, as in Python and SQL alike.
# Master.csv in another zone is read line by line in Python.
FIXED_ZONES = frozenset({"UTC", "Etc/UTC", "Asia/Tokyo"})

_SETUP_SQL = f"""
CREATE TEMP TABLE IF NOT EXISTS ast_qraw (n bigint GENERATED ALWAYS AS IDENTITY, h text, raw text);
CREATE TEMP TABLE IF NOT EXISTS ast_craw (
    n bigint GENERATED ALWAYS AS IDENTITY, h text, ncols integer, {", ".join(f"f{i} text" for i in range(1, CDR_FIELDS + 1))}
);
CREATE TEMP TABLE IF NOT EXISTS ast_q (
    line_hash text, time timestamptz, callid text, queue text, agent text, event text, data jsonb, line bigint
);
CREATE TEMP TABLE IF NOT EXISTS ast_c (
    row_hash text, uniqueid text, linkedid text, src text, dst text, dcontext text, channel text, dstchannel text,
    lastapp text, start timestamptz, answer timestamptz, "end" timestamptz, duration integer, billsec integer,
    disposition text, columns integer, line bigint
);
CREATE TEMP TABLE IF NOT EXISTS ast_calls (
    call_id text, pending boolean, arrived timestamptz, caller text, outcome text, queue text, queued timestamptz,
    answered timestamptz, ended timestamptz, agent text, acw integer, hash text
);
TRUNCATE ast_qraw, ast_craw, ast_q, ast_c, ast_calls;
"""
_TEARDOWN_SQL = "DROP TABLE IF EXISTS ast_qraw, ast_craw, ast_q, ast_c, ast_calls, calls_touched"


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _in(values) -> str:
    return ", ".join(_lit(v) for v in sorted(values))


# --- typing a plain block ----------------------------------------------------------------

# The blanks bytes.strip() removes (a carriage return never reaches a plain block).
_BLANK = r"'^[ \t\n\v\f]*$'"
_MIN_DATA_CASE = (
    "CASE p[5] " + " ".join(f"WHEN {_lit(e)} THEN {n}" for e, n in sorted(MIN_DATA_FIELDS.items())) + " ELSE 0 END"
)


# A queue_log line SQL types itself: an epoch of 9–11 digits, a call id of printable ASCII
# (nothing to strip), an event name of letters, digits and underscores, the data fields the
# event needs, fields within their lengths. Python's parser accepts every such line as is.
def _bare(col: str, shortest: int, longest: int | None = None) -> str:
    """`col` has nothing Python's str.strip() would remove (it starts and ends with printable
    ASCII) and a length Python's checks accept: no regular expression, a few µs a line less."""
    length = (
        f"char_length({col}) >= {shortest}"
        if longest is None
        else f"char_length({col}) BETWEEN {shortest} AND {longest}"
    )
    return f"({length} AND ({col} = '' OR (ascii({col}) BETWEEN 33 AND 126 AND ascii(right({col}, 1)) BETWEEN 33 AND 126)))"


def _digits(col: str, shortest: int, longest: int) -> str:
    return f"(char_length({col}) BETWEEN {shortest} AND {longest} AND btrim({col}, '0123456789') = '')"


# A queue_log line SQL types itself: an epoch of 9–11 digits, a call id and an event name with
# nothing to strip, the data fields the event needs, fields within their lengths. Python's
# parser accepts every such line as is. (OFFSET 0: the split is made once, not once per use.)
_QUEUE_CLASSIFY_SQL = f"""
WITH x AS MATERIALIZED (
    SELECT n, h, p, raw,
           coalesce(k >= 5 AND {_digits("p[1]", 9, 11)} AND {_bare("p[2]", 0, 128)} AND {_bare("p[5]", 1, 64)}
                    AND char_length(p[3]) <= 128 AND char_length(p[4]) <= 128
                    AND k - 5 - (k = 6 AND p[6] = '')::integer >= {_MIN_DATA_CASE}, false) AS plain
    FROM (SELECT n, h, raw, p, cardinality(p) AS k
          FROM (SELECT n, h, raw, string_to_array(raw, '|') AS p FROM ast_qraw OFFSET 0) s) s
), typed AS (
    INSERT INTO ast_q (line_hash, time, callid, queue, agent, event, data, line)
    SELECT h, to_timestamp(p[1]::bigint), p[2], CASE WHEN p[3] = 'NONE' THEN '' ELSE p[3] END,
           CASE WHEN p[4] = 'NONE' THEN '' ELSE p[4] END, p[5],
           CASE WHEN cardinality(p) = 6 AND p[6] = '' THEN '[]'::jsonb ELSE to_jsonb(p[6:]) END, %(line0)s + n
    FROM x WHERE plain
    RETURNING 1
)
SELECT (SELECT count(*) FROM typed),
       (SELECT coalesce(array_agg(n ORDER BY n), '{{}}') FROM x WHERE NOT plain AND raw !~ {_BLANK})
"""


def _time_ok(col: str) -> str:
    """`col` holds a real CDR time `YYYY-MM-DD HH:MM:SS` of 1900–2099 (the day exists)."""
    y, m, d = (f"substr({col}, {a}, {b})::integer" for a, b in ((1, 4), (6, 2), (9, 2)))
    last_day = f"extract(day FROM make_date({y}, {m}, 1) + interval '1 month' - interval '1 day')"
    return (
        f"(CASE WHEN translate({col}, '0123456789', '0000000000') = '0000-00-00 00:00:00' "
        f"AND left({col}, 2) IN ('19', '20') THEN CASE WHEN {m} BETWEEN 1 AND 12 "
        f"THEN {d} >= 1 AND ({d} <= 28 OR {d} <= {last_day}) AND substr({col}, 12, 2)::integer <= 23 "
        f"AND substr({col}, 15, 2)::integer <= 59 AND substr({col}, 18, 2)::integer <= 59 "
        "ELSE false END ELSE false END)"
    )


def _number_ok(col: str) -> str:
    """parse_asterisk.CDR_INT_PATTERN (an optional minus, 1–9 digits) or empty."""
    assert CDR_INT_PATTERN == "-?[0-9]{1,9}"
    digits = f"(CASE WHEN left({col}, 1) = '-' THEN substr({col}, 2) ELSE {col} END)"
    return f"({col} = '' OR {_digits(digits, 1, 9)})"


def _local(col: str) -> str:
    return f"({col}::timestamp AT TIME ZONE %(tz)s)"


# A Master.csv row SQL types itself: 17, 18 or 21 columns, no header, a uniqueid (and linkedid)
# with nothing to strip, real start/end (and answer) times with end ≥ start, whole numbers.
_CDR_CLASSIFY_SQL = f"""
WITH x AS MATERIALIZED (
    SELECT *, coalesce(
        ncols IN (17, 18, 21) AND lower(f1) NOT LIKE '%%accountcode%%' AND {_bare("f17", 1, 128)}
        AND (ncols <> 21 OR {_bare("f20", 0)}) AND {_time_ok("f10")} AND {_time_ok("f12")}
        AND (f11 = '' OR {_time_ok("f11")}) AND {_number_ok("f13")} AND {_number_ok("f14")}, false) AS shaped
    FROM ast_craw
), y AS MATERIALIZED (
    SELECT *, CASE WHEN shaped THEN {_local("f12")} >= {_local("f10")} ELSE false END AS plain FROM x
), typed AS (
    INSERT INTO ast_c (row_hash, uniqueid, linkedid, src, dst, dcontext, channel, dstchannel, lastapp, start, answer,
                       "end", duration, billsec, disposition, columns, line)
    SELECT h, f17, CASE WHEN ncols = 21 THEN left(f20, 128) ELSE '' END, left(f2, 80), left(f3, 80), left(f4, 80),
           left(f6, 128), left(f7, 128), left(f8, 80), {_local("f10")}, {_local("nullif(f11, '')")}, {_local("f12")},
           coalesce(nullif(f13, '')::integer, 0), coalesce(nullif(f14, '')::integer, 0), left(f15, 32), ncols,
           %(line0)s + n
    FROM y WHERE plain
    RETURNING 1
)
SELECT (SELECT count(*) FROM typed), (SELECT coalesce(array_agg(n ORDER BY n), '{{}}') FROM y WHERE NOT plain)
"""

_QUEUE_STAGE_SQL = """
INSERT INTO helpdesk_asteriskqueueevent (line_hash, time, callid, queue, agent, event, data, source_name, line)
SELECT line_hash, time, callid, queue, agent, event, data, %(name)s, line FROM ast_q ORDER BY line
ON CONFLICT (line_hash) DO NOTHING
"""
_CDR_STAGE_SQL = """
INSERT INTO helpdesk_asteriskcdr (row_hash, uniqueid, linkedid, src, dst, dcontext, channel, dstchannel, lastapp,
    start, answer, "end", duration, billsec, disposition, columns, source_name, line)
SELECT row_hash, uniqueid, linkedid, src, dst, dcontext, channel, dstchannel, lastapp, start, answer, "end",
       duration, billsec, disposition, columns, %(name)s, line FROM ast_c ORDER BY line
ON CONFLICT (row_hash) DO NOTHING
"""


class _File:
    """One file read into ast_q / ast_c: plain blocks typed in SQL, the rest by the parser."""

    def __init__(self, cursor, run, name: str, kind: str, encoding: str, tz, counts: ImportCounts, tick) -> None:
        self.cursor, self.run, self.name, self.kind = cursor, run, name, kind
        self.encoding, self.tz, self.counts, self.tick = encoding, tz, counts, tick
        self.typed: list[tuple] = []  # rows typed by the Python parser, COPYed per block
        self.lineno = 0  # the last line read
        plain_tz = kind == "queue_log" or getattr(tz, "key", None) in FIXED_ZONES
        self.blocks = encoding == "utf-8" and plain_tz

    def read(self, fh) -> None:
        offset = 0
        while True:
            data = fh.read(BLOCK_BYTES)
            if not data:
                break
            if not data.endswith(b"\n"):
                data += fh.readline(MAX_LINE_BYTES + 1)  # finish the last line (bounded)
            lines = self._plain_lines(data) if self.blocks else None
            done = self._block(data, lines, offset) if lines is not None else False
            if done:
                self.lineno += len(lines or ())
                offset += len(data)
            else:
                fh.seek(offset)
                offset = self._line_by_line(fh, offset, offset + len(data))
                fh.seek(offset)
            self._flush_typed()
            self.tick(self.counts.read)

    @staticmethod
    def _plain_lines(data: bytes) -> list[bytes] | None:
        if b"\x00" in data or b"\r" in data:
            return None
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return None
        lines = data.split(b"\n")
        if not lines[-1]:
            lines.pop()
        if max(map(len, lines), default=0) > MAX_LINE_BYTES:
            return None
        return lines

    def _block(self, data: bytes, lines: list[bytes], offset: int) -> bool:
        """Type a plain block; False when it turns out not to be plain (CSV rows over lines)."""
        cursor = self.cursor
        if self.kind == "queue_log":
            escaped = data.replace(b"\\", b"\\\\").replace(b"\t", b"\\t").split(b"\n")[: len(lines)]
            payload = b"".join(
                [
                    hexlify(blake2b(line, digest_size=16).digest()) + b"\t" + e + b"\n"
                    for line, e in zip(lines, escaped, strict=True)
                ]
            )
            cursor.execute("TRUNCATE ast_qraw RESTART IDENTITY")
            with cursor.copy("COPY ast_qraw (h, raw) FROM STDIN") as copy:
                copy.write(payload)
            cursor.execute(_QUEUE_CLASSIFY_SQL, {"line0": self.lineno})
        else:
            text = data.decode("utf-8").replace("\\", "\\\\").replace("\t", "\\t")
            escaped_lines = text.split("\n")[: len(lines)]
            try:
                rows = list(csv.reader(escaped_lines, strict=True))
            except csv.Error:
                return False
            if len(rows) != len(lines):
                return False
            pad = ["\t" * (CDR_FIELDS - max(k, 1)) for k in range(CDR_FIELDS + 1)]
            rows_text = "".join(
                [
                    f"{blake2b(line, digest_size=16).hexdigest()}\t{len(r)}\t"
                    + ("\t".join(r) + pad[len(r)] if len(r) <= CDR_FIELDS else "\t" * (CDR_FIELDS - 1))
                    + "\n"
                    for line, r in zip(lines, rows, strict=True)
                ]
            )
            columns = ", ".join(f"f{i}" for i in range(1, CDR_FIELDS + 1))
            cursor.execute("TRUNCATE ast_craw RESTART IDENTITY")
            with cursor.copy(f"COPY ast_craw (h, ncols, {columns}) FROM STDIN") as copy:
                copy.write(rows_text.encode("utf-8"))
            cursor.execute(_CDR_CLASSIFY_SQL, {"line0": self.lineno, "tz": self.tz.key})
        typed, odd = cursor.fetchone()
        self.counts.read += typed
        if odd:
            starts = list(itertools.accumulate((len(line) + 1 for line in lines), initial=offset))
            ends_with_newline = data.endswith(b"\n")
            for n in odd:
                raw = lines[n - 1] + (b"\n" if n < len(lines) or ends_with_newline else b"")
                self._item(raw, self.lineno + n, starts[n - 1])
        return True

    def _line_by_line(self, fh, offset: int, end: int) -> int:
        """The Python reader over [offset, end) (and the rest of the line or run it ends in)."""
        padding = b"\x00" if self.kind == "queue_log" else None
        for raw in bounded_lines(fh, padding=padding):
            if type(raw) is Padding:
                offset += raw.length
            elif type(raw) is Overlong:
                self.lineno += 1
                self._keep(Bad(self.lineno, offset, raw.excerpt, raw.reason))
                offset += raw.length
            else:
                self.lineno += 1
                self._item(raw, self.lineno, offset)
                offset += len(raw)
            if offset >= end:
                break
        return offset

    def _item(self, raw: bytes, lineno: int, start: int) -> None:
        if self.kind == "queue_log":
            item: Any = queue_log_item(raw, lineno, start, encoding=self.encoding)
        else:
            item = cdr_item(raw, lineno, start, encoding=self.encoding, tz=self.tz)
        if item is not None:
            self._keep(item, lineno)

    def _keep(self, item: QueueLogLine | CdrRow | Bad, lineno: int = 0) -> None:
        self.counts.read += 1
        if isinstance(item, Bad):
            import_run_reject(
                run=self.run,
                source_name=self.name,
                reason=item.reason,
                line=item.line,
                offset=item.offset,
                raw=item.raw,
            )
            self.counts.rejected += 1
        elif isinstance(item, QueueLogLine):
            self.typed.append(
                (item.line_hash, item.time, item.callid, item.queue, item.agent, item.event, Jsonb(item.data), lineno)
            )
        else:
            self.typed.append((*item.values(), lineno))

    def _flush_typed(self) -> None:
        if not self.typed:
            return
        table = (
            "ast_q (line_hash, time, callid, queue, agent, event, data, line)"
            if self.kind == "queue_log"
            else "ast_c (row_hash, uniqueid, linkedid, src, dst, dcontext, channel, dstchannel, lastapp, start, "
            'answer, "end", duration, billsec, disposition, columns, line)'
        )
        with self.cursor.copy(f"COPY {table} FROM STDIN") as copy:
            for row in self.typed:
                copy.write_row(row)
        self.typed.clear()

    def stage(self, events: _Window, cdrs: _Window) -> None:
        """Store the file's typed lines once each (a line staged before is a no-op) and widen
        the windows of time the import touched."""
        cursor = self.cursor
        with transaction.atomic():
            if self.kind == "queue_log":
                cursor.execute(_QUEUE_STAGE_SQL, {"name": self.name[:500]})
                cursor.execute(f"SELECT min(time), max(time) FROM ast_q WHERE callid NOT IN ({_in(NON_CALL_IDS)})")
                window = events
            else:
                cursor.execute(_CDR_STAGE_SQL, {"name": self.name[:500]})
                cursor.execute('SELECT min(start), max("end") FROM ast_c')
                window = cdrs
        lo, hi = cursor.fetchone()
        if lo is not None:
            window.add(lo, hi)
        cursor.execute("TRUNCATE ast_q, ast_c")


# --- assembling the calls ------------------------------------------------------------------


def _seconds(expr: str) -> str:
    """parse_asterisk._seconds: a whole number of seconds, else 0."""
    v = f"btrim({expr}, {_lit(FIELD_BLANKS)})"
    return f"(CASE WHEN {v} ~ {_lit('^' + SECONDS_PATTERN + '$')} THEN {v}::integer ELSE 0 END)"


_TRANSFER_LAYOUT = ("BLINDTRANSFER", "TRANSFER")  # extension, context, holdtime, calltime, …
_EXIT_OUTCOME = "CASE e.event " + " ".join(f"WHEN {_lit(k)} THEN {_lit(v)}" for k, v in QUEUE_EXITS.items()) + " END"

# build_call, set-wise: per touched id, its events ranked within their kind by (time, id) — the
# first ENTERQUEUE and CONNECT, the last agent-leg end and queue exit — and its own CDRs.
_ASSEMBLE_SQL = f"""
INSERT INTO ast_calls (call_id, pending, arrived, caller, outcome, queue, queued, answered, ended, agent)
WITH ev AS (
    SELECT e.callid, e.time, e.queue, e.agent, e.event, e.data, k.kind,
           row_number() OVER (PARTITION BY e.callid, k.kind ORDER BY e.time, e.id) AS rank,
           count(*) OVER (PARTITION BY e.callid, k.kind) AS total
    FROM calls_touched t
    JOIN helpdesk_asteriskqueueevent e ON e.callid = t.id
    CROSS JOIN LATERAL (
        SELECT CASE WHEN e.event = 'ENTERQUEUE' THEN 'enter' WHEN e.event = 'CONNECT' THEN 'connect'
                    WHEN e.event IN ({_in(AGENT_LEG_ENDS)}) THEN 'end' WHEN e.event IN ({_in(QUEUE_EXITS)}) THEN 'exit'
                    ELSE 'other' END AS kind
    ) k
), e AS (
    SELECT callid,
           max(time) FILTER (WHERE kind = 'enter' AND rank = 1) AS queued,
           max(queue) FILTER (WHERE kind = 'enter' AND rank = 1) AS queue,
           max(data ->> 1) FILTER (WHERE kind = 'enter' AND rank = 1) AS enter_caller,
           max(time) FILTER (WHERE kind = 'connect' AND rank = 1) AS connected,
           max(agent) FILTER (WHERE kind = 'connect' AND rank = 1) AS agent,
           max({_seconds("data ->> 0")}) FILTER (WHERE kind = 'connect' AND rank = 1) AS hold,
           max(time) FILTER (WHERE kind = 'end' AND rank = total) AS leg_end,
           max(CASE WHEN event IN ({_in(_TRANSFER_LAYOUT)}) THEN {_seconds("data ->> 3")} - {_seconds("data ->> 2")}
                    ELSE {_seconds("data ->> 1")} - {_seconds("data ->> 0")} END)
               FILTER (WHERE kind = 'end' AND rank = total) AS talk,
           max(time) FILTER (WHERE kind = 'exit' AND rank = total) AS exit_time,
           max({_EXIT_OUTCOME}) FILTER (WHERE kind = 'exit' AND rank = total) AS exit_outcome
    FROM ev e GROUP BY callid
), c AS (
    SELECT c.uniqueid, min(c.start) AS cdr_start, max(c."end") AS cdr_end,
           (array_agg(c.src ORDER BY c.start, c.id) FILTER (WHERE c.src <> ''))[1] AS caller,
           bool_or(c.linkedid <> '' AND c.linkedid <> c.uniqueid) AS later_leg,
           bool_and(starts_with(c.channel, {_lit(LOCAL_CHANNEL_PREFIX)})
                    OR btrim(c.src, {_lit(FIELD_BLANKS)}) ~ %(extension)s) AS internal,
           bool_or(c.dcontext ~ ANY(%(contexts)s::text[])) AS inbound_context
    FROM calls_touched t JOIN helpdesk_asteriskcdr c ON c.uniqueid = t.id
    GROUP BY c.uniqueid
), d AS (
    SELECT t.id, e.callid IS NOT NULL AS has_events, e.queued, e.queue, e.enter_caller, e.connected, e.agent,
           e.leg_end, e.talk, e.exit_time, e.exit_outcome, c.cdr_start, c.cdr_end, c.caller, c.later_leg,
           c.internal, c.inbound_context,
           (%(cov_start)s::timestamptz <= c.cdr_start AND c.cdr_end <= %(cov_end)s::timestamptz) IS TRUE AS covers,
           CASE WHEN e.connected < e.queued THEN e.queued + make_interval(secs => e.hold) ELSE e.connected END
               AS answered
    FROM calls_touched t LEFT JOIN e ON e.callid = t.id LEFT JOIN c ON c.uniqueid = t.id
), s AS (
    SELECT d.*, CASE
        WHEN cdr_start IS NULL THEN CASE WHEN has_events THEN 'pending' END
        WHEN queued IS NULL THEN CASE
            WHEN later_leg OR internal OR NOT inbound_context THEN NULL
            WHEN NOT covers THEN 'pending' ELSE 'ivr' END
        WHEN connected IS NOT NULL THEN CASE WHEN leg_end IS NULL AND NOT covers THEN 'pending' ELSE 'answered' END
        WHEN exit_outcome IS NOT NULL THEN 'exit'
        WHEN NOT covers THEN 'pending'
        ELSE 'silent'
    END AS state
    FROM d
)
SELECT id, state = 'pending',
       CASE WHEN state = 'ivr' THEN cdr_start ELSE least(cdr_start, queued) END,
       left(CASE WHEN state = 'ivr' THEN coalesce(caller, '') ELSE coalesce(caller, enter_caller, '') END, 64),
       CASE state WHEN 'ivr' THEN {_lit(IVR_OR_OUT_OF_HOURS)} WHEN 'answered' THEN 'answered'
                  WHEN 'exit' THEN exit_outcome WHEN 'silent' THEN 'queue_abandoned' END,
       CASE WHEN state = 'ivr' THEN '' ELSE left(queue, 64) END,
       queued,
       CASE WHEN state = 'answered' THEN answered END,
       CASE state
           WHEN 'ivr' THEN cdr_end
           WHEN 'answered' THEN CASE
               WHEN leg_end IS NULL THEN greatest(cdr_end, answered)
               WHEN leg_end < answered THEN answered + make_interval(secs => greatest(talk, 0))
               ELSE leg_end END
           WHEN 'exit' THEN greatest(exit_time, queued)
           WHEN 'silent' THEN greatest(cdr_end, queued)
       END,
       CASE WHEN state = 'answered' THEN left(agent, 64) ELSE '' END
FROM s WHERE state IS NOT NULL
"""

_QUEUE_OUTCOMES = _in(QUEUE_OUTCOMES)
_OPEN = (
    "EXISTS (SELECT 1 FROM unnest(%(opens)s::timestamptz[], %(closes)s::timestamptz[]) AS o(opens, closes) "
    "WHERE t.arrived >= o.opens AND t.arrived < o.closes)"
)
# upsert._resolve: the PBX's verdict first, else the service calendar.
_VERDICT = (
    f"CASE WHEN t.outcome = 'out_of_hours' THEN false WHEN t.queued IS NOT NULL OR t.outcome = 'answered' "
    f"OR t.outcome IN ({_QUEUE_OUTCOMES}) THEN true END"
)
_OUTCOME = (
    f"CASE WHEN t.outcome = {_lit(IVR_OR_OUT_OF_HOURS)} THEN CASE WHEN {_OPEN} THEN 'ivr_abandoned' "
    "ELSE 'out_of_hours' END ELSE t.outcome END"
)
_IN_HOURS = (
    f"CASE WHEN t.outcome <> {_lit(IVR_OR_OUT_OF_HOURS)} AND ({_VERDICT}) IS NOT NULL THEN {_VERDICT} ELSE {_OPEN} END"
)
_NEW_VALUES = (
    f"t.arrived, t.caller, {_OUTCOME}, {_IN_HOURS}, t.queue, t.queued, t.answered, t.ended, t.agent, t.acw, 'asterisk'"
)
assert WRITE_FIELDS == (
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
)  # the order of _NEW_VALUES
_WRITE_COLUMNS = ", ".join(WRITE_FIELDS)


def _upsert(cursor, run, calendar: ServiceCalendar, stats: CallImportStats) -> None:
    """Create or correct the assembled calls, as `upsert.calls_upsert` does: by digest, each
    correction audit-logged with old and new values (the caller's number only as changed)."""
    cursor.execute(f"UPDATE ast_calls SET hash = {digest_sql(source='asterisk')} WHERE NOT pending")
    cursor.execute("SELECT count(*) FILTER (WHERE pending), min(arrived), max(arrived) FROM ast_calls")
    pending, lo, hi = cursor.fetchone()
    stats.pending += pending
    params = service_hours_params(calendar, lo, hi)
    cursor.execute(
        f"INSERT INTO helpdesk_call (call_id, {_WRITE_COLUMNS}, content_hash, created_at, updated_at) "
        f"SELECT t.call_id, {_NEW_VALUES}, t.hash, now(), now() FROM ast_calls t "
        "WHERE NOT t.pending AND (SELECT true FROM helpdesk_call c WHERE c.call_id = t.call_id LIMIT 1) IS NULL "
        "ORDER BY t.call_id",
        params,
    )
    created = cursor.rowcount
    stats.created += created
    cursor.execute(
        f"SELECT c.call_id, {', '.join('c.' + f for f in WRITE_FIELDS)}, {_NEW_VALUES} "
        "FROM helpdesk_call c JOIN ast_calls t ON t.call_id = c.call_id "
        "WHERE NOT t.pending AND c.content_hash <> t.hash ORDER BY c.call_id FOR UPDATE OF c",
        params,
    )
    changed = cursor.fetchall()
    width = len(WRITE_FIELDS)
    for row in changed:
        old, new = row[1 : 1 + width], row[1 + width :]
        changes = {
            name: {"changed": True} if name in PII_FIELDS else {"old": audit_value(a), "new": audit_value(b)}
            for name, a, b in zip(WRITE_FIELDS, old, new, strict=True)
            if a != b
        }
        audit_record(
            actor=run.created_by,
            action=AuditEvent.Action.UPDATE,
            object_type="helpdesk.call",
            object_id=row[0],
            changes=changes,
            note="corrected by a PBX re-import",
        )
    if changed:
        cursor.execute(
            f"UPDATE helpdesk_call c SET ({_WRITE_COLUMNS}, content_hash, updated_at) = ({_NEW_VALUES}, t.hash, now()) "
            "FROM ast_calls t WHERE t.call_id = c.call_id AND NOT t.pending AND c.content_hash <> t.hash",
            params,
        )
    stats.updated += len(changed)
    cursor.execute("SELECT count(*) FROM ast_calls WHERE NOT pending")
    stats.unchanged += cursor.fetchone()[0] - created - len(changed)


def import_asterisk_pg(
    run, paths, names, encoding: str, cdr_tz: dt.tzinfo, calendar: ServiceCalendar, counts: ImportCounts, tick: Callable
) -> CallImportStats:
    """`asterisk_join._import_asterisk` on PostgreSQL: the same staging, calls, rejects and
    counts, computed in SQL."""
    stats = CallImportStats()
    coverage_before = queue_log_coverage()
    events_window, cdr_window = _Window(), _Window()
    connection.ensure_connection()
    with connection.cursor() as django_cursor:
        cursor = django_cursor.cursor  # psycopg's own: COPY
        cursor.execute(_SETUP_SQL)
        try:
            for path, name in zip(paths, names, strict=True):
                with open(path, "rb", buffering=1 << 20) as fh:
                    kind = detect_kind(fh.read(4096))
                    fh.seek(0)
                    file = _File(cursor, run, name, kind, encoding, cdr_tz, counts, tick)
                    file.read(fh)
                file.stage(events_window, cdr_window)
            coverage = queue_log_coverage()
            _check_cdr_timezone(stats)
            event_ids, cdr_ids = touched_querysets(coverage, coverage_before, events_window, cdr_window)
            if fill_touched(event_ids, cdr_ids):
                with transaction.atomic():
                    cursor.execute(
                        _ASSEMBLE_SQL,
                        {
                            "cov_start": coverage.start,
                            "cov_end": coverage.end,
                            "extension": "^" + extension_pattern(extension_digits()) + "$",
                            "contexts": ["^(?:" + fnmatch_regex(p) + ")$" for p in inbound_contexts()],
                        },
                    )
                    _upsert(cursor, run, calendar, stats)
        finally:
            cursor.execute(_TEARDOWN_SQL)
    tick(counts.read)
    return stats
