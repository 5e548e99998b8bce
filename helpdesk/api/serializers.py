"""Input and output shapes of the core API. Input serializers only parse and validate
the shape of fields (types, lengths, choices); every business rule — who may assign whom,
one inquiry per call, which fields need a correction reason, time ordering — lives in the
services, so API views, pages, commands, tasks and the admin enforce the same rules.
Output serializers for lists mask personal information (helpdesk.pii); detail serializers
show it and the view writes the VIEW_PII audit row."""

import datetime as dt

from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from helpdesk import pii
from helpdesk.models import Call, Complaint, EmailMessage, Escalation, Inquiry, SecurityIncident

User = get_user_model()

# Before 1888 Tokyo kept local mean time (+09:18:59), which no RFC 3339 date-time can state:
# a record time that old is a typo, refused with the field named rather than echoed back in
# an offset the published schema (and most clients) cannot parse.
EARLIEST_RECORD_TIME = dt.datetime(1900, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=9)))


class RecordDateTimeField(serializers.DateTimeField):
    """A record's moment (arrival, answer, occurrence…): from 1900 on."""

    def to_internal_value(self, value):
        parsed = super().to_internal_value(value)
        if parsed < EARLIEST_RECORD_TIME:
            raise serializers.ValidationError("1900年より前の日時は指定できません。")
        return parsed


@extend_schema_field({"oneOf": [{"type": "string", "format": "email"}, {"type": "string", "maxLength": 0}]})
class BlankableEmailField(serializers.EmailField):
    """An e-mail address or "" (no address given): the schema says both, as the data has both."""


@extend_schema_field(
    {
        "type": "string",
        "pattern": r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?$",
        "example": "09:00:00",
        "description": "東京時間の時刻（時差なし）",
    }
)
class LocalTimeField(serializers.TimeField):
    """A wall-clock time of day in Tokyo. OpenAPI's `format: time` (RFC 3339 full-time) demands
    a UTC offset that an opening hour does not have, so the schema states the real shape."""


class UserRefSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    username = serializers.CharField(read_only=True)


# --- inquiries ---------------------------------------------------------------------------


class InquiryListSerializer(serializers.ModelSerializer):
    """One row of the agents' queue. Contact details are masked; the body is not sent."""

    assigned_to = UserRefSerializer(read_only=True, allow_null=True)
    requester_name = serializers.SerializerMethodField()
    requester_email = serializers.SerializerMethodField()
    requester_phone = serializers.SerializerMethodField()

    class Meta:
        model = Inquiry
        fields = [
            "ref",
            "channel",
            "status",
            "category",
            "subject",
            "requester_name",
            "requester_email",
            "requester_phone",
            "assigned_to",
            "received_at",
            "first_answered_at",
            "wrapup_completed_at",
            "resolved_at",
            "version",
        ]
        read_only_fields = fields

    def get_requester_name(self, obj) -> str:
        return pii.mask_name(obj.requester_name)

    def get_requester_email(self, obj) -> str:
        return pii.mask_email(obj.requester_email)

    def get_requester_phone(self, obj) -> str:
        return pii.mask_phone(obj.requester_phone)


class InquiryDetailSerializer(serializers.ModelSerializer):
    """The full record, personal information included (staff operators only, audit-logged)."""

    assigned_to = UserRefSerializer(read_only=True, allow_null=True)
    call_id = serializers.CharField(source="call.call_id", read_only=True, allow_null=True, default=None)
    source_message_id = serializers.IntegerField(read_only=True, allow_null=True)
    requester_email = BlankableEmailField(read_only=True)

    class Meta:
        model = Inquiry
        fields = [
            "ref",
            "channel",
            "status",
            "category",
            "subject",
            "body",
            "resolution",
            "ministry_guidance",
            "requester_name",
            "requester_email",
            "requester_phone",
            "requester_organization",
            "assigned_to",
            "call_id",
            "source_message_id",
            "received_at",
            "first_answered_at",
            "wrapup_completed_at",
            "resolved_at",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


# The contact fields an inquiry's detail view reveals (recorded in the VIEW_PII audit row).
INQUIRY_PII_FIELDS = ("requester_name", "requester_email", "requester_phone", "requester_organization", "body")


class InquiryCreateSerializer(serializers.Serializer):
    channel = serializers.ChoiceField(choices=Inquiry.Channel.choices)
    received_at = RecordDateTimeField(required=False, help_text="省略時は現在時刻（電話で通話指定時は着信時刻）")
    subject = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
    body = serializers.CharField(required=False, allow_blank=True, default="")
    category = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    resolution = serializers.CharField(required=False, allow_blank=True, default="")
    ministry_guidance = serializers.BooleanField(required=False, default=False)
    requester_name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    requester_email = BlankableEmailField(max_length=254, required=False, allow_blank=True, default="")
    requester_phone = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    requester_organization = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    call_id = serializers.SlugRelatedField(
        slug_field="call_id",
        queryset=Call.objects.all(),
        required=False,
        allow_null=True,
        default=None,
        help_text="電話の問い合わせを記録する通話（PBXの通話ID）",
    )
    assigned_to = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True), required=False, allow_null=True, default=None
    )


