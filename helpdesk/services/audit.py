"""The only writer of AuditEvent rows."""

from typing import Any

from django.db import models

from helpdesk.models import AuditEvent


def audit_record(
    *,
    actor,
    action: str,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    changes: dict[str, Any] | None = None,
    note: str = "",
) -> AuditEvent:
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(getattr(obj, "ref", None) or obj.pk)
    is_user = actor is not None and getattr(actor, "is_authenticated", False)
    return AuditEvent.objects.create(
        actor=actor if is_user else None,
        actor_label=(actor.get_username() if is_user else (str(actor) if actor else "system")),
        action=action,
        object_type=object_type,
        object_id=object_id,
        changes=changes or {},
        note=note[:255],
    )


def audit_pii_view(*, actor, obj: models.Model, fields: list[str], note: str = "") -> AuditEvent:
    """Every view of personal information leaves a row: who, which record, which fields."""
    return audit_record(actor=actor, action=AuditEvent.Action.VIEW_PII, obj=obj, changes={"fields": fields}, note=note)


def diff_fields(instance: models.Model, data: dict[str, Any], *, pii_fields: frozenset[str] = frozenset()) -> dict:
    """Old/new values of the fields `data` would change. Personal information is recorded
    as changed without its values, so the audit trail never becomes a copy of it."""
    changes: dict[str, Any] = {}
    for field, new in data.items():
        old = getattr(instance, field)
        if old != new:
            if field in pii_fields:
                changes[field] = {"changed": True}
            else:
                changes[field] = {"old": _jsonable(old), "new": _jsonable(new)}
    return changes


def _jsonable(value: Any) -> Any:
    if isinstance(value, models.Model):
        return value.pk
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value
