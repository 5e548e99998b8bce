"""The cross-field rules of a call row and the row digest, each stated once (pure, no ORM).

A generic call row that passed its field checks (`parse_generic.field_error`) is typed and
then checked by CROSS_RULES, in order; the first rule it breaks is its reject reason. Each
rule is a message, a Python predicate over the typed row, and the same predicate in SQL over
the columns of the PostgreSQL fast path (`generic_pg`), which builds its CASE from this
tuple — so a rule edited here changes both paths, and tests/helpdesk/phone/test_rules_parity.py
pushes every rule through both and compares reasons, counts and digests.

The digest (`row_digest`, `digest_sql`) is what the PBX said, before any calendar decision:
a re-import of the same data is "unchanged" even after the calendar changed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

ACW_PATTERN = r"^[0-9]{1,9}$"
TEXT_MAX = 64  # caller, queue, agent (the Call columns' length)


@dataclass(frozen=True, slots=True)
class Typed:
    """A row after typing: timestamps parsed (or None), the other fields as read."""

    outcome: str
    arrived: dt.datetime
    queued: dt.datetime | None
    answered: dt.datetime | None
    ended: dt.datetime | None
    caller: str
    queue: str
    agent: str
    acw_text: str


@dataclass(frozen=True, slots=True)
class CallRule:
    """`message` may name `{outcome}` or `{acw}` (the row's acw_seconds text, repr'd and cut
    to 20 characters). `broken` says the row breaks the rule; `sql` says the same over the
    fast path's columns (outcome, arrived, queued, answered, ended, caller, queue, agent,
    acw_text), where a comparison with NULL is never true — the Python predicates spell
    their None checks out for the same reason."""

    message: str
    broken: Callable[[Typed], bool]
    sql: str

    def says(self, row: Typed) -> str:
        return self.message.format(outcome=row.outcome, acw=repr(row.acw_text[:20]))

    def says_sql(self) -> str:
        """The message as an SQL expression (Python's repr() of a plain string is
        quote_literal()'s output; they differ only for strings holding quotes)."""
        parts = []
        rest = self.message
        while "{" in rest:
            head, _, tail = rest.partition("{")
            name, _, rest = tail.partition("}")
            parts.append(_literal(head))
            parts.append({"outcome": "outcome", "acw": "quote_literal(left(acw_text, 20))"}[name])
        parts.append(_literal(rest))
        return " || ".join(p for p in parts if p != "''")


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _before(a: dt.datetime | None, b: dt.datetime | None) -> bool:
    return a is not None and b is not None and a < b


def _acw_not_whole(text: str) -> bool:
    return text != "" and not (text.isascii() and text.isdigit() and len(text) <= 9)


ANSWERED = "outcome = 'answered'"
CROSS_RULES: tuple[CallRule, ...] = (
    CallRule(
        "answered call without answered_at",
        lambda r: r.outcome == "answered" and r.answered is None,
        f"{ANSWERED} AND answered IS NULL",
    ),
    CallRule(
        "answered call without ended_at",
        lambda r: r.outcome == "answered" and r.ended is None,
        f"{ANSWERED} AND ended IS NULL",
    ),
    CallRule(
        "answered_at before arrived_at",
        lambda r: r.outcome == "answered" and _before(r.answered, r.arrived),
        f"{ANSWERED} AND answered < arrived",
    ),
    CallRule(
        "answered_at before queued_at",
        lambda r: r.outcome == "answered" and _before(r.answered, r.queued),
        f"{ANSWERED} AND queued IS NOT NULL AND answered < queued",
    ),
    CallRule(
        "ended_at before answered_at",
        lambda r: r.outcome == "answered" and _before(r.ended, r.answered),
        f"{ANSWERED} AND ended < answered",
    ),
    CallRule(
        "answered_at on a call with outcome {outcome}",
        lambda r: r.outcome != "answered" and r.answered is not None,
        "outcome <> 'answered' AND answered IS NOT NULL",
    ),
    CallRule(
        "agent on a call with outcome {outcome}",
        lambda r: r.outcome != "answered" and r.agent != "",
        "outcome <> 'answered' AND agent <> ''",
    ),
    CallRule(
        "queued_at on a call with outcome {outcome}",
        lambda r: r.outcome in ("ivr_abandoned", "out_of_hours") and r.queued is not None,
        "outcome IN ('ivr_abandoned', 'out_of_hours') AND queued IS NOT NULL",
    ),
    CallRule("ended_at before arrived_at", lambda r: _before(r.ended, r.arrived), "ended < arrived"),
    CallRule("queued_at before arrived_at", lambda r: _before(r.queued, r.arrived), "queued < arrived"),
    CallRule("ended_at before queued_at", lambda r: _before(r.ended, r.queued), "ended < queued"),
    CallRule(
        "acw_seconds is not a whole number of seconds: {acw}",
        lambda r: _acw_not_whole(r.acw_text),
        f"acw_text <> '' AND acw_text !~ '{ACW_PATTERN}'",
    ),
    CallRule(
        "caller, queue or agent longer than 64 characters",
        lambda r: len(r.caller) > TEXT_MAX or len(r.queue) > TEXT_MAX or len(r.agent) > TEXT_MAX,
        f"length(caller) > {TEXT_MAX} OR length(queue) > {TEXT_MAX} OR length(agent) > {TEXT_MAX}",
    ),
)


def cross_field_error(row: Typed) -> str | None:
    """The reason of the first cross-field rule `row` breaks, or None."""
    for rule in CROSS_RULES:
        if rule.broken(row):
            return rule.says(row)
    return None


def cross_case_sql() -> str:
    """CROSS_RULES as one SQL CASE: the reason of the first rule broken, else NULL."""
    whens = "\n".join(f"    WHEN {rule.sql}\n        THEN {rule.says_sql()}" for rule in CROSS_RULES)
    return f"CASE\n{whens}\n    END"


# --- the row digest ---------------------------------------------------------------------------

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROSECOND = dt.timedelta(microseconds=1)

# (the record's attribute, the fast path's column, kind): text as is, a timestamp as exact
# microseconds since the epoch, an integer in decimal; absent values are empty strings.
DIGEST_PARTS: tuple[tuple[str, str, str], ...] = (
    ("call_id", "call_id", "text"),
    ("arrived_at", "arrived", "time"),
    ("caller", "caller", "text"),
    ("outcome", "outcome", "text"),
    ("queue", "queue", "text"),
    ("queued_at", "queued", "time"),
    ("answered_at", "answered", "time"),
    ("ended_at", "ended", "time"),
    ("agent", "agent", "text"),
    ("acw_seconds", "acw", "int"),
    ("source", "'generic'", "text"),  # a literal: `digest_sql(source=…)` names it
)


def _part(value: Any, kind: str) -> str:
    if value is None:
        return ""
    if kind == "time":
        return str((value - EPOCH) // _MICROSECOND)
    return str(value)


def row_digest(record: Any) -> str:
    """md5 of the parts joined by U+001F (the record: a CallRecord, or anything with its
    attributes)."""
    text = "\x1f".join(_part(getattr(record, attr), kind) for attr, _, kind in DIGEST_PARTS)
    return hashlib.md5(text.encode("utf-8", "surrogatepass"), usedforsecurity=False).hexdigest()


def digest_sql(source: str = "generic", *, century: bool = False) -> str:
    """`row_digest` over the fast paths' typed columns (the generic path's rows are all
    `generic`; the Asterisk SQL path passes `asterisk`).

    `century`: every timestamp is known to be within 2000–2099 (the generic rows past
    `parse_generic.field_error`); their microseconds then come from float8 `date_part`
    instead of numeric `extract` (a quarter of the digest's cost). Exact there: the epoch in
    seconds (below 2^32) is one correctly rounded division of an exact integer below 2^52,
    so it is within 0.24 µs of the truth and, multiplied back and rounded onto a grid of at
    most 0.5, within 0.49 µs of the integer — the cast to bigint rounds it back exactly
    (tests/helpdesk/phone/test_rules_parity.py compares both forms)."""

    def part(column: str, kind: str) -> str:
        if kind == "time" and century:
            return f"coalesce((date_part('epoch', {column}) * 1000000)::bigint::text, '')"
        if kind == "time":
            return f"coalesce((extract(epoch FROM {column}) * 1000000)::bigint::text, '')"
        if kind == "int":
            return f"coalesce({column}::text, '')"
        return column

    columns = [(_literal(source) if attr == "source" else c, k) for attr, c, k in DIGEST_PARTS]
    return "md5(concat_ws(chr(31), " + ", ".join(part(c, k) for c, k in columns) + "))"


# --- the text digest: a re-import's shortcut -------------------------------------------------
#
# What a generic row said *as text* (its ten fields, stripped, in COLUMNS order), bound to the
# row digest it produced: md5 of the fields and then the row digest, joined by U+001F. A stored
# call keeps it (`Call.text_digest`) when the PostgreSQL path writes it; a re-imported row whose
# text gives the stored text digest together with the call's *current* content_hash is the same
# text, so it checks and digests to that content_hash — it is "unchanged" without being typed,
# checked or staged. Binding the text to content_hash keeps that true whoever writes the call
# later: a writer that changes the digest leaves a text digest that no longer matches.

TEXT_SEPARATOR = "\x1f"
TEXT_FIELDS = 10  # the generic columns (parse_generic.COLUMNS)


def text_key(fields: Sequence[str]) -> str | None:
    """A row's fields joined by U+001F — None when a field holds U+001F itself: only then do
    equal keys mean equal fields, so such a row is never looked up by its text."""
    key = TEXT_SEPARATOR.join(fields)
    return key if key.count(TEXT_SEPARATOR) == len(fields) - 1 else None


def text_digest(fields: Sequence[str], digest: str) -> str:
    """The text digest of a row whose row digest is `digest` (`text_digest_sql`, as a UUID's
    hex: the column is a uuid, 16 bytes)."""
    text = TEXT_SEPARATOR.join([*fields, digest])
    return hashlib.md5(text.encode("utf-8", "surrogatepass"), usedforsecurity=False).hexdigest()


def text_digest_sql(columns: Sequence[str], digest: str) -> str:
    """`text_digest` over the fast path's text columns and its row digest."""
    if len(columns) != TEXT_FIELDS:
        raise ValueError(f"a row's text is {TEXT_FIELDS} columns, not {len(columns)}")
    return f"md5(concat_ws(chr(31), {', '.join(columns)}, {digest}))::uuid"


def text_match_sql(key: str, call: str) -> str:
    """True when the stored call `call` (an alias of helpdesk_call) holds the text digest of
    the text key `key` (`text_key`, not NULL) bound to its current content_hash."""
    return f"{call}.text_digest = md5({key} || chr(31) || {call}.content_hash)::uuid"
