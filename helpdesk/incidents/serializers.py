"""Security incident API shapes (what each role may see)."""

from rest_framework import serializers

from helpdesk.api.fields import RecordDateTimeField, UserRefSerializer
from helpdesk.models import SecurityIncident


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
