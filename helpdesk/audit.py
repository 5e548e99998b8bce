"""The only writer of AuditEvent rows, and the check of their hash chain."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone

from helpdesk.clock import TOKYO
from helpdesk.db import JsonText, bulk_insert
from helpdesk.models import AuditEvent
from helpdesk.models.audit import (
    GENESIS_HASH,
    audit_canonical,
    audit_canonical_with,
    audit_chain_hash,
    audit_changes_json,
)

# pg_advisory_xact_lock key that serialises the chain ("hdaudit\0"). Held from reading the
# head to the end of the writer's transaction, so two writers never link to the same row.
AUDIT_CHAIN_LOCK = 0x6864617564697400


def audit_record(
    *,
    actor,
    action: str,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    changes: dict[str, Any] | None = None,
    note: str = "",
    reason: str = "",
) -> AuditEvent:
    """One row of the trail, chained to the previous one. `reason`: a correction's, kept in
    the changes and, unless a note is given, as the note (「訂正: …」, what reviewers read)."""
    if reason.strip():
        changes = {**(changes or {}), "reason": reason.strip()}
        note = note or correction_note(reason)
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(getattr(obj, "ref", None) or obj.pk)
    is_user = actor is not None and getattr(actor, "is_authenticated", False)
    event = AuditEvent(
        actor=actor if is_user else None,
        actor_label=(actor.get_username() if is_user else (str(actor) if actor else "system")),
        action=action,
        object_type=object_type,
        object_id=object_id,
        changes=_as_stored(changes or {}),
        note=note[:255],
    )
    # No savepoint of its own: a failed insert fails the caller's transaction, as it did before
    # the chain; outside one this is the transaction the lock lives in.
    with transaction.atomic(savepoint=False):
        _lock_chain()
        event.at = timezone.now()  # after the lock: time order follows chain order
        if connection.vendor == "postgresql":
            _insert_linked(event)
        else:
            event.prev_hash = _head_hash()
            event.chain_hash = audit_chain_hash(event.prev_hash, event.canonical())
            event.save(force_insert=True)
    return event


def correction_note(reason: str) -> str:
    """The trail's note for a correction of a recorded figure: 「訂正: <reason>」, or none."""
    return f"訂正: {reason.strip()}" if reason.strip() else ""


@dataclass
class AuditDraft:
    """One audit row for `audit_record_many`: what `audit_record` takes, the object named by
    its type and id (the writer of many rows has no model instances)."""

    action: str
    object_type: str
    object_id: str
    changes: dict[str, Any] = field(default_factory=dict)
    note: str = ""


def audit_record_many(drafts: Iterable[AuditDraft], *, actor=None) -> int:
    """Append many rows of one actor, in order, as `audit_record` would one at a time: the
    chain locked once, each row linked to the one before it, written in one bulk insert
    (COPY on PostgreSQL). For bulk imports; returns how many rows were written."""
    is_user = actor is not None and getattr(actor, "is_authenticated", False)
    actor_id = actor.pk if is_user else None
    label = actor.get_username() if is_user else (str(actor) if actor else "system")
    rows: list[tuple] = []
    postgres = connection.vendor == "postgresql"
    with transaction.atomic(savepoint=False):
        _lock_chain()
        prev = _head_hash()
        for draft in drafts:
            at = timezone.now()
            changes = _as_stored(draft.changes or {})
            changes_json = audit_changes_json(changes)  # once, for the hash and for COPY
            note = draft.note[:255]
            canonical = audit_canonical_with(
                at=at,
                actor_id=actor_id,
                actor_label=label,
                action=draft.action,
                object_type=draft.object_type,
                object_id=draft.object_id,
                changes_json=changes_json,
                note=note,
            )
            chain = audit_chain_hash(prev, canonical)
            rows.append(
                (
                    at,
                    actor_id,
                    label,
                    draft.action,
                    draft.object_type,
                    draft.object_id,
                    JsonText(changes_json) if postgres else changes,
                    note,
                    prev,
                    chain,
                )
            )
            prev = chain
        if rows:
            bulk_insert(
                AuditEvent,
                [
                    "at",
                    "actor_id",
                    "actor_label",
                    "action",
                    "object_type",
                    "object_id",
                    "changes",
                    "note",
                    "prev_hash",
                    "chain_hash",
                ],
                rows,
            )
    return len(rows)


