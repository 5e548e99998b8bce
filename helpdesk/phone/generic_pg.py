"""The PostgreSQL fast path of the generic call import: the batch is first looked up by its
rows' text digests (`unproven_rows`: rows whose text is stored unchanged are done), the rest
COPYed into a temporary table, checked and typed by one INSERT … SELECT, and upserted by two
statements. The rules are the same as the Python path (`rules.py`); tests run both."""

from __future__ import annotations

from django.db import IntegrityError, connection, transaction

from helpdesk.audit import audit_record, audit_value
from helpdesk.calendar import ServiceCalendar
from helpdesk.models import AuditEvent
from helpdesk.phone.parse_generic import COLUMNS, Row
from helpdesk.phone.reclassify import service_hours_params
from helpdesk.phone.rules import (
    ACW_PATTERN,
    TEXT_SEPARATOR,
    cross_case_sql,
    digest_sql,
    text_digest_sql,
    text_key,
    text_match_sql,
)
from helpdesk.phone.upsert import PII_FIELDS

UNIQUE_CALL_ID = "call_call_id_unique"  # helpdesk.models.Call's constraint

_STAGE_SQL = """
CREATE TEMP TABLE IF NOT EXISTS calls_stage (
    line bigint, off bigint, call_id text, arrived_at text, caller text, outcome text, queue text,
    queued_at text, answered_at text, ended_at text, agent text, acw_seconds text
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS calls_pending (
    call_id text, caller text, outcome text, queue text, agent text, arrived timestamptz, queued timestamptz,
    answered timestamptz, ended timestamptz, acw integer, hash text, text_digest uuid
) ON COMMIT DELETE ROWS;
TRUNCATE calls_stage, calls_pending;
"""


def _cast(col: str) -> str:
    # The batch's transaction reads timestamps in Tokyo time (SET LOCAL TimeZone): naive
    # text is Tokyo time, text with an offset (or Z) keeps it.
    return f"NULLIF({col}, '')::timestamptz"


def _batch_sql(*, look_up: bool = True) -> str:
    """One statement for a staged batch (rows reach it past `field_error`, so every timestamp
    has the accepted shape): type it, apply the cross-field rules, digest it, keep the
    rejects, insert the new calls and set aside the stored ones (corrections or unchanged)
    in calls_pending. Returns (rejected, created, pending). Without `look_up` every row is
    taken for a new call (no index probe per row): a stored one fails the statement on the
    calls table's unique index."""
    stored = _STORED if look_up else "false"
    return f"""
WITH t0 AS MATERIALIZED (
    SELECT line, off, call_id, arrived_at, caller, outcome, queue, queued_at, answered_at, ended_at, agent, acw_text,
           arrived, queued, answered, ended, acw, {_CROSS_CASE} AS reason, {_HASH_SQL} AS hash,
           {stored} AS stored
    FROM (
        SELECT line, off, call_id, arrived_at, caller, outcome, queue, queued_at, answered_at, ended_at, agent,
               acw_seconds AS acw_text,
               {_cast("arrived_at")} AS arrived, {_cast("queued_at")} AS queued,
               {_cast("answered_at")} AS answered, {_cast("ended_at")} AS ended,
               CASE WHEN acw_seconds ~ '{ACW_PATTERN}' THEN acw_seconds::integer END AS acw
        FROM calls_stage
        OFFSET 0  -- each cast once, not once per use
    ) y
), t AS NOT MATERIALIZED (  -- (the text digest computed only for the rows written)
    SELECT *, {_TEXT_DIGEST} AS text_digest FROM t0
), rejected AS (
    INSERT INTO helpdesk_importreject (run_id, source_name, line, "offset", reason, raw, created_at)
    SELECT %(run)s, %(name)s, line, off, reason,
           convert_to(concat_ws(',', {_TEXT_COLUMNS}), 'UTF8'), now()
    FROM t WHERE reason IS NOT NULL
    RETURNING 1
), created AS (
    INSERT INTO helpdesk_call (call_id, {_CALL_COLUMNS}, created_at)
    SELECT t.call_id, {_TYPED_VALUES}, now() FROM t WHERE t.reason IS NULL AND NOT t.stored
    ORDER BY t.call_id  -- the unique index takes them in its own order: fewer pages touched
    RETURNING 1
), pending AS (
    INSERT INTO calls_pending (call_id, caller, outcome, queue, agent, arrived, queued, answered, ended, acw, hash,
                               text_digest)
    SELECT call_id, caller, outcome, queue, agent, arrived, queued, answered, ended, acw, hash, text_digest
    FROM t WHERE t.reason IS NULL AND t.stored
    RETURNING 1
)
SELECT (SELECT count(*) FROM rejected), (SELECT count(*) FROM created), (SELECT count(*) FROM pending)
"""


