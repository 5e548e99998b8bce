"""FAQ API. Public: published entries, categories, the active IVR announcement (the PBX reads it
without credentials: it is the same text every caller hears). Agents: suggestions and usages.
Admins: drafts, edit/publish/retire, IVR approval, settings. Supervisors and admins: clusters
and surges. Views parse, call one service/selector, serialize."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from faq import selectors, services
from faq.api import serializers as s
from faq.models import FaqCategory, FaqEntry, IvrAnnouncement
from helpdesk.api.permissions import IsAdmin, IsStaffOperator, IsSupervisor
from helpdesk.errors import ApplicationError
from helpdesk.models import Inquiry, Role
from helpdesk.roles import has_role, is_admin


class FaqPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class CanReadUsageShare(BasePermission):
    message = "FAQ利用率はSV・管理者・府省レビュー担当のみ参照できます。"

    def has_permission(self, request, view) -> bool:
        return has_role(request.user, Role.SUPERVISOR, Role.ADMIN, Role.REVIEWER)


class PublicEntryListView(generics.ListAPIView):
    """Published entries for everyone; admins may pass ?status=draft|retired|published."""

    permission_classes = [AllowAny]
    pagination_class = FaqPagination

    def get_serializer_class(self):
        return s.FaqEntrySerializer if is_admin(self.request.user) else s.PublicFaqEntrySerializer

    def get_queryset(self):
        status_param = self.request.query_params.get("status", "")
        if is_admin(self.request.user) and status_param:
            return selectors.faq_entry_list(status=status_param)
        return selectors.faq_entry_list_published(
            q=self.request.query_params.get("q", ""), category=self.request.query_params.get("category", "")
        )

    @extend_schema(
        summary="公開FAQ一覧（検索可）",
        parameters=[
            OpenApiParameter("q", str, description="検索語（空白区切りで AND）"),
            OpenApiParameter("category", str, description="カテゴリのスラッグ"),
            OpenApiParameter("status", str, description="管理者のみ: draft / published / retired"),
        ],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="FAQを作成（管理者）", request=s.FaqEntryWriteSerializer, responses={201: s.FaqEntrySerializer}
    )
    def post(self, request):
        if not is_admin(request.user):
            self.permission_denied(request, message=IsAdmin.message)
        data = _parse(s.FaqEntryWriteSerializer, request.data)
        if "question" not in data:
            raise ApplicationError("質問を入力してください。", extra={"errors": {"question": ["必須です。"]}})
        entry = services.faq_entry_create(
            actor=request.user, question=data["question"], answer=data.get("answer", ""), category=data.get("category")
        )
        return Response(s.FaqEntrySerializer(entry).data, status=status.HTTP_201_CREATED)


def _parse(serializer_class, data):
    ser = serializer_class(data=data)
    ser.is_valid(raise_exception=True)
    return ser.validated_data


class EntryDetailView(APIView):
    def get_permissions(self):
        return [AllowAny()] if self.request.method == "GET" else [IsAdmin()]

    @extend_schema(summary="FAQ（公開中は誰でも、下書き・公開終了は管理者）", responses=s.FaqEntrySerializer)
    def get(self, request, pk: int):
        entry = get_object_or_404(FaqEntry.objects.select_related("category"), pk=pk)
        if is_admin(request.user):
            return Response(s.FaqEntrySerializer(entry).data)
        if entry.status != FaqEntry.Status.PUBLISHED:
            raise NotFound("該当なし")
        return Response(s.PublicFaqEntrySerializer(entry).data)

    @extend_schema(
        summary="FAQを編集（管理者、version 必須）", request=s.FaqEntryWriteSerializer, responses=s.FaqEntrySerializer
    )
    def patch(self, request, pk: int):
        entry = get_object_or_404(FaqEntry, pk=pk)
        data = dict(_parse(s.FaqEntryWriteSerializer, request.data))
        version = data.pop("version", None)
        if version is None:
            raise ApplicationError("version を指定してください。", extra={"errors": {"version": ["必須です。"]}})
        entry = services.faq_entry_update(actor=request.user, entry=entry, version=version, **data)
        return Response(s.FaqEntrySerializer(entry).data)


class EntryPublishView(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(summary="FAQを公開（管理者）", request=None, responses=s.FaqEntrySerializer)
    def post(self, request, pk: int):
        entry = services.faq_entry_publish(actor=request.user, entry=get_object_or_404(FaqEntry, pk=pk))
        return Response(s.FaqEntrySerializer(entry).data)


class EntryRetireView(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(summary="FAQの公開を終了（管理者）", request=None, responses=s.FaqEntrySerializer)
    def post(self, request, pk: int):
        entry = services.faq_entry_retire(actor=request.user, entry=get_object_or_404(FaqEntry, pk=pk))
        return Response(s.FaqEntrySerializer(entry).data)


class CategoryListView(generics.ListAPIView):
    permission_classes = [AllowAny]
    serializer_class = s.FaqCategorySerializer
    pagination_class = None
    queryset = FaqCategory.objects.order_by("order", "name")

    @extend_schema(summary="FAQカテゴリ一覧")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class SuggestionView(APIView):
    permission_classes = [IsStaffOperator]

    @extend_schema(
        summary="対応中の問い合わせに近い公開FAQ",
        parameters=[OpenApiParameter("inquiry", str, required=True, description="問い合わせ番号（EG-…）")],
        responses=s.FaqSuggestionSerializer(many=True),
    )
    def get(self, request):
        ref = request.query_params.get("inquiry", "")
        if "\x00" in ref:  # PostgreSQL refuses NUL in text: a 400, not a 500 from the look-up
            raise ValidationError({"inquiry": ["NUL 文字は使えません (a NUL character)"]})
        inquiry = get_object_or_404(Inquiry, ref=ref)
        found = selectors.faq_entry_suggestions(inquiry=inquiry)
        return Response(s.FaqSuggestionSerializer([{"entry": e, "score": sc} for e, sc in found], many=True).data)


class UsageCreateView(APIView):
    permission_classes = [IsStaffOperator]

    @extend_schema(
        summary="「FAQ Xで回答した」を記録（記録済みなら 200）",
        request=s.FaqUsageCreateSerializer,
        responses={201: s.FaqUsageSerializer, 200: s.FaqUsageSerializer},
    )
    def post(self, request):
        data = _parse(s.FaqUsageCreateSerializer, request.data)
        inquiry = get_object_or_404(Inquiry, ref=data["inquiry"])
        entry = get_object_or_404(FaqEntry, pk=data["entry"])
        usage, created = services.faq_usage_record(actor=request.user, inquiry=inquiry, entry=entry)
        body = s.FaqUsageSerializer(
            {"id": usage.pk, "inquiry": inquiry.ref, "entry": entry.pk, "recorded_at": usage.recorded_at}
        ).data
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class UsageShareView(APIView):
    permission_classes = [CanReadUsageShare]

    @extend_schema(
        summary="月別: FAQリンクで回答した問い合わせの割合",
        parameters=[OpenApiParameter("month", str, required=True, description="YYYY-MM")],
        responses=s.UsageShareSerializer,
    )
    def get(self, request):
        month = request.query_params.get("month", "")
        try:
            share = selectors.faq_usage_share(month=month)
        except ValueError as exc:
            raise ApplicationError("month は YYYY-MM で指定してください。") from exc
        return Response(s.UsageShareSerializer(share).data)


class ClusterListView(generics.ListAPIView):
    permission_classes = [IsSupervisor]
    serializer_class = s.TopicClusterSerializer
    pagination_class = FaqPagination

    def get_queryset(self):
        return selectors.topic_cluster_list()

    @extend_schema(summary="問い合わせのクラスタ（キーワード・件数・週次推移）")
    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        run = selectors.cluster_run_latest()
        response.data["run"] = (
            None
            if run is None
            else {
                "id": run.pk,
                "finished_at": run.finished_at,
                "method": run.method,
                "fallback_reason": run.fallback_reason,
                "cut": run.cut,
                "merges": run.merges,
                "splits": run.splits,
                "admin_splits": run.admin_splits,
            }
        )
        return response


class SurgeListView(generics.ListAPIView):
    permission_classes = [IsSupervisor]
    serializer_class = s.SurgeAlertSerializer
    pagination_class = FaqPagination

    def get_queryset(self):
        return selectors.surge_alert_list()

    @extend_schema(summary="急増アラート")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class IvrListCreateView(generics.ListAPIView):
    permission_classes = [IsAdmin]
    serializer_class = s.IvrAnnouncementSerializer
    pagination_class = FaqPagination
    queryset = IvrAnnouncement.objects.order_by("-created_at", "-id")

    @extend_schema(summary="IVR案内の一覧（管理者）")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="IVR案内を作成（管理者）", request=s.IvrCreateSerializer, responses={201: s.IvrAnnouncementSerializer}
    )
    def post(self, request):
        data = _parse(s.IvrCreateSerializer, request.data)
        ann = services.ivr_announcement_create(actor=request.user, text=data["text"])
        return Response(s.IvrAnnouncementSerializer(ann).data, status=status.HTTP_201_CREATED)


class IvrApproveView(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(
        summary="IVR案内を承認（開始・終了日時）", request=s.IvrApproveSerializer, responses=s.IvrAnnouncementSerializer
    )
    def post(self, request, pk: int):
        data = _parse(s.IvrApproveSerializer, request.data)
        ann = services.ivr_announcement_approve(
            actor=request.user,
            announcement=get_object_or_404(IvrAnnouncement, pk=pk),
            starts_at=data["starts_at"],
            ends_at=data["ends_at"],
            text=data.get("text"),
        )
        return Response(s.IvrAnnouncementSerializer(ann).data)


class IvrCloseView(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(summary="IVR案内を却下・取り下げ", request=None, responses=s.IvrAnnouncementSerializer)
    def post(self, request, pk: int):
        ann = services.ivr_announcement_close(
            actor=request.user, announcement=get_object_or_404(IvrAnnouncement, pk=pk)
        )
        return Response(s.IvrAnnouncementSerializer(ann).data)


class IvrActiveView(APIView):
    """Public: the PBX polls it without credentials (the text is what every caller hears)."""

    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(summary="現在放送中のIVR案内（PBX用・公開）", responses=s.IvrActiveSerializer)
    def get(self, request):
        ann = selectors.ivr_announcement_active()
        data: dict[str, object]
        if ann is None:
            data = {"active": False, "id": None, "text": None, "starts_at": None, "ends_at": None}
        else:
            data = {"active": True, "id": ann.pk, "text": ann.text, "starts_at": ann.starts_at, "ends_at": ann.ends_at}
        response = Response(s.IvrActiveSerializer(data).data)
        response["Cache-Control"] = "max-age=30"
        return response


class SettingsView(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(summary="FAQ設定（クラスタリング・急増判定のしきい値）", responses=s.FaqSettingsSerializer)
    def get(self, request):
        return Response(s.FaqSettingsSerializer(selectors.faq_settings_get()).data)

    @extend_schema(
        summary="FAQ設定を変更（管理者）", request=s.FaqSettingsSerializer, responses=s.FaqSettingsSerializer
    )
    def patch(self, request):
        ser = s.FaqSettingsSerializer(selectors.faq_settings_get(), data=request.data, partial=True)
        ser.is_valid(raise_exception=True)
        obj = services.faq_settings_update(actor=request.user, **ser.validated_data)
        return Response(s.FaqSettingsSerializer(obj).data)
