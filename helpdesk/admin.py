"""Django admin for every helpdesk record, under the same rules as the API
(docs/permissions.md): permissions are the role groups' Django permissions
(helpdesk.roles.ROLE_PERMISSIONS); list columns mask personal information; a record's page
shows it only to roles that may see it, and each such view is audit-logged; every save and
delete goes through the services, and a field that feeds a contract figure is changed only
by an audited correction with a reason (helpdesk.corrections); KPI records are
never deleted; the audit trail is read-only; admins manage users."""

from typing import Any

from django import forms
from django.apps import apps
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect

from helpdesk import corrections, pii
from helpdesk.accounts import staff_users
from helpdesk.admin_writes import CorrectionForm, ServiceWriteAdmin, error_text
from helpdesk.audit import audit_pii_view
from helpdesk.canned import admin as _canned_admin  # noqa: F401  (registers canned responses)
from helpdesk.complaints.services import complaint_classify, complaint_record
from helpdesk.errors import ApplicationError
from helpdesk.escalations.services import escalation_create, escalation_record_return
from helpdesk.incidents.services import security_incident_create
from helpdesk.inquiries.services import (
    UPDATABLE_FIELDS,
    inquiry_assign,
    inquiry_create,
    inquiry_transition,
    inquiry_update,
)
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
from helpdesk.roles import can_see_pii, is_admin


class RoleAdmin(ServiceWriteAdmin):
    """Who may view, add and change follows the role groups' Django permissions
    (helpdesk.roles.ROLE_PERMISSIONS). Personal-information fields are hidden from roles that
    may not see them; a page that shows them is audit-logged."""

    pii_fields: tuple[str, ...] = ()
    show_full_result_count = False  # no second COUNT(*) over millions of rows

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


