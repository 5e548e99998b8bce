"""The audit row an import leaves on an existing record it changed (fields named, values
only for non-personal fields); shared by the row-by-row and the bulk paths and by other
apps' importers (kpi, faq)."""

from __future__ import annotations

from typing import Any

from helpdesk.audit import audit_record
from helpdesk.handover.codec import (
    ImportContext,
)
from helpdesk.models import (
    AuditEvent,
)

PII_FIELDS = frozenset(
    {
        "caller",
        "from_address",
        "from_name",
        "to_addresses",
        "subject",
        "body",
        "body_text",
        "body_html",
        "raw",
        "requester_name",
        "requester_email",
        "requester_phone",
        "requester_organization",
        "description",
        "note",
        "answer",
        "resolution",
        "first_name",
        "last_name",
        "email",
    }
)


def audit_update(instance, outcome: str, ctx: ImportContext, prior: str | None = "") -> str:
    """An existing record changed by an import leaves an UPDATE row naming the fields
    (values only for non-personal fields). Created rows are covered by the run's IMPORT."""
    if prior == "":
        prior = ctx.prior_outcome
    if outcome == "updated" and prior != "created":
        fields = getattr(instance, "_handover_changed", [])
        changes = {
            f: ({"changed": True} if f in PII_FIELDS else {"new": jsonable(getattr(instance, f, None))}) for f in fields
        }
        audit_record(
            actor=getattr(ctx.run, "created_by", None),
            action=AuditEvent.Action.UPDATE,
            obj=instance,
            changes=changes,
            note=f"handover import run {getattr(ctx.run, 'pk', '')}",
        )
    return outcome


def jsonable(value: Any) -> Any:
    if hasattr(value, "pk"):
        return value.pk
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, (bytes, memoryview)):
        return f"<{len(value)} bytes>"
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)
