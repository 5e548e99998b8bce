"""Inquiry API shapes."""

from django.utils.functional import cached_property
from rest_framework import serializers

from helpdesk import pii
from helpdesk.api.fields import (
    BlankableEmailField,
    RecordDateTimeField,
    TextSlugRelatedField,
    User,
    UserRefSerializer,
    datetime_formatter,
)
from helpdesk.models import Call, Inquiry


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

    def to_representation(self, instance) -> dict:
        """The same row as the generic path (tests/helpdesk/inquiries/test_serializers.py holds
        them equal), built directly from the plain values the list reads
        (helpdesk.inquiries.selectors.inquiry_list_rows) or from an Inquiry: a page of 50 rows
        costs a tenth of the CPU DRF's field-by-field walk does, and needs none of its fields."""
        row = instance if isinstance(instance, dict) else _list_values(instance)
        assignee = row["assigned_to_id"]
        moment = self._moment
        return {
            "ref": row["ref"],
            "channel": row["channel"],
            "status": row["status"],
            "category": row["category"],
            "subject": row["subject"],
            "requester_name": pii.mask_name(row["requester_name"]),
            "requester_email": pii.mask_email(row["requester_email"]),
            "requester_phone": pii.mask_phone(row["requester_phone"]),
            "assigned_to": None if assignee is None else {"id": assignee, "username": row["assigned_to__username"]},
            "received_at": moment(row["received_at"]),
            "first_answered_at": moment(row["first_answered_at"]),
            "wrapup_completed_at": moment(row["wrapup_completed_at"]),
            "resolved_at": moment(row["resolved_at"]),
            "version": row["version"],
        }

    @cached_property
    def _moment(self):
        """DRF's DateTimeField formatting (time zone, ISO 8601), without building the fields."""
        return datetime_formatter()

    def generic_representation(self, instance) -> dict:
        """DRF's field-by-field serialization of the row (what to_representation must equal)."""
        return super().to_representation(instance)

    def get_requester_name(self, obj) -> str:
        return pii.mask_name(obj.requester_name)

    def get_requester_email(self, obj) -> str:
        return pii.mask_email(obj.requester_email)

    def get_requester_phone(self, obj) -> str:
        return pii.mask_phone(obj.requester_phone)


def _list_values(inquiry: Inquiry) -> dict:
    """An Inquiry as the plain values of a list row (what inquiry_list_rows reads)."""
    assignee = inquiry.assigned_to
    return {
        "ref": inquiry.ref,
        "channel": inquiry.channel,
        "status": inquiry.status,
        "category": inquiry.category,
        "subject": inquiry.subject,
        "requester_name": inquiry.requester_name,
        "requester_email": inquiry.requester_email,
        "requester_phone": inquiry.requester_phone,
        "assigned_to_id": None if assignee is None else assignee.pk,
        "assigned_to__username": None if assignee is None else assignee.username,
        "received_at": inquiry.received_at,
        "first_answered_at": inquiry.first_answered_at,
        "wrapup_completed_at": inquiry.wrapup_completed_at,
        "resolved_at": inquiry.resolved_at,
        "version": inquiry.version,
    }


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

    def to_representation(self, instance) -> dict:
        """The same record as the generic path (tests/helpdesk/inquiries/test_serializers.py
        holds them equal), built directly: DRF builds 22 fields for every detail response
        (about 2 ms of CPU) only to read them back in order."""
        assignee = instance.assigned_to
        call = instance.call
        moment = self._moment
        return {
            "ref": instance.ref,
            "channel": _text(instance.channel),
            "status": _text(instance.status),
            "category": instance.category,
            "subject": instance.subject,
            "body": instance.body,
            "resolution": instance.resolution,
            "ministry_guidance": bool(instance.ministry_guidance),
            "requester_name": instance.requester_name,
            "requester_email": instance.requester_email,
            "requester_phone": instance.requester_phone,
            "requester_organization": instance.requester_organization,
            "assigned_to": None if assignee is None else {"id": assignee.pk, "username": assignee.username},
            "call_id": None if call is None else call.call_id,
            "source_message_id": instance.source_message_id,
            "received_at": moment(instance.received_at),
            "first_answered_at": moment(instance.first_answered_at),
            "wrapup_completed_at": moment(instance.wrapup_completed_at),
            "resolved_at": moment(instance.resolved_at),
            "version": instance.version,
            "created_at": moment(instance.created_at),
            "updated_at": moment(instance.updated_at),
        }

    @cached_property
    def _moment(self):
        return datetime_formatter()

    def generic_representation(self, instance) -> dict:
        """DRF's field-by-field serialization of the record (what to_representation must equal)."""
        return super().to_representation(instance)


def _text(value):
    """A choice's stored value as DRF's ChoiceField gives it: the plain string, not the enum."""
    return value if value in ("", None) else str(value)


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
    call_id = TextSlugRelatedField(
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
