"""Call API shapes."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from helpdesk import pii
from helpdesk.models import Call
from helpdesk.phone.upsert import WRITE_FIELDS


class CallListSerializer(serializers.ModelSerializer):
    caller: serializers.Field = serializers.SerializerMethodField()  # CallDetailSerializer: a CharField
    inquiry = serializers.SerializerMethodField()

    class Meta:
        model = Call
        # The call as the PBX import stores it (upsert.WRITE_FIELDS), its id and its inquiry.
        fields = ["call_id", *WRITE_FIELDS, "inquiry"]
        read_only_fields = fields

    def get_caller(self, obj) -> str:
        return pii.mask_phone(obj.caller)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_inquiry(self, obj):
        inquiry = getattr(obj, "inquiry", None)  # reverse one-to-one: absent → None
        return inquiry.ref if inquiry else None


class CallDetailSerializer(CallListSerializer):
    caller = serializers.CharField(read_only=True)
