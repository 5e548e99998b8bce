"""Security incidents: admins record and maintain them; reviewers read them without the
description (incidents are the contract's sixth metric, the description may itself
describe leaked personal information). Everyone else: 403."""

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from helpdesk.api.permissions import SecurityIncidentPermission
from helpdesk.incidents.filters import SecurityIncidentFilter
from helpdesk.incidents.selectors import security_incident_get, security_incident_list
from helpdesk.incidents.serializers import (
    SecurityIncidentReviewerSerializer,
    SecurityIncidentSerializer,
    SecurityIncidentViewSerializer,
    SecurityIncidentWriteSerializer,
)
from helpdesk.incidents.services import security_incident_create, security_incident_update
from helpdesk.roles import is_admin

# Admins and reviewers get one shape, reviewers without the two optional fields.
INCIDENT_OUT = SecurityIncidentViewSerializer


def _out_serializer(user):
    return SecurityIncidentSerializer if is_admin(user) else SecurityIncidentReviewerSerializer


class SecurityIncidentListCreateView(generics.ListAPIView):
    permission_classes = [SecurityIncidentPermission]
    filter_backends = [DjangoFilterBackend]
    filterset_class = SecurityIncidentFilter

    def get_queryset(self):
        return security_incident_list()

    def get_serializer_class(self):
        return _out_serializer(self.request.user)

    @extend_schema(summary="セキュリティインシデント一覧（レビュー担当には説明なし）", responses={200: INCIDENT_OUT})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="セキュリティインシデントを登録（管理者のみ）",
        request=SecurityIncidentWriteSerializer,
        responses={201: SecurityIncidentSerializer, 400: OpenApiResponse(description="入力エラー")},
    )
    def post(self, request):
        serializer = SecurityIncidentWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data.pop("reason", None)
        incident = security_incident_create(actor=request.user, **data)
        return Response(SecurityIncidentSerializer(incident).data, status=status.HTTP_201_CREATED)


class SecurityIncidentDetailView(APIView):
    permission_classes = [SecurityIncidentPermission]

    @extend_schema(summary="セキュリティインシデント", responses={200: INCIDENT_OUT})
    def get(self, request, pk: int):
        incident = security_incident_get(pk=pk)
        return Response(_out_serializer(request.user)(incident).data)

    @extend_schema(
        summary="セキュリティインシデントを更新（管理者のみ。発生日時・検知日時・重大度の変更は reason 必須）",
        request=SecurityIncidentWriteSerializer,
        responses={200: SecurityIncidentSerializer, 400: OpenApiResponse(description="入力エラー")},
    )
    def patch(self, request, pk: int):
        incident = security_incident_get(pk=pk)
        serializer = SecurityIncidentWriteSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        reason = data.pop("reason", "")
        incident = security_incident_update(incident=incident, actor=request.user, data=data, reason=reason)
        return Response(SecurityIncidentSerializer(incident).data)
