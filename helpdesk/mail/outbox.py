"""The outbox: replies and acknowledgements written here and sent by SMTP.

States of an outbound message written here (`EmailMessage.send_status`):

    queued ──claim──▶ sending ──ok──▶ sent
       ▲                 │
       └──── failed ◀────┘ (SMTP error: retried with exponential back-off)

A sender claims a due row with SELECT … FOR UPDATE SKIP LOCKED and moves it to `sending`
in its own transaction before talking to SMTP, so two workers never send the same row.
A row left in `sending` by a sender that died mid-conversation is not retried
automatically (the server may have accepted it): the sweep marks it failed with
"delivery unknown" and no next attempt; an agent re-queues it (`outbox_requeue`) after
checking. Mail is UTF-8: base64 bodies and RFC 2047 (B) subjects and names, which every
current Japanese mail client reads (docs/mail.md)."""

from __future__ import annotations

import email.utils
import functools
import logging
import uuid
from email.message import EmailMessage as MimeMessage
from email.policy import EmailPolicy

from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from helpdesk.audit import audit_record
from helpdesk.errors import ApplicationError, NotFoundError, PermissionDeniedError
from helpdesk.inquiries.services import inquiry_mark_answered
from helpdesk.mail.parse.charsets import header_safe
from helpdesk.mail.parse.threads import subject_with_ref
from helpdesk.mail.send_tasks import mail_send_message
from helpdesk.models import AuditEvent, EmailMessage, Inquiry, MailReference
from helpdesk.roles import is_staff_operator

logger = logging.getLogger(__name__)


MAX_REFERENCES = 20
SENDER_NAME = "電子政府利用支援センター"


# Headers whose value is the same on every message we write (the sender): parsed and folded
# once per process. The stdlib parses an address header at assignment and again when it folds
# it; for our From, whose display name is Japanese (an RFC 2047 encoded word), the two cost
# about 3.5 ms of CPU — most of building a reply's message. The result is a pure function of
# the policy's settings, the name and the value, so the cached bytes are the same bytes.
_CONSTANT_HEADERS = frozenset({"from"})


@functools.lru_cache(maxsize=16)
def _store_parsed(policy: EmailPolicy, name: str, value: str) -> tuple[str, str]:
    return EmailPolicy.header_store_parse(policy, name, value)


@functools.lru_cache(maxsize=16)
def _folded(policy: EmailPolicy, name: str, value: str) -> bytes:
    return EmailPolicy.fold_binary(policy, name, value)


class _OutboxPolicy(EmailPolicy):
    """`email.policy.SMTP` (the same settings, hence the same bytes: tests/helpdesk/mail/
    test_outbox.py holds them equal), with the constant headers parsed and folded once."""

    def header_store_parse(self, name, value):
        if name.lower() in _CONSTANT_HEADERS and type(value) is str:
            return _store_parsed(self, name, value)
        return super().header_store_parse(name, value)

    def fold_binary(self, name, value):
        if name.lower() in _CONSTANT_HEADERS:
            return _folded(self, name, value)
        return super().fold_binary(name, value)


# email.policy.SMTP is `EmailPolicy(linesep="\r\n")`; policies are immutable and hashable.
OUTBOX_POLICY = _OutboxPolicy(linesep="\r\n")


def _domain() -> str:
    return settings.HELPDESK_FROM_ADDRESS.rsplit("@", 1)[-1]


def _thread_parent(inquiry: Inquiry) -> EmailMessage | None:
    """The message a reply answers: the citizen's latest message in the thread — the three
    columns a reply takes from it, not its raw message (attachments included) or its body."""
    return (
        EmailMessage.objects.filter(inquiry=inquiry, direction=EmailMessage.Direction.INBOUND)
        .order_by("-received_at", "-id")
        .only("id", "subject", "message_id", "references")
        .first()
    )


def _build_mime(
    *, to: str, subject: str, body: str, parent: EmailMessage | None, auto_ack: bool, ref: str
) -> tuple[MimeMessage, str]:
    mime = MimeMessage(policy=OUTBOX_POLICY)
    # Short enough (< 78 columns with the header name) never to be folded.
    message_id = f"<{ref}.{uuid.uuid4().hex[:20]}@{_domain()}>"
    mime["Message-ID"] = message_id
    mime["Date"] = email.utils.format_datetime(timezone.localtime())
    mime["From"] = email.utils.formataddr((SENDER_NAME, settings.HELPDESK_FROM_ADDRESS))
    mime["To"] = to
    mime["Subject"] = subject
    if parent is not None:
        refs = [r for r in parent.references.split() if r][-(MAX_REFERENCES - 1) :] + [parent.message_id]
        mime["In-Reply-To"] = parent.message_id
        mime["References"] = " ".join(refs)
    mime["X-EG-Inquiry-Ref"] = ref
    if auto_ack:
        mime["Auto-Submitted"] = "auto-replied"
        mime["X-EG-Auto-Ack"] = "1"
        mime["X-Auto-Response-Suppress"] = "All"
    mime.set_content(body, charset="utf-8", cte="base64")
    return mime, message_id


