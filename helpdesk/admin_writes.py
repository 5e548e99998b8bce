"""The base of every admin that writes records (helpdesk's, kpi's, faq's, the canned
responses'): saves and deletes go through the services, contract fields need a reason.
A module of its own so that sub-package admins (helpdesk.canned.admin) and other apps use it
without importing helpdesk.admin, which imports them to register their models."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import models
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse

from helpdesk import corrections
from helpdesk.errors import ApplicationError


def error_text(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return getattr(exc, "message", str(exc))


# --- writes through the services -------------------------------------------------------------


class CorrectionForm(forms.ModelForm):
    """Every admin form of a record or setting. A change to a field that feeds a contract
    figure (helpdesk.corrections.CONTRACT_FIELDS) is refused without a reason; adding
    a contract setting (targets, calendars) needs one too."""

    correction_reason = forms.CharField(
        label="訂正理由",
        required=False,
        max_length=corrections.REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
        help_text="契約指標に関わる項目を変更するときは必須です。理由は監査ログに残ります。",
    )

    def contract_changes(self) -> list[str]:
        model = self._meta.model
        if self.instance._state.adding:
            return sorted(self.changed_data or ["*"]) if corrections.is_contract_setting(model) else []
        return sorted(set(self.changed_data) & corrections.contract_fields(model))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        assert cleaned is not None  # ModelForm.clean returns cleaned_data
        touched = self.contract_changes()
        if touched and not (cleaned.get("correction_reason") or "").strip():
            model = self._meta.model
            names = "、".join(str(model._meta.get_field(f).verbose_name) for f in touched if f != "*") or str(
                model._meta.verbose_name
            )
            self.add_error("correction_reason", f"契約指標に関わる項目（{names}）の変更には訂正理由が必要です。")
        return cleaned


class ServiceWriteAdmin(admin.ModelAdmin):
    """Saves and deletes go through the services (helpdesk.corrections and the
    records' own services), never a bare `obj.save()`: each leaves an audit row, bumps a
    version where there is one, and applies the status rules. KPI records are not deleted
    here; a contract setting is removed with a reason (confirmation page asks for it)."""

    form = CorrectionForm

    # --- permissions: Django's, as helpdesk.roles.ROLE_PERMISSIONS grants them, except:
    def has_delete_permission(self, request, obj=None):
        if corrections.is_kpi_record(self.model):
            return False
        return super().has_delete_permission(request, obj)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # no reason can be given for a bulk delete
        return actions

    def get_fields(self, request, obj=None):
        """The reason field only where a reason can be needed: a change of a record with
        contract fields, or any add of a contract setting, by someone who may save."""
        fields = list(super().get_fields(request, obj))
        wanted = (
            bool(corrections.contract_fields(self.model))
            and (obj is not None or corrections.is_contract_setting(self.model))
            and (self.has_change_permission(request, obj) if obj is not None else self.has_add_permission(request))
        )
        if not wanted and "correction_reason" in fields:
            fields.remove("correction_reason")
        return fields

    # --- writes
    def form_values(self, form, *, changed_only: bool) -> dict[str, Any]:
        editable = corrections.editable_fields(self.model)
        names = form.changed_data if changed_only else form.cleaned_data
        return {f: form.cleaned_data[f] for f in names if f in editable and f in form.cleaned_data}

    def save_model(self, request, obj, form, change):
        reason = form.cleaned_data.get("correction_reason") or ""
        if change:
            current = self.model._default_manager.get(pk=obj.pk)
            saved = self.write_change(request, current, self.form_values(form, changed_only=True), reason)
        else:
            saved = self.write_add(request, self.form_values(form, changed_only=False), reason)
        for field in self.model._meta.concrete_fields:
            setattr(obj, field.attname, getattr(saved, field.attname))
        obj._state.adding = False

    def write_change(self, request, current: models.Model, data: dict[str, Any], reason: str) -> models.Model:
        return corrections.record_correct(obj=current, actor=request.user, data=data, reason=reason)

    def write_add(self, request, data: dict[str, Any], reason: str) -> models.Model:
        return corrections.record_create(model=self.model, actor=request.user, data=data, reason=reason)

    def write_delete(self, request, obj: models.Model, reason: str) -> None:
        corrections.record_delete(obj=obj, actor=request.user, reason=reason)

    def delete_model(self, request, obj):
        self.write_delete(request, obj, request.POST.get("correction_reason", ""))

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)

    def save_formset(self, request, form, formset, change):
        """Inline rows too: changed, added and removed through the services. The lists set
        here are what the admin's change message reads (as formset.save() would set them)."""
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for inline_form in formset.initial_forms:
            obj = inline_form.instance
            if formset.can_delete and formset._should_delete_form(inline_form):
                corrections.record_delete(obj=obj, actor=request.user)
                formset.deleted_objects.append(obj)
            elif inline_form.has_changed():
                data = {f: inline_form.cleaned_data[f] for f in inline_form.changed_data}
                saved = corrections.record_correct(obj=obj, actor=request.user, data=data)
                formset.changed_objects.append((saved, inline_form.changed_data))
        for inline_form in formset.extra_forms:
            if inline_form.has_changed() and not formset._should_delete_form(inline_form):
                editable = corrections.editable_fields(formset.model)
                data = {f: v for f, v in inline_form.cleaned_data.items() if f in editable}
                data[formset.fk.name] = formset.instance
                formset.new_objects.append(
                    corrections.record_create(model=formset.model, actor=request.user, data=data)
                )

    # --- a service's refusal is a message on the page, never a traceback
    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except (ApplicationError, ValidationError) as exc:
            self.message_user(request, error_text(exc), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def render_delete_form(self, request, context):
        if corrections.is_contract_setting(self.model):  # the confirmation asks for the reason
            request.current_app = self.admin_site.name
            return TemplateResponse(request, "admin/delete_with_reason.html", context)
        return super().render_delete_form(request, context)

    def delete_view(self, request, object_id, extra_context=None):
        if (
            request.method == "POST"
            and corrections.is_contract_setting(self.model)
            and not request.POST.get("correction_reason", "").strip()
        ):
            self.message_user(request, "契約指標に関わる設定の削除には訂正理由が必要です。", messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())
        try:
            return super().delete_view(request, object_id, extra_context)
        except (ApplicationError, ValidationError) as exc:
            self.message_user(request, error_text(exc), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())
