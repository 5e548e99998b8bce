"""Django admin for every helpdesk record, under the same rules as the API
(docs/permissions.md): permissions follow the roles; list columns mask personal
information; a record's page shows it only to roles that may see it, and each such view
is audit-logged; the audit trail is read-only; admins manage users and groups."""

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group

from helpdesk import pii
from helpdesk.models import (
    AgentProfile,
    Attachment,
    AuditEvent,
    CalendarDay,
    Call,
    Complaint,
    EmailMessage,
    Escalation,
    ImportReject,
    ImportRun,
    Inquiry,
    Role,
    SecurityIncident,
    ServiceHours,
)
from helpdesk.roles import can_see_pii, has_role, is_admin, is_staff_operator, is_supervisor
from helpdesk.services.audit import audit_pii_view


class RoleAdmin(admin.ModelAdmin):
    """View: agents, supervisors, admins (and reviewers where `reviewer_can_view`).
    Add/change/delete: admins. Django's per-model permission table is not consulted."""

    reviewer_can_view = False
    pii_fields: tuple[str, ...] = ()
    show_full_result_count = False  # no second COUNT(*) over millions of rows

    def has_view_permission(self, request, obj=None):
        user = request.user
        return is_staff_operator(user) or (self.reviewer_can_view and has_role(user, Role.REVIEWER))

    def has_module_permission(self, request):
        return self.has_view_permission(request)

    def has_add_permission(self, request):
        return is_admin(request.user)

    def has_change_permission(self, request, obj=None):
        return is_admin(request.user)

    def has_delete_permission(self, request, obj=None):
        return is_admin(request.user)

    def get_exclude(self, request, obj=None):
        excluded = list(super().get_exclude(request, obj) or ())
        if not can_see_pii(request.user):
            excluded += [f for f in self.pii_fields if f not in excluded]
        return excluded

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if not can_see_pii(request.user):
            readonly = [f for f in readonly if f not in self.pii_fields]
        return readonly

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        if self.pii_fields and request.method == "GET" and response.status_code == 200 and can_see_pii(request.user):
            obj = self.get_object(request, object_id)
            shown = [f for f in self.pii_fields if obj is not None and getattr(obj, f, None)]
            if shown:
                audit_pii_view(actor=request.user, obj=obj, fields=shown, note="admin change view")
        return response


def masked(field: str, mask, description: str):
    def column(obj):
        return mask(getattr(obj, field))

    column.short_description = description  # type: ignore[attr-defined]
    return column


@admin.register(Inquiry)
class InquiryAdmin(RoleAdmin):
    pii_fields = ("requester_name", "requester_email", "requester_phone", "requester_organization", "body")
    list_display = (
        "ref",
        "channel",
        "status",
        "category",
        "subject",
        masked("requester_name", pii.mask_name, "氏名"),
        masked("requester_email", pii.mask_email, "メール"),
        masked("requester_phone", pii.mask_phone, "電話"),
        "assigned_to",
        "received_at",
    )
    list_filter = ("status", "channel", "category")
    list_select_related = ("assigned_to",)
    search_fields = ("ref",)
    date_hierarchy = "received_at"
    raw_id_fields = ("assigned_to", "call", "source_message", "created_by")
    readonly_fields = ("version", "created_by", "created_at", "updated_at")


@admin.register(Call)
class CallAdmin(RoleAdmin):
    pii_fields = ("caller",)
    list_display = (
        "call_id",
        "arrived_at",
        masked("caller", pii.mask_phone, "発信者番号"),
        "outcome",
        "in_service_hours",
        "queue",
        "agent",
    )
    list_filter = ("outcome", "in_service_hours", "source")
    search_fields = ("call_id", "agent")
    date_hierarchy = "arrived_at"
    readonly_fields = ("content_hash", "created_at", "updated_at")


class AttachmentInline(admin.TabularInline):
    model = Attachment
    fields = ("filename", "content_type", "size", "truncated")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return is_staff_operator(request.user)


@admin.register(EmailMessage)
class EmailMessageAdmin(RoleAdmin):
    pii_fields = ("from_address", "from_name", "to_addresses", "body_text", "body_html")
    list_display = (
        "message_id",
        "direction",
        masked("from_address", pii.mask_email, "差出人"),
        "subject",
        "received_at",
        "send_status",
    )
    list_filter = ("direction", "source", "send_status", "charset_problem")
    search_fields = ("message_id",)
    date_hierarchy = "received_at"
    raw_id_fields = ("inquiry",)
    readonly_fields = ("created_at",)
    inlines = [AttachmentInline]


@admin.register(Attachment)
class AttachmentAdmin(RoleAdmin):
    list_display = ("filename", "content_type", "size", "truncated", "message")
    raw_id_fields = ("message",)
    exclude = ("content",)  # bytes are served to staff by the mail area's download view


