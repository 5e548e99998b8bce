from django.contrib import admin, messages

from kpi import services
from kpi.metrics import Month
from kpi.models import FiscalMonthPeriod, KpiSnapshot, KpiTarget


@admin.register(KpiTarget)
class KpiTargetAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "valid_from",
        "valid_to",
        "answer_rate_normal",
        "answer_rate_busy",
        "aht_max_seconds",
        "email_max_seconds",
        "fcr_min",
        "complaints_limit",
        "incidents_max",
        "email_use_business_hours",
    )


@admin.register(FiscalMonthPeriod)
class FiscalMonthPeriodAdmin(admin.ModelAdmin):
    list_display = ("fiscal_year", "month", "period_type", "note")
    list_filter = ("fiscal_year", "period_type")


@admin.register(KpiSnapshot)
class KpiSnapshotAdmin(admin.ModelAdmin):
    """Read-only: snapshots are published through the action below or the API."""

    list_display = ("month", "version", "published_at", "published_by", "note")
    list_filter = ("month",)
    readonly_fields = ("month", "version", "data", "published_at", "published_by", "note")
    actions = ["republish"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="選択した月の現在値を新しい版として公表する")
    def republish(self, request, queryset):
        for month in sorted(set(queryset.values_list("month", flat=True))):
            snap = services.kpi_snapshot_publish(month=Month.parse(month), actor=request.user)
            self.message_user(request, f"{snap} を公表しました", messages.SUCCESS)


from kpi.staffing import admin as _staffing_admin  # noqa: E402,F401 — registers the roster and cost
