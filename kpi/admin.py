"""Django admin of the contract settings (targets, busy-month calendar) and the published
snapshots. Every field of a setting feeds a figure, so each add, change and removal is an
audited correction with a required reason (kpi.contract_settings); snapshots are read-only
and published through the action below or the API."""

from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.db.models import Model, QuerySet
from django.http import HttpRequest

from helpdesk.admin_writes import ServiceWriteAdmin
from helpdesk.clock import Month
from kpi import contract_settings, services
from kpi.models import FiscalMonthPeriod, KpiSnapshot, KpiTarget


class ContractSettingAdmin(ServiceWriteAdmin):
    def write_change(self, request: HttpRequest, current: Model, data: dict[str, Any], reason: str) -> Model:
        return contract_settings.kpi_setting_correct(obj=current, actor=request.user, data=data, reason=reason)

    def write_add(self, request: HttpRequest, data: dict[str, Any], reason: str) -> Model:
        return contract_settings.kpi_setting_create(model=self.model, actor=request.user, data=data, reason=reason)

    def write_delete(self, request: HttpRequest, obj: Model, reason: str) -> None:
        contract_settings.kpi_setting_delete(obj=obj, actor=request.user, reason=reason)


@admin.register(KpiTarget)
class KpiTargetAdmin(ContractSettingAdmin):
    # Columns from the model, so a target added later (e.g. the ACW limit) shows up too.
    readonly_fields = ("created_at", "updated_at")

    def get_list_display(self, request: HttpRequest) -> list[str | Callable[[Any], str | bool]]:
        skip = {"id", "created_at", "updated_at"}
        return [f.name for f in KpiTarget._meta.concrete_fields if f.name not in skip]


@admin.register(FiscalMonthPeriod)
class FiscalMonthPeriodAdmin(ContractSettingAdmin):
    list_display = ("fiscal_year", "month", "period_type", "note")
    list_filter = ("fiscal_year", "period_type")


@admin.register(KpiSnapshot)
class KpiSnapshotAdmin(admin.ModelAdmin):
    """Read-only: snapshots are published through the action below or the API."""

    list_display = ("month", "version", "published_at", "published_by", "note")
    list_filter = ("month",)
    readonly_fields = ("month", "version", "data", "published_at", "published_by", "note")
    actions = ["republish"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: KpiSnapshot | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: KpiSnapshot | None = None) -> bool:
        return False

    @admin.action(description="選択した月の現在値を新しい版として公表する", permissions=["publish"])
    def republish(self, request: HttpRequest, queryset: QuerySet[KpiSnapshot]) -> None:
        for month in sorted(set(queryset.values_list("month", flat=True))):
            snap = services.kpi_snapshot_publish(month=Month.parse(month), actor=request.user)
            self.message_user(request, f"{snap} を公表しました", messages.SUCCESS)

    def has_publish_permission(self, request: HttpRequest) -> bool:
        from helpdesk.roles import is_admin

        return is_admin(request.user)


from kpi.staffing import admin as _staffing_admin  # noqa: E402,F401 — registers the roster and cost
