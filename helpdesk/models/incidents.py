import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q


class SecurityIncident(models.Model):
    """An information-security incident. Major ones are the contract's sixth metric
    (kpi.md §6), bucketed by when they occurred."""

    class Severity(models.TextChoices):
        MAJOR = "major", "重大"
        MINOR = "minor", "軽微"

    class Kind(models.TextChoices):
        """Suggested kinds. `kind` is free text (a handover file may carry any kind): these
        are what the product offers, and what `get_kind_display` translates."""

        PERSONAL_INFORMATION = "personal_information", "個人情報の漏えい"
        FACILITY_INFORMATION = "facility_information", "施設情報の漏えい"
        OTHER_INFORMATION = "other_information", "その他業務上知り得た情報の漏えい"
        OTHER = "other", "その他"

    occurred_at = models.DateTimeField(db_index=True)
    # Natural key across instances (contractor handover): stays with the record when exported.
    handover_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    detected_at = models.DateTimeField()
    severity = models.CharField(max_length=8, choices=Severity.choices)
    # Free text, no `choices`: a kind outside the suggested list is kept as written.
    kind = models.CharField(max_length=200, default=Kind.OTHER)
    description = models.TextField(blank=True)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(severity__in=["major", "minor"]), name="incident_severity_valid"),
            models.CheckConstraint(
                condition=Q(detected_at__gte=F("occurred_at")), name="incident_detected_after_occurred"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d} {self.severity} {self.kind}"

    def get_kind_display(self) -> str:
        """The Japanese label of a suggested kind; any other kind as written."""
        try:
            return str(self.Kind(self.kind).label)
        except ValueError:
            return self.kind
