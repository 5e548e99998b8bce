"""The call upsert every phone import ends in: create or correct calls by `call_id`, each
correction audit-logged."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone

from helpdesk.audit import audit_record, diff_fields
from helpdesk.calendar import ServiceCalendar
from helpdesk.db import bulk_insert, existing_values
from helpdesk.models import AuditEvent, Call
from helpdesk.phone.records import IVR_OR_OUT_OF_HOURS, CallRecord

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
