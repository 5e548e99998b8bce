"""Escalation list and recording the answer that came back (supervisors)."""

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics
from rest_framework.response import Response
from rest_framework.views import APIView

from helpdesk.api.permissions import IsStaffOperator, IsSupervisor
from helpdesk.escalations.filters import EscalationFilter
from helpdesk.escalations.selectors import escalation_get, escalation_list
from helpdesk.escalations.serializers import EscalationReturnSerializer, EscalationSerializer
from helpdesk.escalations.services import escalation_record_return


class EscalationListView(generics.ListAPIView):
    permission_classes = [IsStaffOperator]
    serializer_class = EscalationSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = EscalationFilter

    def get_queryset(self):
        return escalation_list()

    @extend_schema(summary="エスカレーション一覧")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class EscalationReturnView(APIView):
    permission_classes = [IsSupervisor]

    @extend_schema(
        summary="エスカレーション先の回答を記録（SVのみ）",
        request=EscalationReturnSerializer,
        responses={
            200: EscalationSerializer,
            400: OpenApiResponse(description="入力エラー・回答記録済み"),
            403: OpenApiResponse(description="権限なし"),
            404: OpenApiResponse(description="該当なし"),
        },
    )
    def post(self, request, pk: int):
        escalation = escalation_get(pk=pk)
        serializer = EscalationReturnSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        escalation = escalation_record_return(escalation=escalation, actor=request.user, **serializer.validated_data)
        return Response(EscalationSerializer(escalation).data)
