"""Escalation API shapes."""

from rest_framework import serializers

from helpdesk.api.fields import RecordDateTimeField, UserRefSerializer
from helpdesk.models import Escalation


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
