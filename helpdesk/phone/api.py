"""Phone API: call-file uploads (admins), logging the inquiry for a call and completing its
wrap-up (agents), calls missing wrap-up (supervisors), the service calendar (admins edit,
staff read). Thin: parse, call one service or selector, serialize."""

import datetime as dt

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from helpdesk.api.concurrency import etag_for, expected_version
from helpdesk.api.fields import LocalTimeField
from helpdesk.api.pagination import DefaultCursorPagination
from helpdesk.api.permissions import IsAdmin, IsStaffOperator, IsSupervisor
from helpdesk.audit import audit_pii_view
from helpdesk.clock import TOKYO
from helpdesk.errors import NotFoundError
from helpdesk.imports.api import ImportRunSerializer
from helpdesk.inquiries.selectors import inquiry_get_or_none
from helpdesk.inquiries.services import inquiry_complete_wrapup
from helpdesk.models import CalendarDay, Call
from helpdesk.phone.filters import CallFilter
from helpdesk.phone.linking import call_log_inquiry
from helpdesk.phone.selectors import (
    calendar_day_list,
    call_by_call_id,
    call_get,
    call_latest_for_agent,
    call_list,
    calls_missing_wrapup,
    service_hours_list,
)
from helpdesk.phone.serializers import CallDetailSerializer, CallListSerializer
from helpdesk.phone.service_hours import calendar_day_delete, calendar_day_set, service_hours_set
from helpdesk.phone.uploads import calls_import_enqueue
from helpdesk.roles import can_read_kpi, is_admin, is_staff_operator

# --- imports ------------------------------------------------------------------------------


class CallImportSerializer(serializers.Serializer):
    file = serializers.ListField(
        child=serializers.FileField(),
        allow_empty=False,
        help_text="one or more files (Asterisk: queue_log and Master.csv)",
    )
    format = serializers.ChoiceField(choices=["generic", "asterisk"], default="generic")
    encoding = serializers.ChoiceField(choices=["utf-8", "cp932"], default="utf-8")
    cdr_timezone = serializers.ChoiceField(choices=["Asia/Tokyo", "UTC"], default="Asia/Tokyo")


class CallImportView(APIView):
    """Queue PBX call files for import (Celery task); poll `GET /api/import-runs/{id}/` for
    progress (rows done / total) and the `N read, N created, …` result."""

    permission_classes = [IsAuthenticated, IsAdmin]
    parser_classes = [MultiPartParser]

    @extend_schema(
        summary="通話データの取込（管理者）", request=CallImportSerializer, responses={202: ImportRunSerializer}
    )
    def post(self, request):
        data = {
            "file": request.FILES.getlist("file"),
            **{k: request.data[k] for k in ("format", "encoding", "cdr_timezone") if k in request.data},
        }
        upload = CallImportSerializer(data=data)
        upload.is_valid(raise_exception=True)
        v = upload.validated_data
        run = calls_import_enqueue(
            uploads=v["file"],
            fmt=v["format"],
            encoding=v["encoding"],
            cdr_timezone=v["cdr_timezone"],
            actor=request.user,
        )
        return Response(ImportRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)


# --- linking and wrap-up ------------------------------------------------------------------


class PhoneInquirySerializer(serializers.Serializer):
    subject = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
    body = serializers.CharField(required=False, allow_blank=True, default="")
    category = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    requester_name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    requester_phone = serializers.CharField(
        max_length=64, required=False, allow_blank=True, default="", help_text="defaults to the caller's number"
    )
    requester_organization = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class PhoneInquiryResultSerializer(serializers.Serializer):
    ref = serializers.CharField()
    channel = serializers.CharField()
    call_id = serializers.CharField(source="call.call_id")
    received_at = serializers.DateTimeField()
    wrapup_completed_at = serializers.DateTimeField(allow_null=True)
    version = serializers.IntegerField()


class CallInquiryView(APIView):
    """An agent logs the phone inquiry for a call (one per call; a second one is 409 with
    the existing reference)."""

    permission_classes = [IsAuthenticated, IsStaffOperator]
    parser_classes = [JSONParser]

    @extend_schema(
        summary="通話に問い合わせを記録", request=PhoneInquirySerializer, responses={201: PhoneInquiryResultSerializer}
    )
    def post(self, request, call_id: str):
        call = call_by_call_id(call_id=call_id)
        payload = PhoneInquirySerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        inquiry = call_log_inquiry(call=call, actor=request.user, data=dict(payload.validated_data))
        response = Response(PhoneInquiryResultSerializer(inquiry).data, status=status.HTTP_201_CREATED)
        response["ETag"] = etag_for(inquiry.version)
        return response