_TABLE = AuditEvent._meta.db_table
# The head read, the link and the insert in one statement (PostgreSQL): the lock is held from
# here to the commit, and every other audit-writing request waits meanwhile, so one round trip
# less there is one less for all of them. Its own statement, after the lock's: READ COMMITTED
# reads the head as committed when the statement starts, i.e. after the lock was granted.
# sha256 of the same bytes as audit_chain_hash (checked below).
_INSERT_LINKED = f"""
    INSERT INTO {_TABLE} (at, actor_id, actor_label, action, object_type, object_id, changes, note,
                          prev_hash, chain_hash)
    SELECT %s, %s, %s, %s, %s, %s, %s::jsonb, %s, head.hash,
           encode(sha256(convert_to(head.hash || E'\\n' || %s, 'UTF8')), 'hex')
    FROM (SELECT coalesce((SELECT chain_hash FROM {_TABLE} ORDER BY id DESC LIMIT 1), %s) AS hash) AS head
    RETURNING id, prev_hash, chain_hash
"""


def _insert_linked(event: AuditEvent) -> None:
    canonical = event.canonical()
    params = [
        event.at,
        event.actor_id,
        event.actor_label,
        event.action,
        event.object_type,
        event.object_id,
        json.dumps(event.changes),
        event.note,
        canonical,
        GENESIS_HASH,
    ]
    with connection.cursor() as cursor:
        cursor.execute(_INSERT_LINKED, params)
        event.pk, event.prev_hash, event.chain_hash = cursor.fetchone()
    if event.chain_hash != audit_chain_hash(event.prev_hash, canonical):  # the database hashed what verify reads
        raise AssertionError(f"audit event {event.pk}: the database's chain hash differs from audit_chain_hash")
    event._state.adding = False
    event._state.db = connection.alias


