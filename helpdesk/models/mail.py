from django.db import models
from django.db.models import Q


class EmailMessage(models.Model):
    """One mail message, inbound or outbound, kept byte for byte (`raw`) beside the decoded
    fields. `message_id` is the idempotency key of every mail import; a message without one
    gets a stable hash (`<sha256…@generated.invalid>`)."""

    class Direction(models.TextChoices):
        INBOUND = "inbound", "受信"
        OUTBOUND = "outbound", "送信"

    class Source(models.TextChoices):
        IMAP = "imap", "IMAP"
        FILE = "file", "ファイル取込"
        FORM = "form", "問合せフォーム"
        HELPDESK = "helpdesk", "ヘルプデスクから送信"
        HANDOVER = "handover", "引継ぎ"

    class SendStatus(models.TextChoices):
        """Outbox state of an outbound message written here (not of imported ones)."""

        NOT_APPLICABLE = "", "—"
        QUEUED = "queued", "送信待ち"
        SENDING = "sending", "送信中"
        SENT = "sent", "送信済"
        FAILED = "failed", "送信失敗（再試行中）"

    message_id = models.CharField(max_length=512, unique=True)
    direction = models.CharField(max_length=8, choices=Direction.choices)
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.FILE)
    inquiry = models.ForeignKey(
        "helpdesk.Inquiry", null=True, blank=True, on_delete=models.SET_NULL, related_name="messages"
    )
    # Personal information: addresses, names and bodies.
    from_address = models.CharField(max_length=320, blank=True)
    from_name = models.CharField(max_length=200, blank=True)
    to_addresses = models.TextField(blank=True)
    subject = models.CharField(max_length=998, blank=True)
    body_text = models.TextField(blank=True)
    body_html = models.TextField(blank=True)  # already sanitized; raw HTML stays only in `raw`
    in_reply_to = models.CharField(max_length=512, blank=True)
    references = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)  # Date: header
    received_at = models.DateTimeField(null=True, blank=True, db_index=True)
    raw = models.BinaryField()
    # Automatic acknowledgements are never answers (kpi.md §3).
    is_auto_acknowledgement = models.BooleanField(default=False)
    # Best-effort decode of a missing or mislabelled charset: flagged, not rejected.
    charset_problem = models.BooleanField(default=False)
    send_status = models.CharField(
        max_length=8, choices=SendStatus.choices, default=SendStatus.NOT_APPLICABLE, blank=True
    )
    send_attempts = models.PositiveSmallIntegerField(default=0)
    last_send_error = models.CharField(max_length=500, blank=True)
    # Outbox: when a queued/failed message is next due, and when a sender claimed it.
    send_next_attempt_at = models.DateTimeField(null=True, blank=True)
    send_claimed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [
            models.Index(fields=["inquiry", "direction", "sent_at"], name="email_inquiry_dir_sent"),
            models.Index(fields=["send_status"], name="email_send_status", condition=~Q(send_status="")),
            # The real answers (helpdesk.mail.selectors.mail_real_answers' filter): the board's
            # mail-waiting read anti-joins them from this index alone, not from the mail table.
            models.Index(
                fields=["inquiry", "sent_at"],
                name="email_real_answer",
                condition=Q(direction="outbound", is_auto_acknowledgement=False, send_status__in=["", "sent"])
                & Q(sent_at__isnull=False),
            ),
            # The same rows by sent time: the board's "answered by mail after the moment" reads
            # the answers sent after it (none for a live day) instead of every answer.
            models.Index(
                fields=["sent_at", "inquiry"],
                name="email_real_answer_sent",
                condition=Q(direction="outbound", is_auto_acknowledgement=False, send_status__in=["", "sent"])
                & Q(sent_at__isnull=False),
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(direction__in=["inbound", "outbound"]), name="email_direction_valid"),
            models.CheckConstraint(
                condition=Q(send_status="") | Q(direction="outbound"), name="email_only_outbound_is_sent"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.direction} {self.message_id}"


class Attachment(models.Model):
    """A file sent with a message (logs, screenshots). Served only to staff; size-capped at
    intake by HELPDESK_ATTACHMENT_MAX_BYTES (a larger one keeps its name and size, not bytes)."""

    message = models.ForeignKey(EmailMessage, on_delete=models.CASCADE, related_name="attachments")
    filename = models.CharField(max_length=255, blank=True)
    content_type = models.CharField(max_length=127, blank=True)
    size = models.PositiveBigIntegerField()
    content = models.BinaryField(null=True, blank=True)
    truncated = models.BooleanField(default=False)  # over the cap: bytes not kept

    def __str__(self) -> str:
        return self.filename or f"attachment {self.pk}"


class MailReference(models.Model):
    """One Message-ID that a message refers to (In-Reply-To and References), indexed so
    that a message arriving late finds the replies that were imported before it."""

    message = models.ForeignKey(EmailMessage, on_delete=models.CASCADE, related_name="reference_rows")
    referenced_message_id = models.CharField(max_length=512, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["message", "referenced_message_id"], name="mail_reference_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.message_id} -> {self.referenced_message_id}"


class ImapMailbox(models.Model):
    """Where IMAP intake stands in one server folder: its UIDVALIDITY and the highest UID
    whose message is committed here. A new UIDVALIDITY starts the folder over (Message-ID
    idempotency keeps that from duplicating anything)."""

    host = models.CharField(max_length=255)
    user = models.CharField(max_length=255)
    folder = models.CharField(max_length=255)
    uidvalidity = models.PositiveBigIntegerField(default=0)
    last_uid = models.PositiveBigIntegerField(default=0)
    last_polled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["host", "user", "folder"], name="imap_mailbox_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user}@{self.host}/{self.folder}"


class ImapReceipt(models.Model):
    """A server message (UIDVALIDITY, UID) whose row is committed here, written in the same
    transaction as the row: the proof that lets a restarted intake flag it without
    fetching it again."""

    mailbox = models.ForeignKey(ImapMailbox, on_delete=models.CASCADE, related_name="receipts")
    uidvalidity = models.PositiveBigIntegerField()
    uid = models.PositiveBigIntegerField()
    message = models.ForeignKey(EmailMessage, on_delete=models.CASCADE, related_name="imap_receipts")
    flagged = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["mailbox", "uidvalidity", "uid"], name="imap_receipt_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.mailbox_id}:{self.uidvalidity}:{self.uid}"
