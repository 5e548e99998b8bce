"""Complaints: any operator records one; only a supervisor confirms its cause."""

import datetime as dt

from django.db import transaction
from django.utils import timezone

from helpdesk.errors import PermissionDeniedError
from helpdesk.models import AuditEvent, Complaint, Inquiry
from helpdesk.roles import is_staff_operator, is_supervisor
from helpdesk.services.audit import audit_record


@transaction.atomic
def complaint_record(
    *, inquiry: Inquiry, actor, description: str = "", received_at: dt.datetime | None = None
) -> Complaint:
    if not is_staff_operator(actor):
        raise PermissionDeniedError("苦情を記録する権限がありません。")
    complaint = Complaint(
        inquiry=inquiry,
        received_at=received_at or timezone.now(),
        description=description,
        recorded_by=actor,
    )
    complaint.full_clean()
    complaint.save()
    audit_record(actor=actor, action=AuditEvent.Action.CREATE, obj=complaint, changes={"inquiry": inquiry.ref})
    return complaint


@transaction.atomic
def complaint_classify(
    *, complaint: Complaint, actor, cause: str, confirmed_at: dt.datetime | None = None
) -> Complaint:
    if not is_supervisor(actor):
        raise PermissionDeniedError("苦情の原因を確定できるのはSVのみです。")
    locked = Complaint.objects.select_for_update().get(pk=complaint.pk)
    old = locked.cause
    locked.cause = cause
    if cause == Complaint.Cause.UNCONFIRMED:
        locked.confirmed_at, locked.confirmed_by = None, None
    else:
        locked.confirmed_at, locked.confirmed_by = confirmed_at or timezone.now(), actor
    locked.full_clean()
    locked.save(update_fields=["cause", "confirmed_at", "confirmed_by"])
    audit_record(
        actor=actor, action=AuditEvent.Action.UPDATE, obj=locked, changes={"cause": {"old": old, "new": cause}}
    )
    return locked