# Whether a row's call is stored. One index probe per row: a scalar subquery with LIMIT is
# never turned into a hash of the whole calls table (which the planner picked for EXISTS while
# the table had no statistics, making a new database's first big import 70 % slower).
_STORED = "(SELECT true FROM helpdesk_call c WHERE c.call_id = y.call_id LIMIT 1) IS NOT NULL"

# The cross-field rules, the digest and the text key, generated from their one statement in
# rules.py (the text key over the staged text, which is the rows' fields as read).
_CROSS_CASE = cross_case_sql()
_HASH_SQL = digest_sql(century=True)  # (past field_error: every timestamp is 2000–2099)
# The row's fields as staged (t0's text columns), in COLUMNS order.
_TEXT_COLUMNS = ", ".join("acw_text" if column == "acw_seconds" else column for column in COLUMNS)
_TEXT_DIGEST = text_digest_sql(_TEXT_COLUMNS.split(", "), "hash")

_CALL_COLUMNS = (
    "arrived_at, caller, outcome, in_service_hours, queue, queued_at, answered_at, ended_at, agent, "
    "acw_seconds, source, content_hash, text_digest, updated_at"
)


# in_service_hours: the PBX's verdict, except for IVR abandons (no verdict), where the
# service calendar decides: open intervals passed as two timestamptz arrays (%(opens)s,
# %(closes)s) covering the batch's IVR abandons.
_TYPED_VALUES = (
    "t.arrived, t.caller, t.outcome, CASE WHEN t.outcome = 'ivr_abandoned' THEN EXISTS (SELECT 1 FROM "
    "unnest(%(opens)s::timestamptz[], %(closes)s::timestamptz[]) AS o(opens, closes) "
    "WHERE t.arrived >= o.opens AND t.arrived < o.closes) ELSE t.outcome <> 'out_of_hours' END, t.queue, "
    "t.queued, t.answered, t.ended, t.agent, t.acw, 'generic', t.hash, t.text_digest, now()"
)


