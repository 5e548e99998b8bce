"""Admin of the staffing inputs: agents on shift per half-hour and the hourly cost. Saves and
deletes go through the audited services like every admin write (helpdesk.admin.ServiceWriteAdmin);
bulk changes come through `import_roster` (docs/staffing.md)."""

from django.contrib import admin

from helpdesk.admin_writes import ServiceWriteAdmin
from kpi.staffing.models import RosterSlot, StaffingCost


@admin.register(RosterSlot)
class RosterSlotAdmin(ServiceWriteAdmin):
    list_display = ("date", "starts_at", "agents", "source", "updated_at")
    list_filter = ("source",)
    date_hierarchy = "date"
    readonly_fields = ("source", "updated_at")


@admin.register(StaffingCost)
class StaffingCostAdmin(ServiceWriteAdmin):
    list_display = ("valid_from", "hourly_cost_yen", "note")
