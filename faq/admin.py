"""Django admin for the faq app. Writes go through the services (so they are permission-checked
and audit-logged); derived data (embeddings, clusters, surges) is read-only here."""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from faq import services
from faq.models import ClusterRun, FaqCategory, FaqEntry, FaqSettings, IvrAnnouncement, SurgeAlert, TopicCluster
from helpdesk.errors import ApplicationError


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(FaqSettings)
class FaqSettingsAdmin(admin.ModelAdmin):
    list_display = ["window_weeks", "distance_threshold", "surge_min_count", "surge_min_ratio", "surge_alpha"]

    def has_add_permission(self, request):
        return not FaqSettings.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        services.faq_settings_update(actor=request.user, **{f: getattr(obj, f) for f in services.SETTINGS_FIELDS})


@admin.register(FaqCategory)
class FaqCategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "order"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(FaqEntry)
class FaqEntryAdmin(admin.ModelAdmin):
    list_display = ["question", "status", "category", "source_cluster", "published_at", "version"]
    list_filter = ["status", "category"]
    search_fields = ["question", "answer"]
    fields = ["question", "answer", "category", "status", "source_cluster", "source_surge", "published_at", "version"]
    readonly_fields = ["status", "source_cluster", "source_surge", "published_at", "version"]
    actions = ["publish", "retire"]

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
