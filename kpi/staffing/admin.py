from django.contrib import admin

from kpi.staffing.models import RosterSlot, StaffingCost


@admin.register(RosterSlot)
class RosterSlotAdmin(admin.ModelAdmin):
    """Agents on shift per half-hour; bulk changes go through `import_roster` (docs/staffing.md)."""

    list_display = ("date", "starts_at", "agents", "source", "updated_at")
    list_filter = ("source",)
    date_hierarchy = "date"
    readonly_fields = ("source", "updated_at")


@admin.register(StaffingCost)
class StaffingCostAdmin(admin.ModelAdmin):
    list_display = ("valid_from", "hourly_cost_yen", "note")