class MyLatestCallView(APIView):
    """The logged-in agent's current/last answered call, by their PBX login. Shows the
    caller's number (audit-logged) so the agent can confirm who is on the line."""

    permission_classes = [IsAuthenticated, IsStaffOperator]

    @extend_schema(summary="自分の現在／直前の通話", responses={200: CallDetailSerializer})
    def get(self, request):
        call = call_latest_for_agent(user=request.user)
        if call.caller:
            audit_pii_view(actor=request.user, obj=call, fields=["caller"], note="my latest call")
        return Response(CallDetailSerializer(call).data)


class WrapupSerializer(serializers.Serializer):
    version = serializers.IntegerField(required=False, min_value=1)


class InquiryWrapupView(APIView):
    """The agent finished the record for a phone call: stamps `wrapup_completed_at`, the end
    of after-call work when the PBX does not measure it (kpi.md §2). Idempotent."""

    permission_classes = [IsAuthenticated, IsStaffOperator]
    parser_classes = [JSONParser]

    @extend_schema(summary="後処理完了", request=WrapupSerializer, responses={200: PhoneInquiryResultSerializer})
    def post(self, request, ref: str):
        inquiry = inquiry_get_or_none(ref=ref)
        if inquiry is None:
            raise NotFoundError("問い合わせが見つかりません。", extra={"ref": ref})
        payload = WrapupSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        version = expected_version(request, payload.validated_data.get("version"), required=False)
        inquiry = inquiry_complete_wrapup(inquiry=inquiry, actor=request.user, expected_version=version)
        response = Response(PhoneInquiryResultSerializer(inquiry).data)
        response["ETag"] = etag_for(inquiry.version)
        return response


class MissingWrapupSerializer(serializers.ModelSerializer):
    inquiry = serializers.SerializerMethodField()
    connected_seconds = serializers.FloatField(read_only=True, allow_null=True)

    class Meta:
        model = Call
        fields = ["call_id", "arrived_at", "answered_at", "ended_at", "agent", "queue", "connected_seconds", "inquiry"]
        read_only_fields = fields

    def get_inquiry(self, call) -> str | None:
        inquiry = getattr(call, "inquiry", None)
        return inquiry.ref if inquiry else None


class MissingWrapupPagination(DefaultCursorPagination):
    ordering = ("-arrived_at", "-id")


def _date_param(request, name: str) -> dt.date | None:
    value = request.query_params.get(name)
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise serializers.ValidationError({name: ["YYYY-MM-DD で指定してください。"]}) from None


