"""Contractor handover API (admins): import a handover file, export the records."""

from django.http import StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from helpdesk.api.permissions import IsAdmin
from helpdesk.handover.services import records_export_lines
from helpdesk.handover.uploads import records_import_enqueue
from helpdesk.imports.api import ImportRunSerializer


class HandoverUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="a handover JSON Lines file (export_records)")


class HandoverImportView(APIView):
    """Queue a handover file for import (Celery task); poll `GET /api/import-runs/{id}/`."""

    permission_classes = [IsAuthenticated, IsAdmin]
    parser_classes = [MultiPartParser]

    @extend_schema(request=HandoverUploadSerializer, responses={202: ImportRunSerializer})
    def post(self, request):
        upload = HandoverUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        run = records_import_enqueue(upload=upload.validated_data["file"], actor=request.user)
        return Response(ImportRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)


class HandoverExportView(APIView):
    """Stream the whole handover file (JSON Lines). Audit-logged: it holds personal information."""

    permission_classes = [IsAuthenticated, IsAdmin]

    @extend_schema(responses={(200, "application/x-ndjson"): OpenApiResponse(OpenApiTypes.STR)})
    def get(self, request):
        lines = records_export_lines(actor=request.user, note="handover export via API")
        response = StreamingHttpResponse(
            (line + "\n" for line in lines), content_type="application/x-ndjson; charset=utf-8"
        )
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
        response["Content-Disposition"] = f'attachment; filename="handover-{stamp}.jsonl"'
        response["Cache-Control"] = "no-store"
        return response