@admin.register(Escalation)
class EscalationAdmin(RoleAdmin):
    list_display = ("inquiry", "target", "organization", "escalated_at", "returned_at", "escalated_by")
    list_filter = ("target",)
    list_select_related = ("inquiry", "escalated_by")
    search_fields = ("inquiry__ref",)
    raw_id_fields = ("inquiry", "requested_by", "escalated_by")


@admin.register(Complaint)
class ComplaintAdmin(RoleAdmin):
    list_display = ("inquiry", "received_at", "cause", "confirmed_by", "confirmed_at")
    list_filter = ("cause",)
    list_select_related = ("inquiry", "confirmed_by")
    search_fields = ("inquiry__ref",)
    raw_id_fields = ("inquiry", "recorded_by", "confirmed_by")


@admin.register(SecurityIncident)
class SecurityIncidentAdmin(RoleAdmin):
    """Reviewers read the register (a contract metric) without the description."""

    reviewer_can_view = True
    pii_fields = ("description",)
    list_display = ("occurred_at", "detected_at", "severity", "kind", "reported_by")
    list_filter = ("severity", "kind")
    raw_id_fields = ("reported_by",)

    def has_view_permission(self, request, obj=None):
        return is_admin(request.user) or has_role(request.user, Role.REVIEWER)


@admin.register(ServiceHours)
class ServiceHoursAdmin(RoleAdmin):
    reviewer_can_view = True
    list_display = ("weekday", "opens_at", "closes_at")


@admin.register(CalendarDay)
class CalendarDayAdmin(RoleAdmin):
    reviewer_can_view = True
    list_display = ("date", "kind", "opens_at", "closes_at", "note")
    list_filter = ("kind",)


@admin.register(AgentProfile)
class AgentProfileAdmin(RoleAdmin):
    list_display = ("user", "pbx_login")
    search_fields = ("pbx_login", "user__username")
    raw_id_fields = ("user",)


class ImportRejectInline(admin.TabularInline):
    model = ImportReject
    fields = ("source_name", "line", "offset", "reason")
    readonly_fields = fields
    extra = 0
    can_delete = False
    max_num = 0
    show_change_link = True


@admin.register(ImportRun)
class ImportRunAdmin(RoleAdmin):
    list_display = ("kind", "source_name", "status", "started_at", "finished_at", "summary")
    list_filter = ("kind", "status")
    inlines = [ImportRejectInline]


@admin.register(ImportReject)
class ImportRejectAdmin(RoleAdmin):
    # `raw` (the rejected bytes, which may hold a number or an address) is not editable, so
    # the admin never shows it.
    list_display = ("run", "source_name", "line", "offset", "reason")
    raw_id_fields = ("run",)


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Append-only: nobody adds, edits or deletes rows here (a PostgreSQL trigger refuses
    it too). Supervisors and admins read it."""

    list_display = ("at", "actor_label", "action", "object_type", "object_id", "note")
    list_filter = ("action", "object_type")
    search_fields = ("object_id", "actor_label")
    date_hierarchy = "at"
    show_full_result_count = False

    def has_view_permission(self, request, obj=None):
        return is_supervisor(request.user)

    def has_module_permission(self, request):
        return self.has_view_permission(request)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# --- users and groups: the admin role manages them ------------------------------------------


class AdminRoleOnly:
    def has_view_permission(self, request, obj=None):
        return is_admin(request.user)

    def has_module_permission(self, request):
        return is_admin(request.user)

    def has_add_permission(self, request):
        return is_admin(request.user)

    def has_change_permission(self, request, obj=None):
        return is_admin(request.user)

    def has_delete_permission(self, request, obj=None):
        return is_admin(request.user)


User = get_user_model()
for model in (User, Group):
    if admin.site.is_registered(model):
        admin.site.unregister(model)


@admin.register(User)
class HelpdeskUserAdmin(AdminRoleOnly, UserAdmin):
    list_display = ("username", "email", "is_active", "is_staff", "last_login")


@admin.register(Group)
class HelpdeskGroupAdmin(AdminRoleOnly, GroupAdmin):
    pass


# --- models added by other areas without an admin of their own ------------------------------


class FallbackAdmin(admin.ModelAdmin):
    """Read-only, admins only. What such a record holds is not known here, so opening one is
    audit-logged as a view of personal information; its area should add a proper admin."""

    show_full_result_count = False

    def has_view_permission(self, request, obj=None):
        return is_admin(request.user)

    def has_module_permission(self, request):
        return is_admin(request.user)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        obj = self.get_object(request, object_id) if response.status_code == 200 else None
        if obj is not None:
            audit_pii_view(actor=request.user, obj=obj, fields=["*"], note="admin change view (fallback)")
        return response


def register_remaining_helpdesk_models() -> None:
    from django.apps import apps

    for model in apps.get_app_config("helpdesk").get_models():
        if not admin.site.is_registered(model):
            admin.site.register(model, FallbackAdmin)


register_remaining_helpdesk_models()
