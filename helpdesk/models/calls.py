from django.db import models
from django.db.models import F, Q


class Call(models.Model):
    """One inbound call as the PBX recorded it. `call_id` (the PBX's id; the Asterisk
    uniqueid) is the idempotency key of every phone import."""

    class Outcome(models.TextChoices):
        ANSWERED = "answered", "応答"
        IVR_ABANDONED = "ivr_abandoned", "IVR放棄"
        QUEUE_ABANDONED = "queue_abandoned", "応答待ち放棄（切断）"
        QUEUE_TIMEOUT = "queue_timeout", "応答待ち放棄（タイムアウト）"
        QUEUE_EXIT_KEY = "queue_exit_key", "応答待ち放棄（キー操作）"
        QUEUE_EMPTY = "queue_empty", "応答待ち放棄（待機者なし）"
        OUT_OF_HOURS = "out_of_hours", "時間外"

    QUEUE_ABANDON_OUTCOMES = (
        Outcome.QUEUE_ABANDONED,
        Outcome.QUEUE_TIMEOUT,
        Outcome.QUEUE_EXIT_KEY,
        Outcome.QUEUE_EMPTY,
    )

    class Source(models.TextChoices):
        GENERIC = "generic", "汎用CSV"
        ASTERISK = "asterisk", "Asterisk"
        HANDOVER = "handover", "引継ぎ"

    # Unique through the `call_call_id_unique` constraint rather than unique=True, which on
    # PostgreSQL would add a second (varchar_pattern_ops) index no query uses: every import
    # pays for each index.
    call_id = models.CharField(max_length=128)
    # Indexed through `call_month_outcome` (arrived_at, outcome): a single-column index too
    # would only cost index maintenance on every import.
    arrived_at = models.DateTimeField()
    # Personal information: masked for roles that do not need it, never logged.
    caller = models.CharField(max_length=64, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    # Decided once at import: the PBX's own verdict when it gives one (out_of_hours, or
    # queued → in hours), else the service calendar. Re-run `calls_reclassify_service_hours`
    # after the calendar changes.
    in_service_hours = models.BooleanField(default=True)
    queue = models.CharField(max_length=64, blank=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    # Indexed through `call_agent_recent` (agent, -arrived_at).
    agent = models.CharField(max_length=64, blank=True)
    acw_seconds = models.PositiveIntegerField(null=True, blank=True)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.GENERIC)
    # Digest of the imported fields: lets a re-import say "unchanged" without comparing columns.
    content_hash = models.CharField(max_length=64, blank=True)
    # The generic row's text as read, bound to content_hash (phone/rules.py, "the text
    # digest"): a re-import of the same text is "unchanged" without typing or checking it.
    # NULL when unknown (other sources, the Python path); never indexed (read by call_id). An
    # md5 held as a uuid: 16 bytes a call.
    text_digest = models.UUIDField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-arrived_at", "-id"]
        indexes = [
            # Covering: the board's reads of a day's calls (kpi.today: answers per agent, the
            # latest wait's window, answering agents per half-hour) are index-only scans of the
            # day's range, not one random heap read per call (docs/desk-supervisor.md).
            models.Index(
                fields=["arrived_at", "outcome"],
                name="call_month_outcome",
                include=["id", "in_service_hours", "agent", "queued_at", "answered_at", "ended_at", "acw_seconds"],
            ),
            models.Index(fields=["agent", "-arrived_at"], name="call_agent_recent"),
            # The KPI's after-call work ends at the agent's next answered call (docs/kpi.md
            # §2): one seek per answered call here instead of a scan of the agent's history.
            models.Index(
                fields=["agent", "answered_at"], name="call_agent_answered", condition=Q(answered_at__isnull=False)
            ),
            # A day's §1/§2 aggregate also reads the calls answered in its ACW window
            # (kpi.metrics.next_answer_windowed): arrived_at OR answered_at, two index ranges.
            models.Index(fields=["answered_at"], name="call_answered_at", condition=Q(answered_at__isnull=False)),
        ]
        constraints = [
            models.UniqueConstraint(fields=["call_id"], name="call_call_id_unique"),
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True) | Q(ended_at__gte=F("arrived_at")),
                name="call_ends_after_arrival",
            ),
            models.CheckConstraint(
                condition=Q(queued_at__isnull=True) | Q(queued_at__gte=F("arrived_at")),
                name="call_queued_after_arrival",
            ),
            models.CheckConstraint(
                condition=~Q(outcome="answered") | Q(answered_at__isnull=False, answered_at__gte=F("arrived_at")),
                name="call_answered_has_answer_time",
            ),
            models.CheckConstraint(
                condition=Q(outcome="answered") | Q(answered_at__isnull=True),
                name="call_only_answered_has_answer_time",
            ),
            models.CheckConstraint(
                condition=~Q(outcome="out_of_hours") | Q(in_service_hours=False),
                name="call_out_of_hours_flag",
            ),
            models.CheckConstraint(
                condition=Q(
                    outcome__in=[
                        "answered",
                        "ivr_abandoned",
                        "queue_abandoned",
                        "queue_timeout",
                        "queue_exit_key",
                        "queue_empty",
                        "out_of_hours",
                    ]
                ),
                name="call_outcome_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.call_id} {self.outcome}"

    @property
    def connected_seconds(self) -> float | None:
        if self.answered_at and self.ended_at:
            return (self.ended_at - self.answered_at).total_seconds()
        return None
