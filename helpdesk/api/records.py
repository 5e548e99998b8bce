"""Calls and mail, read only. Lists mask caller numbers, addresses and names and leave
bodies out; a detail shows them and writes a VIEW_PII audit row."""

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import generics
from rest_framework.response import Response
from rest_framework.views import APIView

from helpdesk.api import serializers as s
from helpdesk.api.pagination import DefaultCursorPagination
from helpdesk.api.permissions import IsStaffOperator
from helpdesk.audit import audit_pii_view
from helpdesk.filters import CallFilter, EmailMessageFilter
from helpdesk.selectors.records import call_get, call_list, email_get, email_list


class CallCursorPagination(DefaultCursorPagination):
    ordering = ("-arrived_at", "-id")


class EmailCursorPagination(DefaultCursorPagination):
    ordering = ("-received_at", "-id")


class CallListView(generics.ListAPIView):
    permission_classes = [IsStaffOperator]
    serializer_class = s.CallListSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = CallFilter
    pagination_class = CallCursorPagination

    def get_queryset(self):
        return call_list()

    @extend_schema(summary="通話一覧（発信者番号はマスク）")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class CallDetailView(APIView):
    permission_classes = [IsStaffOperator]

    @extend_schema(
        summary="通話の詳細（発信者番号を含む。閲覧は監査ログに記録）", responses={200: s.CallDetailSerializer}
    )
    def get(self, request, call_id: str):
        call = call_get(call_id=call_id)
        if call.caller:
            audit_pii_view(actor=request.user, obj=call, fields=["caller"], note="api call detail")
        return Response(s.CallDetailSerializer(call).data)


class EmailListView(generics.ListAPIView):
    permission_classes = [IsStaffOperator]
    serializer_class = s.EmailListSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = EmailMessageFilter
    pagination_class = EmailCursorPagination

    def get_queryset(self):
        return email_list()

    @extend_schema(summary="メール一覧（アドレス・氏名はマスク、本文なし）")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class EmailDetailView(APIView):
    permission_classes = [IsStaffOperator]

    @extend_schema(
        summary="メールの詳細（アドレス・本文を含む。閲覧は監査ログに記録）", responses={200: s.EmailDetailSerializer}
    )
    def get(self, request, pk: int):
        message = email_get(pk=pk)
        fields = [f for f in s.EMAIL_PII_FIELDS if getattr(message, f)]
        if fields:
            audit_pii_view(actor=request.user, obj=message, fields=fields, note="api email detail")
        return Response(s.EmailDetailSerializer(message).data)
