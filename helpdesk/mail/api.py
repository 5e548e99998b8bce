"""Mail endpoints: replies, the outbox, attachments (staff only), mail file uploads and the
public inquiry form. Views parse, call one service or selector, serialize."""

import io

from django.http import FileResponse
from django.utils.functional import cached_property
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from helpdesk import pii
from helpdesk.api.fields import datetime_formatter
from helpdesk.api.pagination import DefaultCursorPagination
from helpdesk.api.permissions import IsStaffOperator, IsSupervisor
from helpdesk.audit import audit_pii_view
from helpdesk.errors import GoneError
from helpdesk.mail.filters import EmailMessageFilter
from helpdesk.mail.form import inquiry_form_submit
from helpdesk.mail.outbox import mail_reply_create, outbox_requeue
from helpdesk.mail.selectors import (
    email_get,
    email_list,
    mail_attachment_get,
    mail_import_rejects,
    mail_import_run_get,
    mail_inquiry_get,
    mail_outbox_list,
    mail_outbox_message_get,
)
from helpdesk.mail.serializers import EMAIL_PII_FIELDS, EmailDetailSerializer, EmailListSerializer
from helpdesk.mail.uploads import mail_import_enqueue
from helpdesk.models import EmailMessage


class ReplySerializer(serializers.Serializer):
    body = serializers.CharField(max_length=20000, trim_whitespace=False)
    subject = serializers.CharField(max_length=200, required=False, allow_blank=True)


class OutboxSerializer(serializers.ModelSerializer):
    """A queued or sent message as the outbox lists it: recipients masked like every list
    (the inquiry's page shows them in full, audited)."""

    inquiry = serializers.CharField(source="inquiry.ref", default=None)
    to_addresses = serializers.SerializerMethodField()

    def get_to_addresses(self, obj) -> str:
        return pii.mask_addresses(obj.to_addresses)

    def to_representation(self, instance) -> dict:
        """The same row as DRF's field-by-field walk (tests/helpdesk/mail/test_outbox_mime.py
        holds them equal), built directly: a ModelSerializer builds its twelve fields anew for
        every instance, about as much CPU as the reply's own message."""
        moment = self._moment
        status = instance.send_status
        return {
            "id": instance.pk,
            "message_id": instance.message_id,
            "inquiry": None if instance.inquiry_id is None else str(instance.inquiry.ref),
            "subject": instance.subject,
            "to_addresses": pii.mask_addresses(instance.to_addresses),
            "send_status": status if status in ("", None) else str(status),
            "send_attempts": instance.send_attempts,
            "last_send_error": instance.last_send_error,
            "send_next_attempt_at": moment(instance.send_next_attempt_at),
            "sent_at": moment(instance.sent_at),
            "is_auto_acknowledgement": instance.is_auto_acknowledgement,
            "created_at": moment(instance.created_at),
        }

    @cached_property
    def _moment(self):
        return datetime_formatter()

    def generic_representation(self, instance) -> dict:
        """DRF's field-by-field serialization (what to_representation must equal)."""
        return super().to_representation(instance)

    class Meta:
        model = EmailMessage
        fields = [
            "id",
            "message_id",
            "inquiry",
            "subject",
            "to_addresses",
            "send_status",
            "send_attempts",
            "last_send_error",
            "send_next_attempt_at",
            "sent_at",
            "is_auto_acknowledgement",
            "created_at",
        ]


class OutboxQuerySerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=[c for c, _ in EmailMessage.SendStatus.choices if c], required=False, allow_blank=True
    )
    inquiry = serializers.CharField(max_length=32, required=False, allow_blank=True)


class InquiryReplyView(APIView):
    permission_classes = [IsStaffOperator]

    @extend_schema(summary="メール・フォームの問い合わせに返信（送信待ちに登録）", request=ReplySerializer,
                   responses={202: OutboxSerializer})  # fmt: skip
    def post(self, request, ref: str):
        serializer = ReplySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        inquiry = mail_inquiry_get(ref=ref)
        message = mail_reply_create(inquiry=inquiry, actor=request.user, **serializer.validated_data)
        return Response(OutboxSerializer(message).data, status=status.HTTP_202_ACCEPTED)


class OutboxListView(APIView):
    permission_classes = [IsStaffOperator]

    @extend_schema(
        summary="送信キュー（送信待ち・送信中・送信済・送信失敗）",
        parameters=[OutboxQuerySerializer],
        responses={200: OutboxSerializer(many=True)},
    )
    def get(self, request):
        query = OutboxQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        qs = mail_outbox_list(
            status=query.validated_data.get("status"), inquiry_ref=query.validated_data.get("inquiry")
        )
        return Response(OutboxSerializer(qs[:200], many=True).data)