class MissingWrapupView(generics.ListAPIView):
    """Answered calls with no PBX ACW and no completed wrap-up (no inquiry, or its wrap-up
    never completed). Supervisors chase these; the KPI counts them in `calls_missing_wrapup`."""

    permission_classes = [IsAuthenticated, IsSupervisor]
    serializer_class = MissingWrapupSerializer
    pagination_class = MissingWrapupPagination
    filter_backends: list = []
    queryset = Call.objects.none()

    def get_queryset(self):
        start, end = _date_param(self.request, "from"), _date_param(self.request, "to")
        return calls_missing_wrapup(
            start=dt.datetime.combine(start, dt.time(0), TOKYO) if start else None,
            end=dt.datetime.combine(end + dt.timedelta(days=1), dt.time(0), TOKYO) if end else None,
            agent=self.request.query_params.get("agent") or None,
        )

    @extend_schema(
        summary="後処理未完了の応答呼（SV）",
        parameters=[
            OpenApiParameter("from", str, description="arrival date from (YYYY-MM-DD, Tokyo)"),
            OpenApiParameter("to", str, description="arrival date to, inclusive"),
            OpenApiParameter("agent", str, description="PBX login"),
        ],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


# --- service calendar ---------------------------------------------------------------------


class ReadStaffWriteAdmin(IsAuthenticated):
    def has_permission(self, request, view) -> bool:
        if not super().has_permission(request, view):
            return False
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return is_staff_operator(request.user) or can_read_kpi(request.user)
        return is_admin(request.user)


class ServiceHoursSerializer(serializers.Serializer):
    weekday = serializers.IntegerField(min_value=0, max_value=6, help_text="0 = Monday")
    opens_at = LocalTimeField()
    closes_at = LocalTimeField()

    def validate(self, attrs):
        if attrs["closes_at"] <= attrs["opens_at"]:
            raise serializers.ValidationError({"closes_at": ["開始時刻より後にしてください。"]})
        return attrs


class ServiceHoursView(APIView):
    """The regular week. PUT replaces it (a weekday left out is closed); calls without a PBX
    verdict are then reclassified in the background."""

    permission_classes = [ReadStaffWriteAdmin]
    parser_classes = [JSONParser]

    @extend_schema(summary="サービス時間（曜日別）", responses={200: ServiceHoursSerializer(many=True)})
    def get(self, request):
        return Response(ServiceHoursSerializer(service_hours_list(), many=True).data)

    @extend_schema(request=ServiceHoursSerializer(many=True), responses={200: ServiceHoursSerializer(many=True)})
    def put(self, request):
        payload = ServiceHoursSerializer(data=request.data, many=True)
        payload.is_valid(raise_exception=True)
        weekdays = [w["weekday"] for w in payload.validated_data]
        if len(set(weekdays)) != len(weekdays):
            raise serializers.ValidationError({"weekday": ["曜日が重複しています。"]})
        rows = service_hours_set(weekly=payload.validated_data, actor=request.user)
        return Response(ServiceHoursSerializer(rows, many=True).data)


class CalendarDaySerializer(serializers.ModelSerializer):
    opens_at = LocalTimeField(required=False, allow_null=True)
    closes_at = LocalTimeField(required=False, allow_null=True)

    class Meta:
        model = CalendarDay
        fields = ["date", "kind", "opens_at", "closes_at", "note"]
        extra_kwargs: dict[str, dict[str, list[object]]] = {"date": {"validators": []}}

    def validate(self, attrs):
        if attrs.get("kind") == CalendarDay.Kind.OPEN and not (attrs.get("opens_at") and attrs.get("closes_at")):
            raise serializers.ValidationError({"opens_at": ["特別開庁日には開始・終了時刻が必要です。"]})
        if attrs.get("opens_at") and attrs.get("closes_at") and attrs["closes_at"] <= attrs["opens_at"]:
            raise serializers.ValidationError({"closes_at": ["開始時刻より後にしてください。"]})
        return attrs


class CalendarDayListView(APIView):
    """Special opening days / extended hours (`open`) and extra closures (`closed`).
    National holidays and 12/29–1/3 come from the holiday source, not from rows."""

    permission_classes = [ReadStaffWriteAdmin]
    parser_classes = [JSONParser]

    @extend_schema(
        summary="特別開庁日・臨時休業",
        parameters=[OpenApiParameter("from", str), OpenApiParameter("to", str)],
        responses={200: CalendarDaySerializer(many=True)},
    )
    def get(self, request):
        days = calendar_day_list(start=_date_param(request, "from"), end=_date_param(request, "to"))
        return Response(CalendarDaySerializer(days, many=True).data)

    @extend_schema(request=CalendarDaySerializer, responses={201: CalendarDaySerializer})
    def post(self, request):
        payload = CalendarDaySerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        day = calendar_day_set(actor=request.user, **payload.validated_data)
        return Response(CalendarDaySerializer(day).data, status=status.HTTP_201_CREATED)


class CalendarDayDetailView(APIView):
    permission_classes = [ReadStaffWriteAdmin]
    parser_classes = [JSONParser]

    def _date(self, value: str) -> dt.date:
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise NotFoundError("日付は YYYY-MM-DD で指定してください。") from None

    @extend_schema(responses={200: CalendarDaySerializer})
    def get(self, request, date: str):
        day = calendar_day_list().filter(date=self._date(date)).first()
        if day is None:
            raise NotFoundError("この日の設定はありません。")
        return Response(CalendarDaySerializer(day).data)

    @extend_schema(request=CalendarDaySerializer, responses={200: CalendarDaySerializer})
    def put(self, request, date: str):
        payload = CalendarDaySerializer(data={**request.data, "date": date})
        payload.is_valid(raise_exception=True)
        day = calendar_day_set(actor=request.user, **payload.validated_data)
        return Response(CalendarDaySerializer(day).data)

    @extend_schema(responses={204: None})
    def delete(self, request, date: str):
        if not calendar_day_delete(date=self._date(date), actor=request.user):
            raise NotFoundError("この日の設定はありません。")
        return Response(status=status.HTTP_204_NO_CONTENT)


class CallCursorPagination(DefaultCursorPagination):
    ordering = ("-arrived_at", "-id")


class CallListView(generics.ListAPIView):
    permission_classes = [IsStaffOperator]
    serializer_class = CallListSerializer
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
        summary="通話の詳細（発信者番号を含む。閲覧は監査ログに記録）", responses={200: CallDetailSerializer}
    )
    def get(self, request, call_id: str):
        call = call_get(call_id=call_id)
        if call.caller:
            audit_pii_view(actor=request.user, obj=call, fields=["caller"], note="api call detail")
        return Response(CallDetailSerializer(call).data)