class ReadOnlyRecordAdmin(RoleAdmin):
    """Written only by their own process (imports, mail intake): viewed here, never edited."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def masked(field: str, mask, description: str):
    def column(obj):
        return mask(getattr(obj, field))

    column.short_description = description  # type: ignore[attr-defined]
    return column


class InquiryForm(CorrectionForm):
    # The version the page was read at: a save over someone else's change (API, another
    # admin) is refused instead of silently overwriting it.
    read_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not self.instance._state.adding:
            self.fields["read_version"].initial = self.instance.version

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        read = cleaned.get("read_version")
        if read is not None and read != self.instance.version:
            raise ValidationError("この問い合わせは他のユーザーによって更新されています。再読み込みしてください。")
        status = cleaned.get("status")
        moved = not self.instance._state.adding and "status" in self.changed_data and status
        if moved and status is not None and not self.instance.can_transition_to(status):
            self.add_error(
                "status",
                f"「{self.instance.get_status_display()}」から「{Inquiry.Status(status).label}」へは変更できません。",
            )
        return cleaned


@admin.register(Inquiry)
class InquiryAdmin(RoleAdmin):
    """Status moves go through the workflow (inquiry_transition), assignment through
    inquiry_assign, text through inquiry_update; times, channel, the call and 所管府省案内 are
    contract fields, corrected with a reason."""

    form = InquiryForm
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
    raw_id_fields = ("assigned_to", "call", "source_message")
    readonly_fields = ("ref", "version", "created_by", "created_at", "updated_at")
    exclude = ("idempotency_key",)

    def write_change(self, request, current, data, reason):
        actor = request.user
        status = data.pop("status", None)
        assign = "assigned_to" in data
        assignee = data.pop("assigned_to", None)
        contract = {f: v for f, v in data.items() if f in corrections.contract_fields(Inquiry)}
        text = {f: v for f, v in data.items() if f in UPDATABLE_FIELDS and f not in contract}
        other = {f: v for f, v in data.items() if f not in contract and f not in text}
        if contract or other:
            current = corrections.record_correct(obj=current, actor=actor, data={**contract, **other}, reason=reason)
        if text:
            current = inquiry_update(inquiry=current, actor=actor, data=text, expected_version=None)
        if assign:
            current = inquiry_assign(inquiry=current, actor=actor, assignee=assignee)
        if status:
            current = inquiry_transition(inquiry=current, actor=actor, status=status)
        return current

    def write_add(self, request, data, reason):
        status = data.pop("status", Inquiry.Status.NEW)
        inquiry = inquiry_create(created_by=request.user, **data)
        if status != inquiry.status:
            inquiry = inquiry_transition(inquiry=inquiry, actor=request.user, status=status)
        return inquiry


@admin.register(Call)
class CallAdmin(RoleAdmin):
    """Calls come from the PBX imports: not added here; every field but the caller's number
    feeds a figure and is corrected with a reason."""

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
    readonly_fields = ("call_id", "source", "content_hash", "text_digest", "created_at", "updated_at")

    def has_add_permission(self, request):
        return False


class AttachmentInline(admin.TabularInline):
    model = Attachment
    fields = ("filename", "content_type", "size", "truncated")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(EmailMessage)
class EmailMessageAdmin(RoleAdmin):
    """Mail comes from intake and the outbox: not added here, the outbox state is not edited
    by hand; direction, times, threading and the inquiry link are contract fields."""

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
    readonly_fields = (
        "message_id",
        "source",
        "send_status",
        "send_attempts",
        "last_send_error",
        "send_next_attempt_at",
        "send_claimed_at",
        "created_at",
    )
    inlines = [AttachmentInline]

    def has_add_permission(self, request):
        return False


@admin.register(Attachment)
class AttachmentAdmin(ReadOnlyRecordAdmin):
    list_display = ("filename", "content_type", "size", "truncated", "message")
    raw_id_fields = ("message",)
    exclude = ("content",)  # bytes are served to staff by the mail area's download view


@admin.register(Escalation)
class EscalationAdmin(RoleAdmin):
    """Added through escalation_create (the inquiry moves to 「エスカレーション中」) and its
    answer through escalation_record_return; target, times and inquiry are corrected with a
    reason afterwards."""

    list_display = ("inquiry", "target", "organization", "escalated_at", "returned_at", "escalated_by")
    list_filter = ("target",)
    list_select_related = ("inquiry", "escalated_by")
    search_fields = ("inquiry__ref",)
    raw_id_fields = ("inquiry",)
    readonly_fields = ("requested_by", "escalated_by", "created_at")

    def write_add(self, request, data, reason):
        escalation = escalation_create(
            inquiry=data["inquiry"],
            actor=request.user,
            target=data["target"],
            note=data.get("note", ""),
            organization=data.get("organization", ""),
            escalated_at=data.get("escalated_at"),
        )
        if data.get("returned_at"):
            escalation = escalation_record_return(
                escalation=escalation,
                actor=request.user,
                answer=data.get("answer", ""),
                returned_at=data["returned_at"],
            )
        return escalation


@admin.register(Complaint)
class ComplaintAdmin(RoleAdmin):
    """Recorded through complaint_record and, when a cause is given, confirmed through
    complaint_classify; cause and confirmation are corrected with a reason afterwards."""

    list_display = ("inquiry", "received_at", "cause", "confirmed_by", "confirmed_at")
    list_filter = ("cause",)
    list_select_related = ("inquiry", "confirmed_by")
    search_fields = ("inquiry__ref",)
    raw_id_fields = ("inquiry", "confirmed_by")
    readonly_fields = ("recorded_by", "created_at")

    def write_add(self, request, data, reason):
        complaint = complaint_record(
            inquiry=data["inquiry"],
            actor=request.user,
            description=data.get("description", ""),
            received_at=data.get("received_at"),
        )
        if data.get("cause", Complaint.Cause.UNCONFIRMED) != Complaint.Cause.UNCONFIRMED:
            complaint = complaint_classify(
                complaint=complaint, actor=request.user, cause=data["cause"], confirmed_at=data.get("confirmed_at")
            )
        return complaint


@admin.register(SecurityIncident)
class SecurityIncidentAdmin(RoleAdmin):
    """Reviewers read the register (a contract metric) without the description. Severity and
    occurrence time are corrected with a reason; the description is audited as changed,
    without its text."""

    pii_fields = ("description",)
    list_display = ("occurred_at", "detected_at", "severity", "kind", "reported_by")
    list_filter = ("severity", "kind")
    readonly_fields = ("reported_by", "created_at")

    def write_add(self, request, data, reason):
        return security_incident_create(actor=request.user, **data)


@admin.register(ServiceHours)
class ServiceHoursAdmin(RoleAdmin):
    """The regular week decides which calls are in service hours: every change is a
    correction with a reason, and the calls are reclassified after commit."""

    list_display = ("weekday", "opens_at", "closes_at")


@admin.register(CalendarDay)
class CalendarDayAdmin(RoleAdmin):
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
class ImportRunAdmin(ReadOnlyRecordAdmin):
    list_display = ("kind", "source_name", "status", "started_at", "finished_at", "summary")
    list_filter = ("kind", "status")
    inlines = [ImportRejectInline]


@admin.register(ImportReject)
class ImportRejectAdmin(ReadOnlyRecordAdmin):
    # `raw` (the rejected bytes, which may hold a number or an address) is not editable, so
    # the admin never shows it.
    list_display = ("run", "source_name", "line", "offset", "reason")
    raw_id_fields = ("run",)


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Append-only: nobody adds, edits or deletes rows here (a PostgreSQL trigger refuses
    it too). Supervisors and admins read it (permission `helpdesk.view_auditevent`)."""

    list_display = ("at", "actor_label", "action", "object_type", "object_id", "note")
    list_filter = ("action", "object_type")
    search_fields = ("object_id", "actor_label")
    date_hierarchy = "at"
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# --- users and groups: the admin role manages users; a role's permissions are declared in
# helpdesk.roles.ROLE_PERMISSIONS, so groups are read-only here ------------------------------


