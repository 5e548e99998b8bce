"""Admin of canned responses: admins maintain them here; every save and delete goes through
helpdesk.canned.services (admins only, variables checked, audited)."""

from django.contrib import admin

from helpdesk.admin_writes import ServiceWriteAdmin
from helpdesk.canned import services
from helpdesk.models import CannedResponse


@admin.register(CannedResponse)
class CannedResponseAdmin(ServiceWriteAdmin):
    list_display = ("title", "category", "active", "order", "updated_at")
    list_filter = ("active", "category")
    search_fields = ("title", "body")
    fields = ("title", "body", "category", "active", "order")

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        names = " ".join("{" + name + "}" + f"（{label}）" for name, (label, _) in services.VARIABLES.items())
        if "body" in form.base_fields:
            form.base_fields["body"].help_text = f"使える変数: {names}"
        return form

    def write_add(self, request, data, reason):
        return services.canned_response_create(actor=request.user, data=data)

    def write_change(self, request, current, data, reason):
        return services.canned_response_update(canned=current, actor=request.user, data=data)

    def write_delete(self, request, obj, reason):
        services.canned_response_delete(canned=obj, actor=request.user)
