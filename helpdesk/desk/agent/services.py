"""Writes the desk composes from the existing services (helpdesk.*.services): nothing here
decides a business rule of its own, it only runs several of them in one transaction.

- `desk_reply`: the reply box. The API's reply takes no version; the desk's form does
  name the version the agent read, so an agent who replies to an inquiry someone else has
  just changed (answered it, assigned it) sees the change first, text kept.
- `desk_wrapup`: the wrap-up form of a phone inquiry (record fields, complete the wrap-up,
  optionally resolve) as one step."""

from collections.abc import Sequence

from django.db import transaction

from faq.models import FaqEntry
from faq.services import faq_usage_record
from helpdesk.errors import ConflictError
from helpdesk.inquiries.services import inquiry_complete_wrapup, inquiry_transition, inquiry_update
from helpdesk.mail.outbox import mail_reply_create
from helpdesk.models import EmailMessage, Inquiry


def _check_version(inquiry: Inquiry, expected_version: int | None) -> None:
    if expected_version is not None and inquiry.version != expected_version:
        raise ConflictError(
            "この問い合わせは他のユーザーによって更新されています。",
            extra={"current_version": inquiry.version, "your_version": expected_version},
        )


@transaction.atomic
def desk_reply(
    *,
    inquiry: Inquiry,
    actor,
    body: str,
    subject: str = "",
    expected_version: int | None = None,
    faq_entries: Sequence[FaqEntry] = (),
) -> EmailMessage:
    """Queue the agent's answer (mail_reply_create) and record the FAQ entries it quoted
    (faq_usage_record). A stale `expected_version` raises ConflictError before anything
    is written."""
    locked = Inquiry.objects.select_for_update().get(pk=inquiry.pk)
    _check_version(locked, expected_version)
    message = mail_reply_create(inquiry=locked, actor=actor, body=body, subject=subject)
    for entry in faq_entries:
        faq_usage_record(actor=actor, inquiry=locked, entry=entry)
    return message


@transaction.atomic
def desk_wrapup(
    *, inquiry: Inquiry, actor, data: dict, expected_version: int | None, resolve: bool | None = False
) -> Inquiry:
    """Save what the agent wrote (inquiry_update), complete the call's wrap-up
    (inquiry_complete_wrapup) and, if asked, resolve the inquiry (inquiry_transition) —
    all or nothing. Each step checks the version the previous one left."""
    updated = inquiry_update(inquiry=inquiry, actor=actor, data=data, expected_version=expected_version)
    updated = inquiry_complete_wrapup(inquiry=updated, actor=actor, expected_version=updated.version)
    if resolve and updated.status != Inquiry.Status.RESOLVED:
        updated = inquiry_transition(
            inquiry=updated, actor=actor, status=Inquiry.Status.RESOLVED, expected_version=updated.version
        )
    return updated
