"""Escalations: agents ask a supervisor (internal); only supervisors hand over outside the
contractor (responsible section, its designee, operations vendor, other organizations).
A new escalation moves a new / in-progress inquiry to `escalated`; the answer coming back
moves it on to `in_progress` so the agent answers the citizen (helpdesk.inquiries.services)."""

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from helpdesk.audit import audit_record
from helpdesk.errors import ApplicationError, PermissionDeniedError
from helpdesk.inquiries.services import inquiry_mark_escalated, inquiry_mark_escalation_returned
from helpdesk.models import AuditEvent, Escalation, Inquiry
from helpdesk.notifications.services import notify_escalation_returned
from helpdesk.roles import is_staff_operator, is_supervisor


@transaction.atomic
def escalation_create(
    *,
    inquiry: Inquiry,
    actor,
    target: str,
    note: str = "",
    organization: str = "",
    escalated_at: dt.datetime | None = None,
) -> Escalation:
    if not is_staff_operator(actor):
        raise PermissionDeniedError("エスカレーションする権限がありません。")
    if target != Escalation.Target.INTERNAL and not is_supervisor(actor):
        raise PermissionDeniedError("受託者外へのエスカレーションはSVのみ行えます。")
    escalated_at = escalated_at or timezone.now()
    if escalated_at < inquiry.received_at:
        raise ApplicationError("エスカレーション日時が受付日時より前です。", extra={"field": "escalated_at"})
    escalation = Escalation(
        inquiry=inquiry,
        target=target,
        note=note,
        organization=organization,
        escalated_at=escalated_at,
        requested_by=actor if target == Escalation.Target.INTERNAL else None,
        escalated_by=actor,
    )
    escalation.full_clean()
    escalation.save()
    inquiry_mark_escalated(inquiry=inquiry, actor=actor, note=f"escalation to {target}")
    audit_record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        obj=escalation,
        changes={"inquiry": inquiry.ref, "target": target},
    )
    return escalation


@transaction.atomic
def escalation_record_return(
    *, escalation: Escalation, actor, answer: str, returned_at: dt.datetime | None = None
) -> Escalation:
    """Record the other party's answer. Supervisors record answers from outside; the
    supervisor who took an internal escalation answers it too."""
    if not is_supervisor(actor):
        raise PermissionDeniedError("エスカレーション先の回答を記録できるのはSVのみです。")
    if not (answer or "").strip():
        raise ValidationError({"answer": "回答内容を入力してください。"})
    locked = Escalation.objects.select_for_update().get(pk=escalation.pk)
    if locked.returned_at is not None:
        raise ApplicationError("このエスカレーションには回答が記録済みです。", extra={"field": "returned_at"})
    returned_at = returned_at or timezone.now()
    if returned_at < locked.escalated_at:
        raise ValidationError({"returned_at": "回答日時はエスカレーション日時以降にしてください。"})
    locked.returned_at = returned_at
    locked.answer = answer
    locked.full_clean()
    locked.save(update_fields=["returned_at", "answer"])
    audit_record(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        obj=locked,
        changes={"returned_at": {"old": None, "new": locked.returned_at.isoformat()}},
    )
    inquiry_mark_escalation_returned(inquiry=locked.inquiry, actor=actor, note="escalation answered")
    notify_escalation_returned(escalation=locked, actor=actor)
    return locked


@transaction.atomic
def escalation_forward(
    *, request: Escalation, actor, target: str, organization: str = "", note: str = ""
) -> Escalation:
    """A supervisor takes an agent's request (internal) outside the contractor: the new
    handover is created first, then the request is answered with where it went, so the
    inquiry stays `escalated` until the other party's answer comes back."""
    if request.target != Escalation.Target.INTERNAL:
        raise ApplicationError("SVへの依頼ではないエスカレーションです。", extra={"field": "escalation"})
    if target == Escalation.Target.INTERNAL:
        raise ValidationError({"target": "受託者外のエスカレーション先を選んでください。"})
    handover = escalation_create(
        inquiry=request.inquiry, actor=actor, target=target, organization=organization, note=note
    )
    label = Escalation.Target(target).label
    escalation_record_return(
        escalation=request,
        actor=actor,
        answer=f"{label}{f'（{organization}）' if organization else ''}へエスカレーションしました。",
    )
    return handover