def _lock_chain() -> None:
    """Serialise writers of the chain until the end of the current transaction. The lock is
    held until the caller's outermost transaction commits, so audit-writing transactions run
    one after another at their audit write — the price of one unforked chain. SQLite allows
    one writer at a time anyway."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [AUDIT_CHAIN_LOCK])


def _head_hash() -> str:
    return AuditEvent.objects.order_by("-id").values_list("chain_hash", flat=True).first() or GENESIS_HASH


def audit_chain_head() -> tuple[int, str] | None:
    """(id, chain_hash) of the last row of the trail, or None while it is empty."""
    return AuditEvent.objects.order_by("-id").values_list("id", "chain_hash").first()


def _as_stored(value: Any) -> Any:
    """`changes` as it will read back from the database, so the hash computed now matches the
    one verify_audit recomputes later: JSON round trip (tuples → lists, int keys → strings),
    and whole floats ≥ 1e16 as ints (PostgreSQL's jsonb prints 1e+16 as 10000000000000000).
    Changes made only of strings, ints, booleans, None, lists and string-keyed dicts read back
    as they are: no round trip."""
    if _plain(value):
        return value
    return _whole_floats(json.loads(json.dumps(value)))


def _plain(value: Any) -> bool:
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return True
    if kind is dict:
        return all(type(k) is str and _plain(v) for k, v in value.items())
    if kind is list:
        return all(_plain(v) for v in value)
    return False


def _whole_floats(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer() and abs(value) >= 1e16:
        return int(value)
    if isinstance(value, list):
        return [_whole_floats(v) for v in value]
    if isinstance(value, dict):
        return {k: _whole_floats(v) for k, v in value.items()}
    return value


@dataclass
class ChainReport:
    rows: int = 0
    head_id: int | None = None
    head_hash: str = ""
    anchors: int = 0
    broken_at: int | None = None  # id of the first row (or anchored row) that fails
    reason: str = ""
    _anchor_seen: dict[int, str] = field(default_factory=dict, repr=False)

    @property
    def intact(self) -> bool:
        return not self.reason


_FIELDS = ("id", "at", "actor_id", "actor_label", "action", "object_type", "object_id", "changes", "note")


def audit_chain_verify(*, anchors: Mapping[int, tuple[str, str]] | None = None, chunk_size: int = 5000) -> ChainReport:
    """Walk the trail in id order (streamed) and report the first broken link: a row whose
    content no longer matches its hash (changed), or whose link does not match the row before
    it (a row removed, inserted or reordered). `anchors` maps an audit row id to (hash, where)
    recorded elsewhere — a published KPI snapshot's chain head: a trail rewritten consistently
    from some row on (hashes recomputed) still differs from what was published, and a trail
    cut at its end no longer holds the anchored row."""
    anchors = dict(anchors or {})
    report = ChainReport(anchors=len(anchors))
    rows: Iterable = (
        AuditEvent.objects.order_by("id").values_list(*_FIELDS, "prev_hash", "chain_hash").iterator(chunk_size)
    )
    expected_prev, prev_id = GENESIS_HASH, None
    for row in rows:
        event_id, at, actor_id, actor_label, action, object_type, object_id, changes, note, prev_hash, chain_hash = row
        report.rows += 1
        canonical = audit_canonical(
            at=at,
            actor_id=actor_id,
            actor_label=actor_label,
            action=action,
            object_type=object_type,
            object_id=object_id,
            changes=changes,
            note=note,
        )
        if audit_chain_hash(prev_hash, canonical) != chain_hash:
            return _broken(report, event_id, f"audit event {event_id}: its content does not match its hash (changed)")
        if prev_hash != expected_prev:
            after = f"audit event {prev_id}" if prev_id is not None else "the start of the trail"
            return _broken(
                report,
                event_id,
                f"audit event {event_id}: its link does not match {after} (a row was removed, inserted or reordered)",
            )
        if event_id in anchors:
            report._anchor_seen[event_id] = chain_hash
        expected_prev, prev_id = chain_hash, event_id
        report.head_id, report.head_hash = event_id, chain_hash
    for event_id, (recorded, where) in sorted(anchors.items()):
        seen = report._anchor_seen.get(event_id)
        if seen is None:
            return _broken(report, event_id, f"audit event {event_id}, the chain head recorded by {where}, is missing")
        if seen != recorded:
            return _broken(
                report,
                event_id,
                f"audit event {event_id}: its hash differs from the chain head recorded by {where} "
                "(the trail was rewritten up to there)",
            )
    return report


def _broken(report: ChainReport, event_id: int, reason: str) -> ChainReport:
    report.broken_at, report.reason = event_id, reason
    return report


def audit_pii_view(*, actor, obj: models.Model, fields: list[str], note: str = "") -> AuditEvent:
    """Every view of personal information leaves a row: who, which record, which fields."""
    return audit_record(actor=actor, action=AuditEvent.Action.VIEW_PII, obj=obj, changes={"fields": fields}, note=note)


def diff_fields(instance: models.Model, data: dict[str, Any], *, pii_fields: frozenset[str] = frozenset()) -> dict:
    """Old/new values of the fields `data` would change. Personal information is recorded
    as changed without its values, so the audit trail never becomes a copy of it."""
    changes: dict[str, Any] = {}
    for field_name, new in data.items():
        old = getattr(instance, field_name)
        if old != new:
            if field_name in pii_fields:
                changes[field_name] = {"changed": True}
            else:
                changes[field_name] = {"old": audit_value(old), "new": audit_value(new)}
    return changes


def audit_value(value: Any) -> Any:
    """A field's value as the audit trail records it: a related object by its key, a decimal
    as its text, an aware moment in Tokyo time — whichever connection or parser produced it,
    so an import's SQL path and its row path write the same entry — bytes by their length."""
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(TOKYO).isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, (bytes, memoryview)):
        return f"<{len(value)} bytes>"
    return value
