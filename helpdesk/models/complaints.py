import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q


class Complaint(models.Model):
    """A complaint recorded against an inquiry. Only a confirmed `operator_error` (a cause
    with `confirmed_at`) counts toward the contract's complaint metric (docs/kpi.md §5)."""

    class Cause(models.TextChoices):
        OPERATOR_ERROR = "operator_error", "オペレーターの対応（受託者の責）"
        POLICY = "policy", "制度・施策"
        SYSTEM = "system", "e-Govシステム"
        UNCONFIRMED = "unconfirmed", "未確認"

    inquiry = models.ForeignKey("helpdesk.Inquiry", on_delete=models.CASCADE, related_name="complaints")
    # Natural key across instances (contractor handover): stays with the record when exported.
    handover_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    received_at = models.DateTimeField(db_index=True)
    cause = models.CharField(max_length=16, choices=Cause.choices, default=Cause.UNCONFIRMED)
    description = models.TextField(blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    confirmed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(cause__in=["operator_error", "policy", "system", "unconfirmed"]),
                name="complaint_cause_valid",
            ),
            # An unconfirmed cause carries no confirmation time. The other direction (a cause
            # without `confirmed_at`) is allowed: a handover file may name a cause that was never
            # confirmed (docs/handover.md). Such a cause is recorded, not counted: the KPI
            # counts operator errors that carry `confirmed_at` (kpi.metrics.complaint_count).
            models.CheckConstraint(
                condition=~Q(cause="unconfirmed") | Q(confirmed_at__isnull=True),
                name="complaint_unconfirmed_has_no_confirmation",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.inquiry_id} {self.cause}"
