from rest_framework import serializers

from faq.models import FaqCategory, FaqEntry, FaqSettings, IvrAnnouncement, SurgeAlert, TopicCluster
from helpdesk.api.fields import TextSlugRelatedField


class FaqCategorySerializer(serializers.ModelSerializer):
    class Meta:
        model = FaqCategory
        fields = ["id", "name", "slug", "order"]


class PublicFaqEntrySerializer(serializers.ModelSerializer):
    category = FaqCategorySerializer(read_only=True, allow_null=True)

    class Meta:
        model = FaqEntry
        fields = ["id", "question", "answer", "category", "published_at", "version"]


class FaqEntrySerializer(serializers.ModelSerializer):
    """Admins' view: drafts and retired entries too, with where a draft came from."""

    category = FaqCategorySerializer(read_only=True, allow_null=True)
    source_cluster = serializers.IntegerField(
        source="source_cluster.cluster_id", read_only=True, allow_null=True, default=None
    )
    source_surge = serializers.CharField(
        source="source_surge.explanation", read_only=True, allow_null=True, default=None
    )

    class Meta:
        model = FaqEntry
        fields = [
            "id",
            "status",
            "question",
            "answer",
            "category",
            "source_cluster",
            "source_surge",
            "pii_removed",
            "answer_source",
            "published_at",
            "retired_at",
            "version",
            "created_at",
            "updated_at",
        ]


class FaqEntryWriteSerializer(serializers.Serializer):
    question = serializers.CharField(max_length=500, required=False)
    answer = serializers.CharField(allow_blank=True, required=False)
    category = TextSlugRelatedField(
        slug_field="slug", queryset=FaqCategory.objects.all(), allow_null=True, required=False
    )
    version = serializers.IntegerField(min_value=1, required=False)


class FaqSuggestionSerializer(serializers.Serializer):
    entry = PublicFaqEntrySerializer()
    score = serializers.FloatField()


class FaqUsageCreateSerializer(serializers.Serializer):
    inquiry = serializers.CharField(help_text="問い合わせ番号（EG-…）")
    entry = serializers.IntegerField()


class FaqUsageSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    inquiry = serializers.CharField()
    entry = serializers.IntegerField()
    recorded_at = serializers.DateTimeField()


class UsageShareSerializer(serializers.Serializer):
    month = serializers.CharField()
    inquiries = serializers.IntegerField()
    answered_with_faq = serializers.IntegerField()
    share = serializers.FloatField(allow_null=True)


class TopicClusterSerializer(serializers.ModelSerializer):
    id = serializers.IntegerField(source="cluster_id")

    class Meta:
        model = TopicCluster
        fields = ["id", "keywords", "size", "weekly_counts", "central_inquiries", "active"]


class SurgeAlertSerializer(serializers.ModelSerializer):
    cluster = serializers.IntegerField(source="cluster.cluster_id")
    keywords = serializers.ListField(source="cluster.keywords", child=serializers.CharField())

    class Meta:
        model = SurgeAlert
        fields = [
            "id",
            "cluster",
            "keywords",
            "kind",
            "period_start",
            "period_end",
            "count",
            "baseline",
            "ratio",
            "p_value",
            "threshold",
            "explanation",
            "detected_at",
        ]


class IvrAnnouncementSerializer(serializers.ModelSerializer):
    class Meta:
        model = IvrAnnouncement
        fields = ["id", "text", "status", "starts_at", "ends_at", "source_surge", "approved_at", "created_at"]


class IvrActiveSerializer(serializers.Serializer):
    active = serializers.BooleanField()
    id = serializers.IntegerField(allow_null=True)
    text = serializers.CharField(allow_null=True)
    starts_at = serializers.DateTimeField(allow_null=True)
    ends_at = serializers.DateTimeField(allow_null=True)


class IvrApproveSerializer(serializers.Serializer):
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    text = serializers.CharField(max_length=500, required=False)


class IvrCreateSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=500)


class FaqSettingsSerializer(serializers.ModelSerializer):
    class Meta:
        model = FaqSettings
        exclude = ["id"]
        read_only_fields = ["updated_at"]