class OutboxRequeueView(APIView):
    permission_classes = [IsStaffOperator]

    @extend_schema(summary="送信失敗のメールを再送", request=None, responses={202: OutboxSerializer})
    def post(self, request, pk: int):
        message = mail_outbox_message_get(pk=pk)
        message = outbox_requeue(message=message, actor=request.user)
        return Response(OutboxSerializer(message).data, status=status.HTTP_202_ACCEPTED)


class AttachmentDownloadView(APIView):
    """Files citizens sent: staff only, always as a download (never rendered inline), and
    every download leaves a VIEW_PII audit row."""

    permission_classes = [IsStaffOperator]

    @extend_schema(
        summary="添付ファイルのダウンロード（スタッフのみ・監査記録）",
        responses={(200, "application/octet-stream"): bytes, 404: None, 410: None},
    )
    def get(self, request, pk: int, n: int):
        attachment = mail_attachment_get(message_pk=pk, n=n)
        if attachment.truncated or attachment.content is None:
            raise GoneError(
                "サイズ上限を超えたため保存されていない添付ファイルです。",
                code="attachment_not_kept",
                extra={"filename": attachment.filename, "size": attachment.size},
            )
        audit_pii_view(
            actor=request.user, obj=attachment.message, fields=["attachment"], note=f"attachment {n} downloaded"
        )
        response = FileResponse(
            io.BytesIO(bytes(attachment.content)),
            as_attachment=True,
            filename=attachment.filename or f"attachment-{n}.bin",
            content_type="application/octet-stream",
        )
        response["X-Content-Type-Options"] = "nosniff"
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
        response["Cache-Control"] = "private, no-store"
        return response


class MailImportUploadView(APIView):
    """Upload mbox / .eml files; the import runs as a Celery task. Poll
    GET /api/mail/imports/{id}/ for progress and the report line."""

    permission_classes = [IsSupervisor]
    parser_classes = [MultiPartParser]

    @extend_schema(summary="メールファイル（mbox / .eml）の取込", request={"multipart/form-data": {"type": "object"}},
                   responses={202: None})  # fmt: skip
    def post(self, request):
        files = request.FILES.getlist("file") or request.FILES.getlist("files")
        run = mail_import_enqueue(uploads=files, created_by=request.user)
        return Response({"id": run.pk, "status": run.status, "status_url": f"/api/mail/imports/{run.pk}/"}, status=202)


class MailImportDetailView(APIView):
    permission_classes = [IsSupervisor]

    @extend_schema(summary="メール取込の状況", responses={200: None})
    def get(self, request, pk: int):
        run = mail_import_run_get(pk=pk)
        rejects = mail_import_rejects(run=run)
        return Response(
            {
                "id": run.pk,
                "status": run.status,
                "summary": run.summary(),
                "read": run.read,
                "created": run.created,
                "updated": run.updated,
                "unchanged": run.unchanged,
                "rejected": run.rejected,
                "error": run.error,
                "rejects": rejects,
            }
        )


# --- public inquiry form ----------------------------------------------------------------------


class InquiryFormSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    email = serializers.EmailField(max_length=254)
    phone = serializers.RegexField(r"^[0-9０-９+\-() ]{0,20}$", required=False, allow_blank=True, max_length=20)
    organization = serializers.CharField(max_length=200, required=False, allow_blank=True)
    subject = serializers.CharField(max_length=200)
    body = serializers.CharField(max_length=10000)
    # Honeypot: hidden from people, filled in by bots.
    website = serializers.CharField(required=False, allow_blank=True, max_length=200)

    def validate_website(self, value):
        if value:
            raise serializers.ValidationError("送信できませんでした。")
        return value


class InquiryFormThrottle(ScopedRateThrottle):
    scope_attr = "throttle_scope"


class InquiryFormView(APIView):
    """Public: no authentication, rate-limited per client IP, honeypot-protected."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [InquiryFormThrottle]
    throttle_scope = "inquiry_form"
    parser_classes = [JSONParser, FormParser]

    @extend_schema(summary="問い合わせフォーム（公開・認証不要）", request=InquiryFormSerializer, responses={201: None})
    def post(self, request):
        serializer = InquiryFormSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data.pop("website", None)
        inquiry = inquiry_form_submit(**data)
        return Response(
            {"ref": inquiry.ref, "message": f"お問い合わせを受け付けました。受付番号は {inquiry.ref} です。"},
            status=status.HTTP_201_CREATED,
        )


class EmailCursorPagination(DefaultCursorPagination):
    ordering = ("-received_at", "-id")


class EmailListView(generics.ListAPIView):
    permission_classes = [IsStaffOperator]
    serializer_class = EmailListSerializer
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
        summary="メールの詳細（アドレス・本文を含む。閲覧は監査ログに記録）", responses={200: EmailDetailSerializer}
    )
    def get(self, request, pk: int):
        message = email_get(pk=pk)
        fields = [f for f in EMAIL_PII_FIELDS if getattr(message, f)]
        if fields:
            audit_pii_view(actor=request.user, obj=message, fields=fields, note="api email detail")
        return Response(EmailDetailSerializer(message).data)
