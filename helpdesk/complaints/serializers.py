"""Complaint API shapes."""

from rest_framework import serializers

from helpdesk.api.fields import RecordDateTimeField, TextSlugRelatedField, UserRefSerializer
from helpdesk.models import Complaint, Inquiry


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
    inquiry = TextSlugRelatedField(slug_field="ref", queryset=Inquiry.objects.all())
    description = serializers.CharField(required=False, allow_blank=True, default="")
    received_at = RecordDateTimeField(required=False)


class ComplaintClassifySerializer(serializers.Serializer):
    cause = serializers.ChoiceField(choices=Complaint.Cause.choices)
    confirmed_at = RecordDateTimeField(required=False)
    reason = serializers.CharField(
        max_length=1000, required=False, allow_blank=True, default="", help_text="確定済みの原因を訂正する理由"
    )
