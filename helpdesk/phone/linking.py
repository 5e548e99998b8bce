"""Linking a call to the inquiry the agent logs for it."""

from __future__ import annotations

from django.db import transaction

from helpdesk.errors import ConflictError, PermissionDeniedError
from helpdesk.inquiries.services import inquiry_create
from helpdesk.models import Call, Inquiry
from helpdesk.roles import is_staff_operator


@transaction.atomic
def call_log_inquiry(*, call: Call, actor, data: dict) -> Inquiry:
    """The agent logs the phone inquiry for a call (one inquiry per call)."""
    if not is_staff_operator(actor):
        raise PermissionDeniedError("問い合わせを記録する権限がありません。")
    locked = Call.objects.select_for_update().get(pk=call.pk)
    existing = Inquiry.objects.filter(call=locked).values_list("ref", flat=True).first()
    if existing:
        raise ConflictError("この通話の問い合わせは記録済みです。", extra={"ref": existing})
    return inquiry_create(
        channel=Inquiry.Channel.PHONE,
        call=locked,
        received_at=locked.arrived_at,
        created_by=actor,
        assigned_to=actor,
        requester_phone=data.pop("requester_phone", None) or locked.caller,
        **data,
    )
