"""KPI data an admin maintains (targets per contract period, the fiscal-year calendar of
busy months) and the immutable monthly snapshots. The figures themselves are never stored
by hand: `kpi.metrics` derives them from helpdesk records."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, NoReturn

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import F, Q


class PeriodType(models.TextChoices):
    NORMAL = "normal", "通常期"
    SEMI_BUSY = "semi_busy", "準繁忙期"
    BUSY = "busy", "繁忙期"


class KpiTarget(models.Model):
    """The contract's thresholds for one contract period [valid_from, valid_to). A new
    contract adds a row instead of rewriting history; a month uses the row covering its
    first day (defaults below when none does)."""

    name = models.CharField(max_length=100, help_text="例: 2024年度〜2026年度 契約")
    valid_from = models.DateField()
    valid_to = models.DateField(null=True, blank=True, help_text="この日を含まない。空欄は期限なし")
    answer_rate_normal = models.DecimalField(max_digits=4, decimal_places=3, default=Decimal("0.900"))
    answer_rate_busy = models.DecimalField(
        max_digits=4, decimal_places=3, default=Decimal("0.700"), help_text="繁忙期・準繁忙期"
    )
    aht_max_seconds = models.PositiveIntegerField(default=600, help_text="以下で達成")
    email_max_seconds = models.PositiveIntegerField(default=86400, help_text="未満で達成")
    fcr_min = models.DecimalField(max_digits=4, decimal_places=3, default=Decimal("0.800"))
    complaints_limit = models.PositiveIntegerField(default=15, help_text="未満で達成")
    incidents_max = models.PositiveIntegerField(default=0, help_text="以下で達成")
    acw_limit_seconds = models.PositiveIntegerField(
        default=1800,
        help_text="後処理時間の上限（秒）。PBXに後処理時間がない通話は、ラップアップ・同じオペレーターの次の応答・"
        "終話＋この秒数のうち最も早い時刻で後処理が終わる",
    )
    email_use_business_hours = models.BooleanField(
        default=False, help_text="メール平均回答時間の契約値をサービス時間ベースにする（既定は暦時間）"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-valid_from"]
        constraints = [
            models.UniqueConstraint(fields=["valid_from"], name="kpitarget_unique_start"),
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gt=F("valid_from")), name="kpitarget_valid_range"
            ),
            models.CheckConstraint(
                condition=Q(answer_rate_normal__gte=0, answer_rate_normal__lte=1)
                & Q(answer_rate_busy__gte=0, answer_rate_busy__lte=1)
                & Q(fcr_min__gte=0, fcr_min__lte=1),
                name="kpitarget_rates_in_range",
            ),
            # 0 would make every help-desk ACW 0 s: the limit exists to bound ACW, not to void it.
            models.CheckConstraint(condition=Q(acw_limit_seconds__gte=1), name="kpitarget_acw_limit_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.valid_from}〜{self.valid_to or ''})"

    def clean(self) -> None:
        if self.valid_from is None:  # the field's own error says so; no overlap to check
            return
        overlapping = KpiTarget.objects.exclude(pk=self.pk)
        if self.valid_to:
            overlapping = overlapping.filter(valid_from__lt=self.valid_to)
        overlapping = overlapping.filter(Q(valid_to__isnull=True) | Q(valid_to__gt=self.valid_from))
        if overlapping.exists():
            raise ValidationError({"valid_from": "他の契約期間と重複しています。"})


class FiscalMonthPeriod(models.Model):
    """The period type of one month of a fiscal year (April–March), as the admin sets it.
    A month with no row gets the default: 繁忙期 June–July, 準繁忙期 April–May, else 通常期."""

    fiscal_year = models.PositiveSmallIntegerField(help_text="年度（4月始まり）例: 2026")
    month = models.PositiveSmallIntegerField()
    period_type = models.CharField(max_length=16, choices=PeriodType.choices)
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["fiscal_year", "month"]
        constraints = [
            models.UniqueConstraint(fields=["fiscal_year", "month"], name="fiscalmonth_unique"),
            models.CheckConstraint(condition=Q(month__gte=1, month__lte=12), name="fiscalmonth_month_range"),
            models.CheckConstraint(
                condition=Q(period_type__in=["normal", "semi_busy", "busy"]), name="fiscalmonth_period_type_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.fiscal_year}年度 {self.month}月 {self.get_period_type_display()}"


class KpiSnapshot(models.Model):
    """A published month: the KPI JSON exactly as it was published. Immutable; publishing
    again adds version N+1."""

    month = models.CharField(max_length=7, help_text="YYYY-MM (Asia/Tokyo)")
    version = models.PositiveIntegerField()
    data = models.JSONField()
    published_at = models.DateTimeField()
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    note = models.CharField(max_length=255, blank=True)
    # The audit trail's chain head (last AuditEvent id and its chain_hash) when the figures
    # were computed: `verify_audit` checks the trail still holds that row with that hash, so
    # a trail rewritten after publication does not go unnoticed. Empty while the trail was.
    audit_head_id = models.BigIntegerField(null=True, blank=True, editable=False)
    audit_head_hash = models.CharField(max_length=64, blank=True, editable=False)

    class Meta:
        ordering = ["-month", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["month", "version"], name="kpisnapshot_unique_month_version"),
            models.CheckConstraint(condition=Q(month__regex=r"^\d{4}-(0[1-9]|1[0-2])$"), name="kpisnapshot_month_fmt"),
            models.CheckConstraint(condition=Q(version__gte=1), name="kpisnapshot_version_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.month} v{self.version}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Invariant, not business logic: a published snapshot never changes.
        if self.pk is not None and not self._state.adding:
            raise ValidationError("KPI snapshots are immutable; publish a new version instead.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise ValidationError("KPI snapshots are immutable and cannot be deleted.")


from kpi.staffing.models import RosterSlot, StaffingCost  # noqa: E402,F401 — staffing tables live in the kpi app


class KpiInputChange(models.Model):
    """One committed change to a table the KPI figures read (helpdesk records, calendar,
    targets, users and roles), written by database triggers (migration 0005), never by
    Python: no write path — ORM, bulk COPY, raw SQL, `QuerySet.update` — can miss it. The sum
    of `n` is the input version (`kpi.selectors.kpi_input_version`): it grows with every
    committed writing transaction, and since a row commits with the change it records, figures
    computed after reading version V saw at least the data of V. Insert-only (no contention
    between writers); `kpi_input_log_compact` folds old rows into one, keeping the sum."""

    id = models.BigAutoField(primary_key=True)
    n = models.BigIntegerField(default=1)
    # What the change touches (migration 0006; docs/desk-supervisor.md, "Per-day input
    # versions"): on PostgreSQL the record tables' triggers say which hours of which records
    # changed, so a day's figures go stale only when a record they read changed. SQLite's
    # triggers (row triggers, no transition tables) write GLOBAL rows only: every change
    # stales every day there (the simpler fallback).
    GLOBAL = "g"  # calendar, targets, users, roles, TRUNCATE: every day's figures read it
    CALL = "c"  # a call arriving or answered in the hour `at`, or its inquiry's wrap-up
    INQUIRY = "i"  # a mail-figure input of an inquiry received in the hour `at` (its stamps, mail, escalations)
    STATUS = "s"  # only the status (or other columns the mail figure does not read) of an inquiry received then
    OPEN = "o"  # some inquiry changed: the agents' open load (not a day's) may have
    kind = models.CharField(max_length=1, default=GLOBAL, db_default=GLOBAL)
    # The hour (UTC, truncated) of the record time the change touches; NULL for GLOBAL / OPEN.
    at = models.DateTimeField(null=True, blank=True)

    class Meta:
        # a day's version reads the rows of its hours by kind (`kpi_day_versions`)
        indexes = [models.Index(fields=["kind", "at"], include=["n"], name="kpiinputchange_kind_at")]

    def __str__(self) -> str:
        return f"{self.kind} {self.at or ''} +{self.n}"


class KpiDayFigures(models.Model):
    """A day's KPI figures for the supervisor's board (`kpi.today.day_figures`), computed off
    the request and valid only while the input version they were computed at is current."""

    date = models.DateField(unique=True)
    version = models.BigIntegerField()
    data = models.JSONField(encoder=DjangoJSONEncoder)
    # The moment the figures are of: computed then, or confirmed still current by the refresh task.
    computed_at = models.DateTimeField()
    # When a board last asked for this day (at most hourly): the days the refresh task keeps fresh.
    viewed_at = models.DateTimeField()
    compute_ms = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["viewed_at"], name="kpidayfigures_viewed")]

    def __str__(self) -> str:
        return f"{self.date} @ {self.version}"
