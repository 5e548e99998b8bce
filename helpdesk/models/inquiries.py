from django.conf import settings
from django.db import models
from django.db.models import F, Q, Value
from django.db.models.functions import Concat

from helpdesk.models.functions import Nfkc
from helpdesk.requesters import email_key_expression, phone_key_expression


class InquiryQuerySet(models.QuerySet):
    def open(self) -> "InquiryQuerySet":
        return self.exclude(status__in=[Inquiry.Status.RESOLVED, Inquiry.Status.CLOSED])

    def received_between(self, start, end) -> "InquiryQuerySet":
        return self.filter(received_at__gte=start, received_at__lt=end)


class Inquiry(models.Model):
    """One question from a citizen, whatever channel it came by. `ref` (`EG-…`) is the
    reference quoted to the citizen and in mail subjects."""

    class Channel(models.TextChoices):
        PHONE = "phone", "電話"
        EMAIL = "email", "メール"
        FORM = "form", "問合せフォーム"

    class Status(models.TextChoices):
        NEW = "new", "新規"
        IN_PROGRESS = "in_progress", "対応中"
        ESCALATED = "escalated", "エスカレーション中"
        ANSWERED = "answered", "回答済"
        RESOLVED = "resolved", "解決"
        CLOSED = "closed", "完了"

    # Allowed status moves; enforced by helpdesk.inquiries.services.inquiry_transition.
    TRANSITIONS: dict[str, tuple[str, ...]] = {
        Status.NEW: (Status.IN_PROGRESS, Status.ESCALATED, Status.ANSWERED, Status.RESOLVED, Status.CLOSED),
        Status.IN_PROGRESS: (Status.ESCALATED, Status.ANSWERED, Status.RESOLVED, Status.CLOSED),
        Status.ESCALATED: (Status.IN_PROGRESS, Status.ANSWERED, Status.RESOLVED),
        Status.ANSWERED: (Status.IN_PROGRESS, Status.RESOLVED, Status.CLOSED),
        Status.RESOLVED: (Status.IN_PROGRESS, Status.CLOSED),
        Status.CLOSED: (Status.IN_PROGRESS,),
    }

    ref = models.CharField(max_length=32, unique=True)
    channel = models.CharField(max_length=8, choices=Channel.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.NEW)
    category = models.CharField(max_length=64, blank=True, db_index=True)
    subject = models.CharField(max_length=255, blank=True)
    body = models.TextField(blank=True)  # the question (mail text or the agent's phone notes)
    resolution = models.TextField(blank=True)  # how it was answered, in the agent's words
    # 所管府省案内: the caller was told which ministry handles the procedure. Guidance, not a
    # handover, so it does not count against first-contact resolution (kpi.md §4).
    ministry_guidance = models.BooleanField(default=False)

    # Personal information (masked for roles that do not need it; views are audit-logged).
    requester_name = models.CharField(max_length=200, blank=True)
    requester_email = models.EmailField(max_length=254, blank=True)
    requester_phone = models.CharField(max_length=64, blank=True)
    requester_organization = models.CharField(max_length=200, blank=True)

    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="inquiries"
    )
    call = models.OneToOneField(
        "helpdesk.Call", null=True, blank=True, on_delete=models.PROTECT, related_name="inquiry"
    )
    # The message that opened an email inquiry; the whole thread is `messages`.
    source_message = models.OneToOneField(
        "helpdesk.EmailMessage", null=True, blank=True, on_delete=models.PROTECT, related_name="opened_inquiry"
    )

    received_at = models.DateTimeField()
    first_answered_at = models.DateTimeField(null=True, blank=True)
    wrapup_completed_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    # Optimistic concurrency: every update must name the version it read (If-Match / "version").
    version = models.PositiveIntegerField(default=1)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # `Idempotency-Key` header of the API create: a retried POST returns the stored inquiry.
    idempotency_key = models.CharField(max_length=128, blank=True, default="")
    # What the Japanese search reads: subject and body in NFKC form (text is stored as typed,
    # ｶﾅ and ＡＢＣ mixed in one word). Kept by the database on every write, COPY included;
    # a pg_trgm index on it serves `q` (migration 0010).
    search_text = models.GeneratedField(
        expression=Nfkc(Concat("subject", Value("\n"), "body", output_field=models.TextField())),
        output_field=models.TextField(),
        db_persist=True,
    )

    objects = InquiryQuerySet.as_manager()

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name_plural = "inquiries"
        indexes = [
            # status included: a day's inquiries by status (the board) are an index-only scan
            models.Index(fields=["-received_at", "-id"], name="inquiry_recent", include=["status"]),
            models.Index(fields=["status", "-received_at"], name="inquiry_status_recent"),
            # id and the answer stamp included: the board's mail waiting at a past day's end
            # reads its lookback's mail inquiries from the index alone (kpi.today.mail_waiting_at)
            models.Index(
                fields=["channel", "-received_at"], name="inquiry_channel_recent", include=["id", "first_answered_at"]
            ),
            # The §2 rule's wrap-up, looked up per call of a day (kpi.metrics.acw_inputs): the
            # phone inquiries' (call, wrap-up) pairs without their rows.
            models.Index(
                fields=["call"],
                name="inquiry_call_wrapup",
                include=["wrapup_completed_at"],
                condition=Q(call__isnull=False),
            ),
            models.Index(fields=["assigned_to", "-received_at"], name="inquiry_agent_recent"),
            # An agent's open queue (the API's most frequent list): only open rows, so it stays
            # small while resolved history grows into the millions.
            models.Index(
                fields=["assigned_to", "-received_at"],
                name="inquiry_agent_open_recent",
                condition=Q(status__in=["new", "in_progress", "escalated", "answered"]),
            ),
            # The desk's "due" list: open mail and form inquiries the 24 h target still runs
            # for (no answer stamped), by received time; it stays small whatever the history.
            models.Index(
                fields=["-received_at", "-id"],
                name="inquiry_mail_awaiting_answer",
                condition=Q(
                    channel__in=["email", "form"],
                    first_answered_at__isnull=True,
                    status__in=["new", "in_progress", "escalated", "answered"],
                ),
            ),
            # The supervisor's board: mail inquiries by their answer stamp, so the ones open at a
            # moment (no stamp, or a later one) are two index ranges (kpi.today.mail_open_at).
            models.Index(
                fields=["first_answered_at", "received_at"],
                name="inquiry_mail_answer_stamp",
                condition=Q(channel__in=["email", "form"]),
            ),
            # The requester's history on the desk's inquiry page: other inquiries from the
            # same address or number however written (helpdesk.requesters' keys), newest first,
            # over the rows that have one.
            models.Index(
                email_key_expression(),
                F("received_at").desc(),
                name="inquiry_requester_email_key",
                condition=~Q(requester_email=""),
            ),
            models.Index(
                phone_key_expression(),
                F("received_at").desc(),
                name="inquiry_requester_phone_key",
                condition=~Q(requester_phone=""),
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(channel__in=["phone", "email", "form"]), name="inquiry_channel_valid"),
            models.CheckConstraint(
                condition=Q(status__in=["new", "in_progress", "escalated", "answered", "resolved", "closed"]),
                name="inquiry_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(first_answered_at__isnull=True) | Q(first_answered_at__gte=F("received_at")),
                name="inquiry_answered_after_received",
            ),
            models.CheckConstraint(
                condition=Q(wrapup_completed_at__isnull=True) | Q(wrapup_completed_at__gte=F("received_at")),
                name="inquiry_wrapup_after_received",
            ),
            models.CheckConstraint(
                condition=Q(resolved_at__isnull=True) | Q(resolved_at__gte=F("received_at")),
                name="inquiry_resolved_after_received",
            ),
            models.CheckConstraint(condition=Q(version__gte=1), name="inquiry_version_positive"),
            models.CheckConstraint(
                condition=Q(call__isnull=True) | Q(channel="phone"), name="inquiry_call_only_for_phone"
            ),
            models.UniqueConstraint(
                fields=["created_by", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="inquiry_idempotency_key_per_user",
            ),
        ]

    def __str__(self) -> str:
        return self.ref

    def can_transition_to(self, status: str) -> bool:
        return status in self.TRANSITIONS.get(self.status, ())
