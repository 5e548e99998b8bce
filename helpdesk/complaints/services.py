"""Complaints: any operator records one; only a supervisor confirms its cause."""

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from helpdesk.audit import audit_record, diff_fields
from helpdesk.errors import PermissionDeniedError
from helpdesk.models import AuditEvent, Complaint, Inquiry
from helpdesk.roles import is_staff_operator, is_supervisor


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
    *, complaint: Complaint, actor, cause: str, confirmed_at: dt.datetime | None = None, reason: str = ""
) -> Complaint:
    """A supervisor confirms a complaint's cause (only a confirmed `operator_error` counts,
    kpi.md §5). Changing a cause already confirmed, or its confirmation time, is a
    correction of the metric: it needs `reason`, kept in the audit row."""
    if not is_supervisor(actor):
        raise PermissionDeniedError("苦情の原因を確定できるのはSVのみです。")
    if cause not in Complaint.Cause.values:
        raise ValidationError({"cause": "原因の値が不正です。"})
    locked = Complaint.objects.select_for_update().get(pk=complaint.pk)
    if cause == Complaint.Cause.UNCONFIRMED:
        new_confirmed_at, new_confirmed_by = None, None
    elif cause == locked.cause and confirmed_at is None and locked.confirmed_at is not None:
        new_confirmed_at, new_confirmed_by = locked.confirmed_at, locked.confirmed_by
    else:
        new_confirmed_at, new_confirmed_by = confirmed_at or timezone.now(), actor
    if new_confirmed_at is not None and new_confirmed_at < locked.received_at:
        raise ValidationError({"confirmed_at": "確認日時は苦情の受付日時以降にしてください。"})
    changes = diff_fields(locked, {"cause": cause, "confirmed_at": new_confirmed_at})
    if not changes:
        return locked
    reason = (reason or "").strip()
    # A cause recorded without confirmation (a handover may carry one) is confirmed like a
    # new one; only what was already confirmed is a correction of the metric.
    if locked.confirmed_at is not None and not reason:
        raise ValidationError({"reason": "確定済みの原因の訂正には理由が必要です。"})
    locked.cause, locked.confirmed_at, locked.confirmed_by = cause, new_confirmed_at, new_confirmed_by
    locked.full_clean()
    locked.save(update_fields=["cause", "confirmed_at", "confirmed_by"])
    audit_record(actor=actor, action=AuditEvent.Action.UPDATE, obj=locked, changes=changes, reason=reason)
    return locked
