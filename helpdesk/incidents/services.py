"""Security incidents: recorded and maintained by admins. Occurrence, detection and
severity make the contract's sixth metric (kpi.md §6): once recorded, changing them is a
correction that needs a reason, kept in the audit row with the old and new values."""

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from helpdesk.audit import audit_record, diff_fields
from helpdesk.errors import PermissionDeniedError
from helpdesk.models import AuditEvent, SecurityIncident
from helpdesk.roles import is_admin

# Fields the metric reads: changed only with a reason.
KPI_FIELDS = frozenset({"occurred_at", "detected_at", "severity"})
UPDATABLE_FIELDS = KPI_FIELDS | {"kind", "description"}


def _check_times(occurred_at: dt.datetime | None, detected_at: dt.datetime | None) -> None:
    if occurred_at and detected_at and detected_at < occurred_at:
        raise ValidationError({"detected_at": "検知日時は発生日時以降にしてください。"})


@transaction.atomic
def security_incident_create(
    *,
    actor,
    occurred_at: dt.datetime,
    detected_at: dt.datetime,
    severity: str,
    kind: str = SecurityIncident.Kind.OTHER,
    description: str = "",
) -> SecurityIncident:
    if not is_admin(actor):
        raise PermissionDeniedError("セキュリティインシデントを登録できるのは管理者のみです。")
    _check_times(occurred_at, detected_at)
    incident = SecurityIncident(
        occurred_at=occurred_at,
        detected_at=detected_at,
        severity=severity,
        kind=kind,
        description=description,
        reported_by=actor,
    )
    incident.full_clean()
    incident.save()
    audit_record(actor=actor, action=AuditEvent.Action.CREATE, obj=incident, changes={"severity": severity})
    return incident


@transaction.atomic
def security_incident_update(
    *, incident: SecurityIncident, actor, data: dict[str, Any], reason: str = ""
) -> SecurityIncident:
    """Change an incident. Changing occurred_at, detected_at or severity (what the metric
    counts) needs `reason`; the audit row keeps it with the old and new values."""
    if not is_admin(actor):
        raise PermissionDeniedError("セキュリティインシデントを更新できるのは管理者のみです。")
    unknown = set(data) - UPDATABLE_FIELDS
    if unknown:
        raise ValidationError({f: "この項目は変更できません。" for f in sorted(unknown)})
    locked = SecurityIncident.objects.select_for_update().get(pk=incident.pk)
    changes = diff_fields(locked, data)
    if not changes:
        return locked
    reason = (reason or "").strip()
    if set(changes) & KPI_FIELDS and not reason:
        raise ValidationError({"reason": "発生日時・検知日時・重大度の訂正には理由が必要です。"})
    _check_times(data.get("occurred_at", locked.occurred_at), data.get("detected_at", locked.detected_at))
    for field, value in data.items():
        setattr(locked, field, value)
    locked.full_clean()
    locked.save(update_fields=list(data))
    audit_record(actor=actor, action=AuditEvent.Action.UPDATE, obj=locked, changes=changes, reason=reason)
    return locked