User = get_user_model()
for model in (User, Group):
    if admin.site.is_registered(model):
        admin.site.unregister(model)


@admin.register(User)
class HelpdeskUserAdmin(UserAdmin):
    """Account changes and role grants are audit-logged (helpdesk.accounts.staff_users)."""

    list_display = ("username", "email", "is_active", "is_staff", "last_login")

    def save_model(self, request, obj, form, change):
        staff_users.staff_user_save(actor=request.user, user=obj, fields=form.changed_data)

    def save_related(self, request, form, formsets, change):
        data = form.cleaned_data
        staff_users.staff_user_set_access(
            actor=request.user,
            user=form.instance,
            groups=data.get("groups"),
            permissions=data.get("user_permissions"),
        )
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def delete_model(self, request, obj):
        staff_users.staff_user_delete(actor=request.user, user=obj)

    def user_change_password(self, request, id, form_url=""):
        response = super().user_change_password(request, id, form_url)
        if request.method == "POST" and response.status_code == 302:
            staff_users.staff_user_password_changed(actor=request.user, user=self.get_object(request, id))
        return response

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ApplicationError as exc:
            self.message_user(request, error_text(exc), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:  # an admin does not make superusers or grant ad hoc rights
            readonly += ["is_superuser", "user_permissions"]
        return readonly


@admin.register(Group)
class HelpdeskGroupAdmin(GroupAdmin):
    def get_readonly_fields(self, request, obj=None):
        return ["name", "permissions"] if obj is not None and obj.name in Role.values else []


# --- models added by other areas without an admin of their own ------------------------------


class FallbackAdmin(admin.ModelAdmin):
    """Read-only, admins only. What such a record holds is not known here, so opening one is
    audit-logged as a view of personal information; its area should add a proper admin."""

    show_full_result_count = False

    def has_view_permission(self, request, obj=None):
        return is_admin(request.user) and super().has_view_permission(request, obj)

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
    for model in apps.get_app_config("helpdesk").get_models():
        if not admin.site.is_registered(model):
            admin.site.register(model, FallbackAdmin)


register_remaining_helpdesk_models()
