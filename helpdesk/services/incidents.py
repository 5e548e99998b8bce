"""Security incidents: recorded and maintained by admins."""

import datetime as dt
from typing import Any

from django.db import transaction

from helpdesk.errors import PermissionDeniedError
from helpdesk.models import AuditEvent, SecurityIncident
from helpdesk.roles import is_admin
from helpdesk.services.audit import audit_record, diff_fields


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
def security_incident_update(*, incident: SecurityIncident, actor, data: dict[str, Any]) -> SecurityIncident:
    if not is_admin(actor):
        raise PermissionDeniedError("セキュリティインシデントを更新できるのは管理者のみです。")
    locked = SecurityIncident.objects.select_for_update().get(pk=incident.pk)
    changes = diff_fields(locked, data)
    for field, value in data.items():
        setattr(locked, field, value)
    locked.full_clean()
    locked.save(update_fields=list(data))
    audit_record(actor=actor, action=AuditEvent.Action.UPDATE, obj=locked, changes=changes)
    return locked
