"""Inquiry endpoints: the agents' queue (filter, search, cursor pages), create, detail
(personal information, audit-logged), update with optimistic concurrency, assign, status
transitions, corrections of contract figures and escalation requests. Views parse, call
one service/selector, serialize; the rules are in helpdesk.inquiries.services."""

from contextlib import contextmanager

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from helpdesk.api.concurrency import etag_for, expected_version
from helpdesk.api.pagination import RecentFirstCursorPagination
from helpdesk.api.permissions import IsStaffOperator
from helpdesk.audit import audit_pii_view
from helpdesk.escalations.serializers import EscalationCreateSerializer, EscalationSerializer
from helpdesk.escalations.services import escalation_create
from helpdesk.inquiries.filters import InquiryFilter
from helpdesk.inquiries.selectors import inquiry_get, inquiry_list, inquiry_list_rows
from helpdesk.inquiries.serializers import (
    INQUIRY_PII_FIELDS,
    InquiryAssignSerializer,
    InquiryCorrectionSerializer,
    InquiryCreateSerializer,
    InquiryDetailSerializer,
    InquiryListSerializer,
    InquiryTransitionSerializer,
    InquiryUpdateSerializer,
)
from helpdesk.inquiries.services import (
    inquiry_assign,
    inquiry_correct,
    inquiry_create_idempotent,
    inquiry_transition,
    inquiry_update,
)

ERROR_RESPONSES = {
    400: OpenApiResponse(description="入力エラー {message, code, errors:{field:[msg]}}"),
    403: OpenApiResponse(description="権限なし"),
    404: OpenApiResponse(description="該当なし"),
}
CONCURRENCY_RESPONSES = {
    409: OpenApiResponse(description="本文の version が古い（他のユーザーが更新済み）"),
    412: OpenApiResponse(description="If-Match が古い（他のユーザーが更新済み）"),
}
IF_MATCH = OpenApiParameter(
    "If-Match", str, OpenApiParameter.HEADER, required=False, description='読み込んだ版の ETag（"v<version>"）'
)

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="クライアントが生成する一意のキー（128文字以内）。同じキーの再送は登録済みの問い合わせを返す",
)


def _audit_detail(request, inquiry, note: str) -> None:
    """Showing personal information leaves a VIEW_PII row (which fields are shown)."""
    fields = [f for f in INQUIRY_PII_FIELDS if getattr(inquiry, f)]
    if fields and note:
        audit_pii_view(actor=request.user, obj=inquiry, fields=fields, note=note)


def _detail_response(request, inquiry, *, status_code=status.HTTP_200_OK, audit_note: str = "") -> Response:
    """Full record with its ETag; showing personal information leaves a VIEW_PII row."""
    _audit_detail(request, inquiry, audit_note)
    return _record_response(inquiry, status_code=status_code)


def _record_response(inquiry, *, status_code=status.HTTP_200_OK) -> Response:
    response = Response(InquiryDetailSerializer(inquiry).data, status=status_code)
    response["ETag"] = etag_for(inquiry.version)
    return response


# The services name model fields; the API names a few of them differently.
_API_FIELD = {"call": "call_id"}


@contextmanager
def _api_field_names():
    """Report a service's ValidationError under the API's field names (`call` → `call_id`)."""
    try:
        yield
    except DjangoValidationError as exc:
        if not hasattr(exc, "error_dict"):
            raise
        raise DjangoValidationError(
            {_API_FIELD.get(field, field): errors for field, errors in exc.error_dict.items()}
        ) from exc


def _replayed(request, inquiry) -> Response:
    """The answer to a retried create: the inquiry the first request stored, 200 not 201."""
    response = _detail_response(request, inquiry, audit_note="api inquiry create (idempotent replay)")
    response["Idempotent-Replayed"] = "true"
    return response


class InquiryListCreateView(generics.ListAPIView):
    permission_classes = [IsStaffOperator]
    serializer_class = InquiryListSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = InquiryFilter
    pagination_class = RecentFirstCursorPagination

    def get_queryset(self):
        return inquiry_list(user=self.request.user)

    def paginate_queryset(self, queryset):
        """The filtered page read as plain values, not model instances (inquiry_list_rows)."""
        return super().paginate_queryset(inquiry_list_rows(queryset=queryset))

    @extend_schema(summary="問い合わせ一覧（個人情報はマスク）", responses={200: InquiryListSerializer(many=True)})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="問い合わせを登録（Idempotency-Key で再送しても1件）",
        parameters=[IDEMPOTENCY_KEY],
        request=InquiryCreateSerializer,
        responses={
            201: InquiryDetailSerializer,
            200: OpenApiResponse(
                InquiryDetailSerializer, description="同じ Idempotency-Key の再送: 登録済みの問い合わせ"
            ),
            **ERROR_RESPONSES,
        },
    )
    def post(self, request):
        serializer = InquiryCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data["call"] = data.pop("call_id")
        if data.get("received_at") is None:
            data.pop("received_at", None)
        with _api_field_names():
            inquiry, replayed = inquiry_create_idempotent(
                created_by=request.user, idempotency_key=request.headers.get("Idempotency-Key", ""), **data
            )
        if replayed:
            return _replayed(request, inquiry)
        # The creator just typed these details in: echoing them back is not a new disclosure.
        return _detail_response(request, inquiry, status_code=status.HTTP_201_CREATED)


