"""Django admin for the faq app. Writes go through the services (so they are permission-checked
and audit-logged); derived data (embeddings, clusters, surges) is read-only here. The admin
role reaches these pages through its Django permissions (helpdesk.roles.ROLE_PERMISSIONS)."""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect

from faq import services
from faq.models import ClusterRun, FaqCategory, FaqEntry, FaqSettings, IvrAnnouncement, SurgeAlert, TopicCluster
from helpdesk import corrections
from helpdesk.admin_writes import error_text
from helpdesk.errors import ApplicationError


class ServiceErrorsAsMessages(admin.ModelAdmin):
    """A service's refusal (stale version, permission) is a message, never a traceback."""

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except (ApplicationError, ValidationError) as exc:
            self.message_user(request, error_text(exc), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(FaqSettings)
class FaqSettingsAdmin(ServiceErrorsAsMessages):
    list_display = ["window_weeks", "distance_threshold", "surge_min_count", "surge_min_ratio", "surge_alpha"]

    def has_add_permission(self, request):
        return not FaqSettings.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        saved = services.faq_settings_update(
            actor=request.user, **{f: getattr(obj, f) for f in services.SETTINGS_FIELDS}
        )
        obj.pk = saved.pk


@admin.register(FaqCategory)
class FaqCategoryAdmin(ServiceErrorsAsMessages):
    """Added by faq_category_create; renamed or reordered by an audited change; deleted
    through the audited service (an entry's category is protected)."""

    list_display = ["name", "slug", "order"]
    prepopulated_fields = {"slug": ["name"]}

    def save_model(self, request, obj, form, change):
        data = {f: form.cleaned_data[f] for f in ("name", "slug", "order")}
        if change:
            current = FaqCategory.objects.get(pk=obj.pk)
            saved = corrections.record_correct(obj=current, actor=request.user, data=data)
        else:
            saved = services.faq_category_create(actor=request.user, **data)
        obj.pk = saved.pk

    def delete_model(self, request, obj):
        corrections.record_delete(obj=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


@admin.register(FaqEntry)
class FaqEntryAdmin(ServiceErrorsAsMessages):
    list_display = ["question", "status", "category", "source_cluster", "published_at", "published_by", "version"]
    list_filter = ["status", "category"]
    search_fields = ["question", "answer"]
    fields = [
        "question",
        "answer",
        "category",
        "status",
        "source_cluster",
        "source_surge",
        "published_at",
        "published_by",
        "retired_at",
        "retired_by",
        "version",
    ]
    readonly_fields = [
        "status",
        "source_cluster",
        "source_surge",
        "published_at",
        "published_by",
        "retired_at",
        "retired_by",
        "version",
    ]
    actions = ["publish", "retire"]

    def has_delete_permission(self, request, obj=None):
        return False  # an entry is retired (audited), never deleted

    def save_model(self, request, obj, form, change):
        data = {f: form.cleaned_data[f] for f in ("question", "answer", "category")}
        if change:
            current = FaqEntry.objects.get(pk=obj.pk)
            updated = services.faq_entry_update(actor=request.user, entry=current, version=current.version, **data)
        else:
            updated = services.faq_entry_create(actor=request.user, **data)
        obj.pk, obj.version = updated.pk, updated.version

    @admin.action(description="選択したFAQを公開する")
    def publish(self, request, queryset):
        self._each(request, queryset, services.faq_entry_publish)

    @admin.action(description="選択したFAQの公開を終了する")
    def retire(self, request, queryset):
        self._each(request, queryset, services.faq_entry_retire)

    def _each(self, request, queryset, fn):
        for entry in queryset:
            try:
                fn(actor=request.user, entry=entry)
            except (ApplicationError, ValidationError) as exc:
                self.message_user(request, f"{entry}: {getattr(exc, 'message', exc)}", messages.ERROR)


@admin.register(IvrAnnouncement)
class IvrAnnouncementAdmin(ReadOnlyAdmin):
    list_display = ["text", "status", "starts_at", "ends_at", "approved_by"]
    list_filter = ["status"]


@admin.register(TopicCluster)
class TopicClusterAdmin(ReadOnlyAdmin):
    list_display = ["cluster_id", "keywords", "size", "active"]


@admin.register(SurgeAlert)
class SurgeAlertAdmin(ReadOnlyAdmin):
    list_display = ["explanation", "kind", "period_start", "count", "baseline", "p_value"]


@admin.register(ClusterRun)
class ClusterRunAdmin(ReadOnlyAdmin):
    list_display = ["started_at", "status", "method", "inquiries", "clusters", "surges", "fallback_reason"]
