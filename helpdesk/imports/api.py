"""The import-run status endpoint every import kind (phone, mail, handover) shares:
GET /api/import-runs/ and /api/import-runs/{id}/."""

from typing import Any

from django.db.models.functions import Length
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import generics, serializers
from rest_framework.permissions import IsAuthenticated

from helpdesk.api.pagination import DefaultCursorPagination
from helpdesk.api.permissions import IsStaffOperator
from helpdesk.imports.selectors import import_run_list_visible
from helpdesk.models import ImportRun

DEFAULT_REJECTS_SHOWN = 100
MAX_REJECTS_SHOWN = 1000


class ImportRunSerializer(serializers.ModelSerializer):
    created_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="username", read_only=True)
    progress = serializers.SerializerMethodField(help_text="0…1 when the size is known; 1 when done")
    summary = serializers.CharField(read_only=True)

    class Meta:
        model = ImportRun
        fields = [
            "id",
            "kind",
            "status",
            "source_name",
            "created_by",
            "created_at",
            "started_at",
            "finished_at",
            "total",
            "done",
            "progress",
            "read",
            "created",
            "updated",
            "unchanged",
            "rejected",
            "summary",
            "error",
        ]
        read_only_fields = fields

    def get_progress(self, run: ImportRun) -> float | None:
        if run.status == ImportRun.Status.DONE:
            return 1.0
        if not run.total:
            return None
        return round(min(run.done / run.total, 1.0), 4)


class ImportRejectSerializer(serializers.Serializer):
    """Where and why. The rejected bytes themselves (personal information) are not served."""

    source_name = serializers.CharField()
    line = serializers.IntegerField(allow_null=True)
    offset = serializers.IntegerField(allow_null=True)
    reason = serializers.CharField()
    raw_size = serializers.IntegerField()


class ImportRunDetailSerializer(ImportRunSerializer):
    rejects = serializers.SerializerMethodField()

    class Meta(ImportRunSerializer.Meta):
        fields = [*ImportRunSerializer.Meta.fields, "rejects"]
        read_only_fields = fields

    @extend_schema_field(ImportRejectSerializer(many=True))
    def get_rejects(self, run: ImportRun) -> list[dict]:
        limit = self.context.get("rejects_limit", DEFAULT_REJECTS_SHOWN)
        rows = (
            run.rejects.order_by("line", "id")
            .annotate(raw_size=Length("raw"))
            .values("source_name", "line", "offset", "reason", "raw_size")[:limit]
        )
        return list(ImportRejectSerializer(rows, many=True).data)


class ImportRunListView(generics.ListAPIView):
    permission_classes = [IsAuthenticated, IsStaffOperator]
    serializer_class = ImportRunSerializer
    pagination_class = DefaultCursorPagination
    queryset = ImportRun.objects.none()  # for the schema; get_queryset decides

    def get_queryset(self):
        return import_run_list_visible(user=self.request.user)


class ImportRunDetailView(generics.RetrieveAPIView):
    permission_classes = [IsAuthenticated, IsStaffOperator]
    serializer_class = ImportRunDetailSerializer
    queryset = ImportRun.objects.none()  # for the schema; get_queryset decides

    def get_queryset(self):
        return import_run_list_visible(user=self.request.user)

    def get_serializer_context(self):
        context = super().get_serializer_context()
        try:
            limit = int(self.request.query_params.get("rejects_limit", DEFAULT_REJECTS_SHOWN))
        except ValueError:
            limit = DEFAULT_REJECTS_SHOWN
        context["rejects_limit"] = max(0, min(limit, MAX_REJECTS_SHOWN))
        return context

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "rejects_limit", int, description=f"rejects listed (default 100, at most {MAX_REJECTS_SHOWN})"
            )
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)