def generic_batch_sql(
    run, name: str, rows: list[Row], calendar: ServiceCalendar, *, all_new: bool = False, stage: str | None = None
) -> tuple[int, int, int, int]:
    """(created, updated, unchanged, rejected) for one batch, validated and upserted in SQL.
    `all_new`: the batch is expected to hold new calls only (the connection's last batch did),
    so it is first written without looking each call up; if one of them is stored after all,
    that statement is undone (a savepoint) and the batch is written again with the look-up.
    `stage`: `stage_text(rows)`, when the caller has built it already."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_STAGE_SQL)
        with cursor.copy(
            "COPY calls_stage (line, off, call_id, arrived_at, caller, outcome, queue, queued_at, answered_at, "
            "ended_at, agent, acw_seconds) FROM STDIN"
        ) as copy:
            text = stage if stage is not None else stage_text(rows)
            if text is not None:
                copy.write(text)
            else:
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
        params = {"run": run.pk, "name": name[:500], **hours}
        counted = _batch_new(cursor, params) if all_new else None
        if counted is None:
            cursor.execute(_batch_sql(), params)
            counted = cursor.fetchone()
        rejected, created, pending = counted
        cursor.execute("SELECT set_config('TimeZone', %s, true)", [connection.timezone_name])
        updated = correct_calls(cursor, run, "calls_pending t", "true", hours) if pending else 0
        if pending > updated:
            # Unchanged calls whose text digest is missing or another text's (stored before
            # text digests, by the Python path, or from a file that spells the same call
            # differently) get this text's, so the next re-import of this file is cheap. Not
            # a change of the call: no audit, updated_at kept.
            cursor.execute(
                "UPDATE helpdesk_call c SET text_digest = t.text_digest FROM calls_pending t "
                "WHERE t.call_id = c.call_id AND c.content_hash = t.hash AND c.text_digest IS DISTINCT FROM t.text_digest"
            )
    return created, updated, pending - updated, rejected


def stage_text(rows: list[Row]) -> str | None:
    """The batch as COPY's text format (line, offset, the ten fields), built by joining: a
    quarter of what psycopg's row writer costs per row. Exact when no field holds a character
    that format escapes — a backslash, a tab, a line feed or a carriage return — which the
    counts prove for the whole batch at once; None otherwise (the caller writes row by row)."""
    join = "\t".join
    text = "".join([f"{line}\t{offset}\t{join(fields)}\n" for line, offset, fields in rows])
    if (
        "\\" in text
        or "\r" in text
        or text.count("\n") != len(rows)
        or text.count("\t") != (len(COLUMNS) + 1) * len(rows)
    ):
        return None
    return text


def _batch_new(cursor, params: dict) -> tuple[int, int, int] | None:
    """The batch statement without the per-row look-up of stored calls, in a savepoint; None
    (nothing written) when a call of the batch is stored."""
    try:
        with transaction.atomic():
            cursor.execute(_batch_sql(look_up=False), params)
            return cursor.fetchone()
    except IntegrityError as exc:
        if getattr(getattr(exc.__cause__, "diag", None), "constraint_name", None) != UNIQUE_CALL_ID:
            raise
        return None


# (Emptied at the start too: inside a caller's transaction the batch is a savepoint, and a
# commit is what empties it otherwise.)
_PROBE_SQL = """
CREATE TEMP TABLE IF NOT EXISTS calls_probe (ord integer, call_id text, text_key text) ON COMMIT DELETE ROWS;
TRUNCATE calls_probe;
"""


def probe_text(rows: list[Row]) -> str | None:
    """The probe's rows (ordinal, call id, `text_key`) as COPY's text format, built by joining
    as `stage_text` does; None when a field needs escaping or holds U+001F (no text key)."""
    join = TEXT_SEPARATOR.join
    text = "".join([f"{i}\t{fields[0]}\t{join(fields)}\n" for i, (_, _, fields) in enumerate(rows)])
    n = len(rows)
    if (
        "\\" in text
        or "\r" in text
        or text.count("\n") != n
        or text.count("\t") != 2 * n
        or text.count(TEXT_SEPARATOR) != (len(COLUMNS) - 1) * n
    ):
        return None
    return text


def unproven_rows(rows: list[Row]) -> list[Row]:
    """The rows of a batch (call ids unique) not proven unchanged by their text digest, in
    their order: each row's text (`text_key`) bound to the stored call's content_hash against
    its text digest, one index probe per row. A row left out is stored exactly as it says
    (the same text gave the stored content_hash), so the full path would count it unchanged
    and write nothing. A row without a text key is never left out."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_PROBE_SQL)
        with cursor.copy("COPY calls_probe (ord, call_id, text_key) FROM STDIN") as copy:
            text = probe_text(rows)
            if text is not None:
                copy.write(text)
            else:
                write_row = copy.write_row
                for i, row in enumerate(rows):
                    write_row((i, row.fields[0], text_key(row.fields)))
        # A scalar subquery per row: an index probe, never a hash of the whole calls table.
        cursor.execute(
            f"SELECT ord FROM calls_probe p WHERE (SELECT {text_match_sql('p.text_key', 'c')} FROM helpdesk_call c "
            "WHERE c.call_id = p.call_id) IS NOT TRUE ORDER BY ord"
        )
        return [rows[i] for (i,) in cursor.fetchall()]


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
                    {"changed": True} if field_name in PII_FIELDS else {"old": audit_value(a), "new": audit_value(b)}
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
