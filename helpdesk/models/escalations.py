import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q


class Escalation(models.Model):
    """A hand-over of an inquiry. `internal` is agent → supervisor inside the contractor;
    every other target is an organization outside it and counts against first-contact
    resolution (kpi.md §4); handovers to the responsible section or its designee also take
    the inquiry out of the email response-time population (kpi.md §3)."""

    class Target(models.TextChoices):
        INTERNAL = "internal", "SV（受託者内）"
        RESPONSIBLE_SECTION = "responsible_section", "主管係"
        RESPONSIBLE_SECTION_DESIGNEE = "responsible_section_designee", "主管係が指定する者"
        OPERATIONS_VENDOR = "operations_vendor", "運用保守事業者"
        OTHER_EXTERNAL = "other_external", "その他の外部機関"

    EXTERNAL_TARGETS = (
        Target.RESPONSIBLE_SECTION,
        Target.RESPONSIBLE_SECTION_DESIGNEE,
        Target.OPERATIONS_VENDOR,
        Target.OTHER_EXTERNAL,
    )
    RESPONSIBLE_SECTION_TARGETS = (Target.RESPONSIBLE_SECTION, Target.RESPONSIBLE_SECTION_DESIGNEE)

    inquiry = models.ForeignKey("helpdesk.Inquiry", on_delete=models.CASCADE, related_name="escalations")
    # Natural key across instances (contractor handover): stays with the record when exported.
    handover_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    target = models.CharField(max_length=32, choices=Target.choices, db_index=True)
    organization = models.CharField(max_length=200, blank=True)  # which section / company
    escalated_at = models.DateTimeField()
    returned_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True)
    answer = models.TextField(blank=True)  # what the other party answered
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    escalated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-escalated_at", "-id"]
        indexes = [
            models.Index(fields=["inquiry", "target"], name="escalation_inquiry_target"),
            # The supervisor's board: the open ones, oldest first, and their counts by kind and
            # age — read from this index alone, however many have been answered (bench_board.py)
            models.Index(
                fields=["escalated_at", "id", "target"],
                name="escalation_open_oldest",
                condition=Q(returned_at__isnull=True),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    target__in=[
                        "internal",
                        "responsible_section",
                        "responsible_section_designee",
                        "operations_vendor",
                        "other_external",
                    ]
                ),
                name="escalation_target_valid",
            ),
            models.CheckConstraint(
                condition=Q(returned_at__isnull=True) | Q(returned_at__gte=F("escalated_at")),
                name="escalation_returned_after_escalated",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.inquiry_id} → {self.target}"

    @property
    def is_external(self) -> bool:
        return self.target != self.Target.INTERNAL
