"""The public web form: a submission becomes an email through the intake, like any other."""

from __future__ import annotations

import uuid
from email.message import EmailMessage as MimeMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from helpdesk.audit import audit_record
from helpdesk.inquiries.services import (
    inquiry_create,
)
from helpdesk.mail.intake import valid_email
from helpdesk.mail.outbox import outbox_acknowledge
from helpdesk.mail.parse.charsets import HEADER_BREAKS
from helpdesk.models import AuditEvent, EmailMessage, Inquiry


@transaction.atomic
def _require_single_line(**fields: str) -> None:
    """Fields that go into mail headers (From's name, Subject) or one line of the stored
    message hold no line break or NUL: a CR/LF there would forge a header of the
    acknowledgement (the rule: `HEADER_BREAKS`, every character `str.splitlines` splits on, NUL
    and the other controls but tab). A ValidationError naming each field (the API and the page
    say which)."""
    bad = {
        field: ["改行や制御文字は使えません。(no line breaks or control characters)"]
        for field, value in fields.items()
        if value and HEADER_BREAKS.search(value)
    }
    if bad:
        raise ValidationError(bad)


def inquiry_form_submit(
    *,
    name: str,
    email: str,
    subject: str,
    body: str,
    phone: str = "",
    organization: str = "",
) -> Inquiry:
    """A citizen's web-form submission: a `form` inquiry, with the submission kept as an
    inbound message (source=form) so replies thread to it, and the acknowledgement mail."""
    _require_single_line(name=name, subject=subject, phone=phone, organization=organization)

    now = timezone.now()
    email = email.strip().lower()
    domain = settings.HELPDESK_FROM_ADDRESS.rsplit("@", 1)[-1]
    mime = MimeMessage(policy=SMTP)
    message_id = f"<form.{uuid.uuid4().hex[:24]}@{domain}>"
    mime["Message-ID"] = message_id
    mime["Date"] = format_datetime(timezone.localtime(now))
    mime["From"] = formataddr((name, email))
    mime["To"] = settings.HELPDESK_FROM_ADDRESS
    mime["Subject"] = subject
    mime["X-EG-Source"] = "web-form"
    lines = [body]
    if phone or organization:
        lines += ["", "--", f"電話番号: {phone}" if phone else "", f"所属: {organization}" if organization else ""]
    mime.set_content("\n".join(line for line in lines if line is not None), charset="utf-8", cte="base64")
    message = EmailMessage.objects.create(
        message_id=message_id,
        direction=EmailMessage.Direction.INBOUND,
        source=EmailMessage.Source.FORM,
        from_address=email,
        from_name=name[:200],
        to_addresses=settings.HELPDESK_FROM_ADDRESS,
        subject=subject[:998],
        body_text=body,
        sent_at=now,
        received_at=now,
        raw=mime.as_bytes(),
    )
    inquiry = inquiry_create(
        channel=Inquiry.Channel.FORM,
        received_at=now,
        subject=subject[:255],
        body=body,
        requester_name=name[:200],
        requester_email=valid_email(email),
        requester_phone=phone[:64],
        requester_organization=organization[:200],
        source_message=message,
    )
    audit_record(
        actor=None,
        action=AuditEvent.Action.CREATE,
        obj=message,
        changes={"direction": "inbound", "source": "form", "inquiry": inquiry.ref},
    )
    outbox_acknowledge(inquiry=inquiry, in_reply_to=message)
    return inquiry