def _store_outbound(
    *, inquiry: Inquiry, body: str, subject: str, auto_ack: bool, actor=None, parent: EmailMessage | None = None
) -> EmailMessage:
    to = inquiry.requester_email
    # the subject comes from the inquiry or the citizen's message, which an agent or an older
    # import may have left with a control character: one line, whatever it holds
    subject = header_safe(subject)
    mime, message_id = _build_mime(to=to, subject=subject, body=body, parent=parent, auto_ack=auto_ack, ref=inquiry.ref)
    now = timezone.now()
    message = EmailMessage.objects.create(
        message_id=message_id,
        direction=EmailMessage.Direction.OUTBOUND,
        source=EmailMessage.Source.HELPDESK,
        inquiry=inquiry,
        from_address=settings.HELPDESK_FROM_ADDRESS,
        from_name=SENDER_NAME,
        to_addresses=to,
        subject=subject[:998],
        body_text=body,
        in_reply_to=mime.get("In-Reply-To", ""),
        references=mime.get("References", ""),
        received_at=now,
        raw=mime.as_bytes(),
        is_auto_acknowledgement=auto_ack,
        send_status=EmailMessage.SendStatus.QUEUED,
        send_next_attempt_at=now,
    )
    if message.in_reply_to:
        MailReference.objects.bulk_create(
            [MailReference(message=message, referenced_message_id=r) for r in dict.fromkeys(message.references.split())]
        )
    audit_record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        obj=message,
        changes={"direction": "outbound", "inquiry": inquiry.ref, "auto_ack": auto_ack, "send_status": "queued"},
    )
    _enqueue_on_commit(message.pk)
    return message


def _enqueue_on_commit(pk: int) -> None:
    def enqueue() -> None:
        try:
            mail_send_message.delay(pk)
        except Exception:  # broker down: the periodic sweep (mail_send_outbox) sends it
            logger.warning("outbox: could not enqueue message %s; the sweep will send it", pk)

    transaction.on_commit(enqueue)


@transaction.atomic
def mail_reply_create(*, inquiry: Inquiry, actor, body: str, subject: str = "") -> EmailMessage:
    """An agent's answer to an email or web-form inquiry: stored as an outbound message
    (queued) and sent through the outbox after commit; the inquiry moves to `answered`
    (helpdesk.inquiries.services.inquiry_mark_answered)."""
    if not is_staff_operator(actor):
        raise PermissionDeniedError("返信する権限がありません。")
    if inquiry.channel not in (Inquiry.Channel.EMAIL, Inquiry.Channel.FORM):
        raise ApplicationError("メール・フォームの問い合わせにのみ返信できます。", extra={"field": "inquiry"})
    if not inquiry.requester_email:
        raise ApplicationError("問い合わせ者のメールアドレスがありません。", extra={"field": "to"})
    if not body.strip():
        raise ApplicationError("本文を入力してください。", extra={"field": "body"})
    parent = _thread_parent(inquiry)
    subject = subject_with_ref(subject or (parent.subject if parent else inquiry.subject), inquiry.ref)
    message = _store_outbound(inquiry=inquiry, body=body, subject=subject, auto_ack=False, actor=actor, parent=parent)
    # Replying is what moves the inquiry to 回答済 (awaiting the citizen); the time of the
    # first answer (a contract figure) is stamped when the mail actually leaves (outbox_send).
    inquiry_mark_answered(inquiry=inquiry, actor=actor, note="reply queued")
    return message


def outbox_acknowledge(*, inquiry: Inquiry, in_reply_to: EmailMessage | None = None) -> EmailMessage | None:
    """The automatic acknowledgement of a new mail/form inquiry (never counts as an answer)."""
    if not inquiry.requester_email:
        return None
    body = render_to_string("emails/acknowledgement.txt", {"inquiry": inquiry})
    subject = f"【受付】{inquiry.subject or 'お問い合わせ'} [{inquiry.ref}]"
    return _store_outbound(inquiry=inquiry, body=body, subject=subject, auto_ack=True, parent=in_reply_to)


@transaction.atomic
def outbox_requeue(*, message: EmailMessage, actor) -> EmailMessage:
    """An agent sends a failed message again (after checking it was not delivered)."""
    if not is_staff_operator(actor):
        raise PermissionDeniedError("再送する権限がありません。")
    locked = EmailMessage.objects.select_for_update().filter(pk=message.pk).first()
    if locked is None:
        raise NotFoundError("メッセージがありません。")
    if locked.send_status != EmailMessage.SendStatus.FAILED:
        raise ApplicationError("送信失敗のメッセージのみ再送できます。", extra={"send_status": locked.send_status})
    locked.send_status = EmailMessage.SendStatus.QUEUED
    locked.send_next_attempt_at = timezone.now()
    locked.save(update_fields=["send_status", "send_next_attempt_at"])
    audit_record(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        obj=locked,
        changes={"send_status": {"old": "failed", "new": "queued"}},
    )
    _enqueue_on_commit(locked.pk)
    return locked