class InquiryUpdateSerializer(serializers.Serializer):
    """PATCH body. `version` (the version read) is required unless the request sends
    `If-Match: "v<version>"`."""

    version = serializers.IntegerField(min_value=1, required=False)
    subject = serializers.CharField(max_length=255, required=False, allow_blank=True)
    body = serializers.CharField(required=False, allow_blank=True)
    category = serializers.CharField(max_length=64, required=False, allow_blank=True)
    resolution = serializers.CharField(required=False, allow_blank=True)
    ministry_guidance = serializers.BooleanField(required=False)
    requester_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    requester_email = BlankableEmailField(max_length=254, required=False, allow_blank=True)
    requester_phone = serializers.CharField(max_length=64, required=False, allow_blank=True)
    requester_organization = serializers.CharField(max_length=200, required=False, allow_blank=True)
    reason = serializers.CharField(
        max_length=1000, required=False, allow_blank=True, default="", help_text="契約指標に関わる項目を変える理由"
    )

    def validate(self, attrs):
        # A PATCH of `status` or `assigned_to` must not be silently ignored: those have
        # their own endpoints (transition, assign) with their own rules.
        unknown = sorted(set(getattr(self, "initial_data", {}) or {}) - set(self.fields))
        if unknown:
            raise serializers.ValidationError(
                {name: ["この項目はここでは変更できません（状態は transition、担当者は assign）。"] for name in unknown}
            )
        return attrs


class InquiryAssignSerializer(serializers.Serializer):
    assignee = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True), allow_null=True, help_text="ユーザーID、null で割当解除"
    )
    version = serializers.IntegerField(min_value=1, required=False)


class InquiryTransitionSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Inquiry.Status.choices)
    version = serializers.IntegerField(min_value=1, required=False)
    at = RecordDateTimeField(required=False, help_text="状態変更の時刻（省略時は現在）")


class InquiryCorrectionSerializer(serializers.Serializer):
    """A supervisor's correction of fields that feed a contract figure. Only the fields
    sent are corrected; `reason` is required and kept in the audit row."""

    version = serializers.IntegerField(min_value=1, required=False)
    reason = serializers.CharField(max_length=1000, help_text="訂正の理由（監査ログに記録）")
    channel = serializers.ChoiceField(choices=Inquiry.Channel.choices, required=False)
    received_at = RecordDateTimeField(required=False)
    first_answered_at = RecordDateTimeField(required=False, allow_null=True)
    wrapup_completed_at = RecordDateTimeField(required=False, allow_null=True)
    resolved_at = RecordDateTimeField(required=False, allow_null=True)
    ministry_guidance = serializers.BooleanField(required=False)

    def validate(self, attrs):
        unknown = sorted(set(getattr(self, "initial_data", {}) or {}) - set(self.fields))
        if unknown:
            raise serializers.ValidationError({name: ["この項目は訂正の対象ではありません。"] for name in unknown})
        return attrs


# --- escalations -------------------------------------------------------------------------


class EscalationSerializer(serializers.ModelSerializer):
    inquiry = serializers.CharField(source="inquiry.ref", read_only=True)
    is_external = serializers.BooleanField(read_only=True)
    escalated_by = UserRefSerializer(read_only=True, allow_null=True)
    requested_by = UserRefSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Escalation
        fields = [
            "id",
            "inquiry",
            "target",
            "is_external",
            "organization",
            "escalated_at",
            "returned_at",
            "note",
            "answer",
            "requested_by",
            "escalated_by",
        ]
        read_only_fields = fields


class EscalationCreateSerializer(serializers.Serializer):
    target = serializers.ChoiceField(choices=Escalation.Target.choices)
    organization = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    note = serializers.CharField(required=False, allow_blank=True, default="")
    escalated_at = RecordDateTimeField(required=False)


class EscalationReturnSerializer(serializers.Serializer):
    answer = serializers.CharField(allow_blank=False)
    returned_at = RecordDateTimeField(required=False)


# --- complaints --------------------------------------------------------------------------


class ComplaintSerializer(serializers.ModelSerializer):
    inquiry = serializers.CharField(source="inquiry.ref", read_only=True)
    recorded_by = UserRefSerializer(read_only=True, allow_null=True)
    confirmed_by = UserRefSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Complaint
        fields = [
            "id",
            "inquiry",
            "received_at",
            "cause",
            "description",
            "recorded_by",
            "confirmed_by",
            "confirmed_at",
        ]
        read_only_fields = fields


class ComplaintCreateSerializer(serializers.Serializer):
    inquiry = serializers.SlugRelatedField(slug_field="ref", queryset=Inquiry.objects.all())
    description = serializers.CharField(required=False, allow_blank=True, default="")
    received_at = RecordDateTimeField(required=False)


