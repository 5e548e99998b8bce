"""Reads for the mail channel."""

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from helpdesk.errors import NotFoundError
from helpdesk.models import Attachment, EmailMessage, ImportRun, Inquiry


def mail_inquiry_get(*, ref: str) -> Inquiry:
    inquiry = Inquiry.objects.filter(ref=ref.upper()).first()
    if inquiry is None:
        raise NotFoundError("問い合わせが見つかりません。")
    return inquiry


def mail_attachment_get(*, message_pk: int, n: int) -> Attachment:
    """The n-th (1-based, in the order the message carries them) attachment of a message."""
    if n < 1:
        raise NotFoundError("添付ファイルが見つかりません。")
    attachment = Attachment.objects.filter(message_id=message_pk).order_by("id").select_related("message")[n - 1 : n]
    found = list(attachment)
    if not found:
        raise NotFoundError("添付ファイルが見つかりません。")
    return found[0]


def mail_outbox_list(*, status: str | None = None, inquiry_ref: str | None = None) -> QuerySet[EmailMessage]:
    qs = (
        EmailMessage.objects.exclude(send_status="")
        .select_related("inquiry")
        .only(
            "id",
            "message_id",
            "subject",
            "to_addresses",
            "send_status",
            "send_attempts",
            "last_send_error",
            "send_next_attempt_at",
            "sent_at",
            "is_auto_acknowledgement",
            "created_at",
            "inquiry__ref",
        )
        .order_by("-created_at", "-id")
    )
    if status:
        qs = qs.filter(send_status=status)
    if inquiry_ref:
        qs = qs.filter(inquiry__ref=inquiry_ref.upper())
    return qs


def mail_outbox_message_get(*, pk: int) -> EmailMessage:
    message = EmailMessage.objects.filter(pk=pk).first()
    if message is None:
        raise NotFoundError("見つかりません。")
    return message


def mail_import_run_get(*, pk: int) -> ImportRun:
    run = ImportRun.objects.filter(pk=pk, kind=ImportRun.Kind.MAIL).first()
    if run is None:
        raise NotFoundError("見つかりません。")
    return run


def mail_import_rejects(*, run: ImportRun, limit: int = 100) -> list[dict]:
    return [dict(row) for row in run.rejects.values("source_name", "line", "offset", "reason")[:limit]]


def email_list() -> QuerySet[EmailMessage]:
    # `raw` can be megabytes per row: never loaded for a list.
    return (
        EmailMessage.objects.select_related("inquiry")
        .defer("raw", "body_text", "body_html", "references")
        .order_by("-received_at", "-id")
    )


def email_get(*, pk: int) -> EmailMessage:
    return get_object_or_404(
        EmailMessage.objects.select_related("inquiry").prefetch_related("attachments").defer("raw"), pk=pk
    )


def mail_real_answers() -> QuerySet[EmailMessage]:
    """Outbound mail that answers — the one definition (kpi §3, first_answered_at, the KPI
    recompute): not an automatic acknowledgement, not queued or failed in the outbox, with a
    sent time."""
    return EmailMessage.objects.filter(
        direction=EmailMessage.Direction.OUTBOUND,
        is_auto_acknowledgement=False,
        send_status__in=[EmailMessage.SendStatus.NOT_APPLICABLE, EmailMessage.SendStatus.SENT],
        sent_at__isnull=False,
    )
