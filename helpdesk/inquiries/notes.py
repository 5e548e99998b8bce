"""Internal notes on an inquiry: staff write them, the citizen never sees them. A note
does not change the inquiry (no version bump, no status move); it leaves a CREATE audit
row naming the inquiry, never the note's text."""

from django.core.exceptions import ValidationError
from django.db import transaction

from helpdesk.audit import audit_record
from helpdesk.errors import PermissionDeniedError
from helpdesk.models import AuditEvent, Inquiry, InquiryNote
from helpdesk.roles import is_staff_operator

NOTE_MAX_CHARS = 10000


@transaction.atomic
def inquiry_note_add(*, inquiry: Inquiry, actor, body: str) -> InquiryNote:
    if not is_staff_operator(actor):
        raise PermissionDeniedError("内部メモを書く権限がありません。")
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": "メモを入力してください。"})
    if len(body) > NOTE_MAX_CHARS:
        raise ValidationError({"body": f"メモは{NOTE_MAX_CHARS}文字以内で入力してください。"})
    note = InquiryNote.objects.create(inquiry=inquiry, author=actor, body=body)
    audit_record(actor=actor, action=AuditEvent.Action.CREATE, obj=note, changes={"inquiry": inquiry.ref})
    return note
