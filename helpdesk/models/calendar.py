from django.db import models
from django.db.models import F, Q


class ServiceHours(models.Model):
    """Regular opening hours per weekday (0 = Monday). A weekday with no row is closed.
    Default (data migration): Monday–Friday 9:00–17:00 Tokyo time."""

    weekday = models.PositiveSmallIntegerField(unique=True)
    opens_at = models.TimeField()
    closes_at = models.TimeField()

    class Meta:
        ordering = ["weekday"]
        verbose_name_plural = "service hours"
        constraints = [
            models.CheckConstraint(condition=Q(weekday__lte=6), name="servicehours_weekday_range"),
            models.CheckConstraint(condition=Q(closes_at__gt=F("opens_at")), name="servicehours_closes_after_opens"),
        ]

    def __str__(self) -> str:
        return f"{self.weekday}: {self.opens_at:%H:%M}–{self.closes_at:%H:%M}"


class CalendarDay(models.Model):
    """An exception to the regular week: a special opening day (or extended hours) or an
    extra closure. National holidays and 12/29–1/3 come from `helpdesk.calendar`, not rows."""

    class Kind(models.TextChoices):
        OPEN = "open", "特別開庁日・延長"
        CLOSED = "closed", "臨時休業"

    date = models.DateField(unique=True)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    opens_at = models.TimeField(null=True, blank=True)
    closes_at = models.TimeField(null=True, blank=True)
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["date"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="closed")
                | Q(opens_at__isnull=False, closes_at__isnull=False, closes_at__gt=F("opens_at")),
                name="calendarday_open_needs_hours",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.get_kind_display()}"