class InquiryDetailView(APIView):
    permission_classes = [IsStaffOperator]

    @extend_schema(
        summary="問い合わせの詳細（個人情報を含む。閲覧は監査ログに記録）",
        responses={200: InquiryDetailSerializer, 403: ERROR_RESPONSES[403], 404: ERROR_RESPONSES[404]},
    )
    def get(self, request, ref: str):
        return _detail_response(request, inquiry_get(ref=ref), audit_note="api inquiry detail")

    @extend_schema(
        summary="問い合わせを更新（If-Match または version 必須）",
        parameters=[IF_MATCH],
        request=InquiryUpdateSerializer,
        responses={
            200: InquiryDetailSerializer,
            428: OpenApiResponse(description="If-Match も version もない"),
            **ERROR_RESPONSES,
            **CONCURRENCY_RESPONSES,
        },
    )
    def patch(self, request, ref: str):
        inquiry = inquiry_get(ref=ref)
        serializer = InquiryUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        version = expected_version(request, data.pop("version", None), required=True)
        reason = data.pop("reason", "")
        # The update's audit row and the view of the record it returns in one transaction: the
        # audit chain's lock taken once and one commit, not two (the lock is what every other
        # audit-writing request waits for). The rows are the same two, in the same order.
        with transaction.atomic():
            updated = inquiry_update(
                inquiry=inquiry, actor=request.user, data=data, expected_version=version, reason=reason
            )
            _audit_detail(request, updated, "api inquiry update")
        return _record_response(updated)


class InquiryAssignView(APIView):
    permission_classes = [IsStaffOperator]

    @extend_schema(
        summary="担当者を割当（オペレーターは自分のみ、SVは誰でも）",
        parameters=[IF_MATCH],
        request=InquiryAssignSerializer,
        responses={200: InquiryDetailSerializer, **ERROR_RESPONSES, **CONCURRENCY_RESPONSES},
    )
    def post(self, request, ref: str):
        inquiry = inquiry_get(ref=ref)
        serializer = InquiryAssignSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        version = expected_version(request, serializer.validated_data.get("version"), required=False)
        updated = inquiry_assign(
            inquiry=inquiry,
            actor=request.user,
            assignee=serializer.validated_data["assignee"],
            expected_version=version,
        )
        return _detail_response(request, updated, audit_note="api inquiry assign")


class InquiryTransitionView(APIView):
    permission_classes = [IsStaffOperator]

    @extend_schema(
        summary="状態を変更（許可された遷移のみ。不可は409）",
        parameters=[IF_MATCH],
        request=InquiryTransitionSerializer,
        responses={200: InquiryDetailSerializer, **ERROR_RESPONSES, **CONCURRENCY_RESPONSES},
    )
    def post(self, request, ref: str):
        inquiry = inquiry_get(ref=ref)
        serializer = InquiryTransitionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        version = expected_version(request, data.get("version"), required=False)
        updated = inquiry_transition(
            inquiry=inquiry, actor=request.user, status=data["status"], expected_version=version, at=data.get("at")
        )
        return _detail_response(request, updated, audit_note="api inquiry transition")


class InquiryCorrectionView(APIView):
    """A supervisor corrects what feeds a contract figure (channel, received/answered/
    wrap-up/resolved times, ministry guidance): the only way the API changes those fields.
    `reason` is required; the audit row keeps it with the old and new values."""

    permission_classes = [IsStaffOperator]

    @extend_schema(
        summary="契約指標に関わる項目の訂正（SVのみ・理由必須）",
        parameters=[IF_MATCH],
        request=InquiryCorrectionSerializer,
        responses={200: InquiryDetailSerializer, **ERROR_RESPONSES, **CONCURRENCY_RESPONSES},
    )
    def post(self, request, ref: str):
        inquiry = inquiry_get(ref=ref)
        serializer = InquiryCorrectionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        version = expected_version(request, data.pop("version", None), required=False)
        reason = data.pop("reason")
        with _api_field_names():
            updated = inquiry_correct(
                inquiry=inquiry, actor=request.user, data=data, reason=reason, expected_version=version
            )
        return _detail_response(request, updated, audit_note="api inquiry correction")


class InquiryEscalationCreateView(APIView):
    permission_classes = [IsStaffOperator]

    @extend_schema(
        summary="エスカレーション（オペレーターは internal のみ、SVは受託者外も可）",
        request=EscalationCreateSerializer,
        responses={201: EscalationSerializer, **ERROR_RESPONSES},
    )
    def post(self, request, ref: str):
        inquiry = inquiry_get(ref=ref)
        serializer = EscalationCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        escalation = escalation_create(inquiry=inquiry, actor=request.user, **data)
        return Response(EscalationSerializer(escalation).data, status=status.HTTP_201_CREATED)
