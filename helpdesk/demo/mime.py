"""One demo email as bytes, the way a real mailbox holds it (the seeder's mbox and the
agent desk's "today" mail both use it)."""

import datetime as dt
from email.message import EmailMessage as MimeMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr


def demo_mail(
    *,
    sender: tuple[str, str],
    to: str,
    subject: str,
    body: str,
    date: dt.datetime,
    charset: str,
    msgid: str,
    in_reply_to: str = "",
) -> bytes:
    msg = MimeMessage(policy=SMTP)
    msg["From"] = formataddr(sender)
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = msgid
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = in_reply_to
    try:
        msg.set_content(body, charset=charset)
    except UnicodeEncodeError:  # a character JIS X 0208 lacks: send it the modern way
        msg.set_content(body, charset="utf-8")
    return msg.as_bytes()