class ComplaintClassifySerializer(serializers.Serializer):
    cause = serializers.ChoiceField(choices=Complaint.Cause.choices)
    confirmed_at = RecordDateTimeField(required=False)
    reason = serializers.CharField(
        max_length=1000, required=False, allow_blank=True, default="", help_text="確定済みの原因を訂正する理由"
    )


# --- security incidents ------------------------------------------------------------------


class SecurityIncidentSerializer(serializers.ModelSerializer):
    reported_by = UserRefSerializer(read_only=True, allow_null=True)

    class Meta:
        model = SecurityIncident
        fields = ["id", "occurred_at", "detected_at", "severity", "kind", "description", "reported_by", "created_at"]
        read_only_fields = fields


class SecurityIncidentReviewerSerializer(SecurityIncidentSerializer):
    """What a ministry reviewer sees: the metric's facts, not the description."""

    class Meta(SecurityIncidentSerializer.Meta):
        fields = ["id", "occurred_at", "detected_at", "severity", "kind", "created_at"]
        read_only_fields = fields


class SecurityIncidentViewSerializer(SecurityIncidentSerializer):
    """The schema of a security incident as read: an admin gets every field; a reviewer gets
    the same without `description` and `reported_by` (so those two are optional here). One
    shape rather than a `oneOf` of both, which an admin's answer would match twice."""

    description = serializers.CharField(required=False, help_text="管理者のみ（レビュー担当には含まれない）")
    reported_by = UserRefSerializer(
        required=False, allow_null=True, help_text="管理者のみ（レビュー担当には含まれない）"
    )


class SecurityIncidentWriteSerializer(serializers.Serializer):
    occurred_at = RecordDateTimeField()
    detected_at = RecordDateTimeField()
    severity = serializers.ChoiceField(choices=SecurityIncident.Severity.choices)
    kind = serializers.ChoiceField(choices=SecurityIncident.Kind.choices, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    reason = serializers.CharField(
        max_length=1000,
        required=False,
        allow_blank=True,
        default="",
        help_text="更新時、発生日時・検知日時・重大度を変える理由（監査ログに記録）",
    )


# --- calls and mail (read only) ----------------------------------------------------------


class CallListSerializer(serializers.ModelSerializer):
    caller = serializers.SerializerMethodField()
    inquiry = serializers.SerializerMethodField()

    class Meta:
        model = Call
        fields = [
            "call_id",
            "arrived_at",
            "caller",
            "outcome",
            "in_service_hours",
            "queue",
            "queued_at",
            "answered_at",
            "ended_at",
            "agent",
            "acw_seconds",
            "source",
            "inquiry",
        ]
        read_only_fields = fields

    def get_caller(self, obj) -> str:
        return pii.mask_phone(obj.caller)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_inquiry(self, obj):
        inquiry = getattr(obj, "inquiry", None)  # reverse one-to-one: absent → None
        return inquiry.ref if inquiry else None


class CallDetailSerializer(CallListSerializer):
    caller = serializers.CharField(read_only=True)


class AttachmentSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    filename = serializers.CharField(read_only=True)
    content_type = serializers.CharField(read_only=True)
    size = serializers.IntegerField(read_only=True)
    truncated = serializers.BooleanField(read_only=True)


class EmailListSerializer(serializers.ModelSerializer):
    from_address = serializers.SerializerMethodField()
    from_name = serializers.SerializerMethodField()
    to_addresses = serializers.SerializerMethodField()
    inquiry = serializers.CharField(source="inquiry.ref", read_only=True, allow_null=True, default=None)

    class Meta:
        model = EmailMessage
        fields = [
            "id",
            "message_id",
            "direction",
            "source",
            "inquiry",
            "from_address",
            "from_name",
            "to_addresses",
            "subject",
            "sent_at",
            "received_at",
            "is_auto_acknowledgement",
            "charset_problem",
            "send_status",
        ]
        read_only_fields = fields

    def get_from_address(self, obj) -> str:
        return pii.mask_email(obj.from_address)

    def get_from_name(self, obj) -> str:
        return pii.mask_name(obj.from_name)

    def get_to_addresses(self, obj) -> str:
        return ", ".join(pii.mask_email(a.strip()) for a in obj.to_addresses.split(",") if a.strip())


class EmailDetailSerializer(EmailListSerializer):
    from_address = serializers.CharField(read_only=True)
    from_name = serializers.CharField(read_only=True)
    to_addresses = serializers.CharField(read_only=True)
    attachments = AttachmentSerializer(many=True, read_only=True)

    class Meta(EmailListSerializer.Meta):
        fields = [
            *EmailListSerializer.Meta.fields,
            "in_reply_to",
            "references",
            "body_text",
            "body_html",
            "attachments",
        ]
        read_only_fields = fields


EMAIL_PII_FIELDS = ("from_address", "from_name", "to_addresses", "body_text", "body_html")
