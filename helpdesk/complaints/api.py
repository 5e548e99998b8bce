"""Complaints: any staff operator records one; only supervisors classify the cause."""

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from helpdesk.api.permissions import IsStaffOperator, IsSupervisor
from helpdesk.complaints.filters import ComplaintFilter
from helpdesk.complaints.selectors import complaint_get, complaint_list
from helpdesk.complaints.serializers import ComplaintClassifySerializer, ComplaintCreateSerializer, ComplaintSerializer
from helpdesk.complaints.services import complaint_classify, complaint_record


class ComplaintListCreateView(generics.ListAPIView):
    permission_classes = [IsStaffOperator]
    serializer_class = ComplaintSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = ComplaintFilter

    def get_queryset(self):
        return complaint_list()

    @extend_schema(summary="苦情一覧")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="苦情を記録",
        request=ComplaintCreateSerializer,
        responses={201: ComplaintSerializer, 400: OpenApiResponse(description="入力エラー")},
    )
    def post(self, request):
        serializer = ComplaintCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        complaint = complaint_record(actor=request.user, **serializer.validated_data)
        return Response(ComplaintSerializer(complaint).data, status=status.HTTP_201_CREATED)


class ComplaintClassifyView(APIView):
    permission_classes = [IsSupervisor]

    @extend_schema(
        summary="苦情の原因を確定（SVのみ。確定済みの原因の訂正は reason 必須）",
        request=ComplaintClassifySerializer,
        responses={
            200: ComplaintSerializer,
            400: OpenApiResponse(description="入力エラー"),
            403: OpenApiResponse(description="権限なし"),
            404: OpenApiResponse(description="該当なし"),
        },
    )
    def post(self, request, pk: int):
        complaint = complaint_get(pk=pk)
        serializer = ComplaintClassifySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        complaint = complaint_classify(complaint=complaint, actor=request.user, **serializer.validated_data)
        return Response(ComplaintSerializer(complaint).data)
