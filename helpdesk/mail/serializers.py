"""Email API shapes."""

from rest_framework import serializers

from helpdesk import pii
from helpdesk.models import EmailMessage


class AttachmentSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    filename = serializers.CharField(read_only=True)
    content_type = serializers.CharField(read_only=True)
    size = serializers.IntegerField(read_only=True)
    truncated = serializers.BooleanField(read_only=True)


class EmailListSerializer(serializers.ModelSerializer):
    from_address: serializers.Field = serializers.SerializerMethodField()
    from_name: serializers.Field = serializers.SerializerMethodField()
    to_addresses: serializers.Field = serializers.SerializerMethodField()
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
