"""FAQ app records. faq reads helpdesk inquiries and never writes them; everything here is
derived from them (embeddings, clusters, surges) or written by admins (FAQ entries, IVR)."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q


class FaqSettings(models.Model):
    """Admin-tunable thresholds (one row, pk=1). Defaults are the ones tuned on the dev set."""

    window_weeks = models.PositiveSmallIntegerField(default=12)
    # Clustering
    tfidf_weight = models.FloatField(default=0.4)
    # With auto_cut (the default) each run chooses its cut from the data (silhouette over
    # candidate cuts, docs/faq.md); distance_threshold is the cut only when auto_cut is off.
    auto_cut = models.BooleanField(default=True)
    distance_threshold = models.FloatField(default=0.80)
    min_cluster_size = models.PositiveIntegerField(default=3)
    max_sample = models.PositiveIntegerField(default=5000)
    # Surges
    surge_min_count = models.PositiveIntegerField(default=5)
    surge_min_ratio = models.FloatField(default=2.0)
    surge_alpha = models.FloatField(default=0.05)
    surge_baseline_weeks = models.PositiveSmallIntegerField(default=4)
    # A cluster this large with no FAQ entry proposes a draft even without a surge.
    draft_min_cluster_size = models.PositiveIntegerField(default=20)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "FAQ設定"
        verbose_name_plural = "FAQ設定"
        constraints = [
            models.CheckConstraint(condition=Q(pk=1), name="faq_settings_singleton"),
            models.CheckConstraint(condition=Q(tfidf_weight__gte=0) & Q(tfidf_weight__lte=1), name="faq_tfidf_w"),
            models.CheckConstraint(
                condition=Q(distance_threshold__gt=0) & Q(distance_threshold__lte=2), name="faq_distance_th"
            ),
            models.CheckConstraint(condition=Q(surge_alpha__gt=0) & Q(surge_alpha__lt=1), name="faq_alpha_range"),
            models.CheckConstraint(condition=Q(surge_min_ratio__gte=1), name="faq_min_ratio_ge_1"),
            models.CheckConstraint(condition=Q(window_weeks__gte=3), name="faq_window_min"),
            models.CheckConstraint(condition=Q(min_cluster_size__gte=2), name="faq_min_cluster_size"),
            models.CheckConstraint(condition=Q(surge_baseline_weeks__gte=1), name="faq_baseline_weeks"),
        ]

    def __str__(self) -> str:
        return "FAQ設定"


class InquiryEmbedding(models.Model):
    """One row per helpdesk inquiry: its content words and sentence embedding, computed once
    when the inquiry is saved (or by the periodic job for any that are missing/stale)."""

    inquiry = models.OneToOneField("helpdesk.Inquiry", on_delete=models.CASCADE, related_name="faq_embedding")
    model = models.CharField(max_length=64)  # "use-multilingual-v3", or "" when only tokens are stored
    text_hash = models.CharField(max_length=64)  # sha256 of the cleaned text: recompute when it changes
    tokens = models.TextField(blank=True)  # normalized content words, space-separated
    vector = models.BinaryField(null=True, blank=True)  # float32 × 512, little-endian
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["model"])]

    def __str__(self) -> str:
        return f"embedding of inquiry {self.inquiry_id}"


class ClusterRun(models.Model):
    class Status(models.TextChoices):
        RUNNING = "running", "実行中"
        DONE = "done", "完了"
        FAILED = "failed", "失敗"

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.RUNNING)
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    method = models.CharField(max_length=16, blank=True)  # hybrid | tfidf
    fallback_reason = models.CharField(max_length=255, blank=True)
    inquiries = models.PositiveIntegerField(default=0)
    clusters = models.PositiveIntegerField(default=0)
    unclustered = models.PositiveIntegerField(default=0)
    surges = models.PositiveIntegerField(default=0)
    sampled = models.BooleanField(default=False)
    cut = models.FloatField(null=True, blank=True)  # the distance threshold this run used
    merges = models.PositiveIntegerField(default=0)  # near-duplicate clusters merged after the cut
    splits = models.PositiveIntegerField(default=0)  # incoherent clusters split after the cut
    # Admins' recorded splits (ClusterSplit) this run applied to a cluster that again held
    # seeds of both sides — the decision kept, not a judgement of the clustering.
    admin_splits = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=["running", "done", "failed"]), name="faq_run_status"),
            models.CheckConstraint(condition=Q(window_end__gt=F("window_start")), name="faq_run_window"),
        ]

    def __str__(self) -> str:
        return f"run {self.pk} {self.started_at:%Y-%m-%d %H:%M}"


class TopicCluster(models.Model):
    """A recurring topic. `cluster_id` is stable run to run (matched to the previous run's
    centroids), so an admin can follow a topic week by week."""

    cluster_id = models.PositiveIntegerField(unique=True)
    keywords = models.JSONField(default=list)
    term_weights = models.JSONField(default=dict)
    centroid = models.BinaryField(null=True, blank=True)  # float32 × 512 unit vector
    size = models.PositiveIntegerField(default=0)
    weekly_counts = models.JSONField(default=dict)  # {"YYYY-MM-DD" (Monday): n}
    central_inquiries = models.JSONField(default=list)  # helpdesk Inquiry ids, most central first
    active = models.BooleanField(default=True)  # present in the latest run
    first_run = models.ForeignKey(ClusterRun, on_delete=models.PROTECT, related_name="+")
    last_run = models.ForeignKey(ClusterRun, on_delete=models.PROTECT, related_name="topic_clusters")

    class Meta:
        ordering = ["cluster_id"]

    def __str__(self) -> str:
        return f"#{self.cluster_id} {'・'.join(self.keywords[:3])}"

    @property
    def label(self) -> str:
        return "・".join(self.keywords[:2])


class ClusterMembership(models.Model):
    """Which cluster each inquiry fell in at the latest run (older runs' rows are removed)."""

    # The nightly job rewrites ~100 k of these rows (docs/faq.md, "Performance"). No single-column
    # indexes on run/cluster: the unique (run, inquiry) and the (cluster, run) indexes serve those
    # lookups. No database-level foreign key to the inquiry: checking it locks every inquiry row of
    # the window (FOR KEY SHARE, a write to each row of the busiest table) and was half the job's
    # PostgreSQL time; these rows are derived and replaced every night, and Django still deletes
    # them with their inquiry (on_delete=CASCADE is Django's, not the database's).
    run = models.ForeignKey(ClusterRun, on_delete=models.CASCADE, related_name="memberships", db_index=False)
    cluster = models.ForeignKey(TopicCluster, on_delete=models.CASCADE, related_name="memberships", db_index=False)
    inquiry = models.ForeignKey("helpdesk.Inquiry", on_delete=models.CASCADE, related_name="+", db_constraint=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "inquiry"], name="faq_membership_once_per_run")]
        indexes = [models.Index(fields=["cluster", "run"])]

    def __str__(self) -> str:
        return f"inquiry {self.inquiry_id} in cluster {self.cluster_id} (run {self.run_id})"


class ClusterSplit(models.Model):
    """An admin's "split this cluster" decision (docs/faq.md, "Split this cluster"): on
    `cluster`, the inquiries the admin marked as another topic and those that stay (the seeds,
    ClusterSplitSeed). Applied at once (the marked side became `new_cluster`) and by every
    nightly run to any cluster that again holds seeds of both sides — while it is in force:
    an admin's withdrawal (`withdrawn_at`, who, an optional note) ends it for every later run."""

    cluster = models.ForeignKey(TopicCluster, on_delete=models.PROTECT, related_name="splits_made")
    new_cluster = models.ForeignKey(TopicCluster, on_delete=models.PROTECT, related_name="split_from")
    note = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    moved = models.PositiveIntegerField()  # members that went to the new cluster when it was made
    stayed = models.PositiveIntegerField()  # members that stayed
    # The undo: null while the split is in force (faq.services.faq_cluster_split_withdraw).
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    withdrawn_note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=~Q(new_cluster=F("cluster")), name="faq_split_two_clusters"),
            models.CheckConstraint(condition=Q(moved__gte=1) & Q(stayed__gte=1), name="faq_split_both_sides"),
            # Who withdrew it and why only on a withdrawn split (who may be null: a deleted user).
            models.CheckConstraint(
                condition=Q(withdrawn_at__isnull=False) | (Q(withdrawn_by__isnull=True) & Q(withdrawn_note="")),
                name="faq_split_withdrawn_fields",
            ),
        ]

    def __str__(self) -> str:
        return f"split of cluster {self.cluster_id} → {self.new_cluster_id}"


class ClusterSplitSeed(models.Model):
    """One seed inquiry of a split, on one side: `marked` (the other topic) or `kept`."""

    class Side(models.TextChoices):
        MARKED = "marked", "別の話題"
        KEPT = "kept", "残す"

    split = models.ForeignKey(ClusterSplit, on_delete=models.CASCADE, related_name="seeds")
    inquiry = models.ForeignKey("helpdesk.Inquiry", on_delete=models.CASCADE, related_name="+")
    side = models.CharField(max_length=6, choices=Side.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["split", "inquiry"], name="faq_split_seed_once"),
            models.CheckConstraint(condition=Q(side__in=["marked", "kept"]), name="faq_split_seed_side"),
        ]

    def __str__(self) -> str:
        return f"inquiry {self.inquiry_id} {self.side} in split {self.split_id}"


class SurgeAlert(models.Model):
    class Kind(models.TextChoices):
        WEEKLY = "weekly", "週次"
        ROLLING = "rolling_7d", "直近7日"

    cluster = models.ForeignKey(TopicCluster, on_delete=models.PROTECT, related_name="surges")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    period_start = models.DateField()
    period_end = models.DateField()
    count = models.PositiveIntegerField()
    baseline = models.FloatField()
    ratio = models.FloatField()
    p_value = models.FloatField()
    threshold = models.FloatField()
    explanation = models.CharField(max_length=500)
    run = models.ForeignKey(ClusterRun, on_delete=models.PROTECT, related_name="surge_alerts")
    detected_at = models.DateTimeField()

    class Meta:
        ordering = ["-period_start", "cluster_id"]
        constraints = [
            models.UniqueConstraint(fields=["cluster", "kind", "period_start"], name="faq_surge_once"),
            models.CheckConstraint(condition=Q(kind__in=["weekly", "rolling_7d"]), name="faq_surge_kind"),
            models.CheckConstraint(condition=Q(period_end__gte=F("period_start")), name="faq_surge_period"),
            models.CheckConstraint(condition=Q(p_value__gte=0) & Q(p_value__lte=1), name="faq_surge_p"),
        ]

    def __str__(self) -> str:
        return self.explanation


class FaqCategory(models.Model):
    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=64, unique=True)
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["order", "name"]
        verbose_name_plural = "FAQ categories"

    def __str__(self) -> str:
        return self.name


class FaqEntry(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "下書き"
        PUBLISHED = "published", "公開中"
        RETIRED = "retired", "公開終了"

    class AnswerSource(models.TextChoices):
        """Where a proposed draft's answer came from (faq/drafts.py): the admin's review page
        says how much it needs before publishing."""

        NONE = "", "なし"
        RESOLUTION = "resolution", "対応記録"
        REPLY = "reply", "返信メール"
        PHONE_NOTES = "phone_notes", "電話メモの案内内容"

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT, db_index=True)
    question = models.CharField(max_length=500)
    answer = models.TextField(blank=True)
    category = models.ForeignKey(FaqCategory, null=True, blank=True, on_delete=models.PROTECT, related_name="entries")
    source_cluster = models.ForeignKey(
        TopicCluster, null=True, blank=True, on_delete=models.SET_NULL, related_name="faq_entries"
    )
    source_surge = models.ForeignKey(
        SurgeAlert, null=True, blank=True, on_delete=models.SET_NULL, related_name="faq_entries"
    )
    # What the draft proposal scrubbed from the question/answer (kind → count, e.g. {"phone": 1}):
    # the kinds only, never the removed values. Empty for entries written by hand.
    pii_removed = models.JSONField(default=dict, blank=True)
    # The proposal's answer source, as proposed (an admin's later edit does not change it); empty
    # for entries written by hand and drafts proposed without an answer.
    answer_source = models.CharField(max_length=12, choices=AnswerSource.choices, blank=True, default="")
    published_at = models.DateTimeField(null=True, blank=True)
    # Who published it (an admin's action, never a job): with published_at, the who and when.
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    retired_at = models.DateTimeField(null=True, blank=True)
    retired_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    version = models.PositiveIntegerField(default=1)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["category__order", "-published_at", "id"]
        verbose_name_plural = "FAQ entries"
        indexes = [models.Index(fields=["status", "-published_at"], name="faq_entry_status_pub")]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["draft", "published", "retired"]), name="faq_entry_status_valid"
            ),
            models.CheckConstraint(
                condition=~Q(status="published") | Q(published_at__isnull=False), name="faq_entry_published_has_date"
            ),
            models.CheckConstraint(
                condition=~Q(status="retired") | Q(retired_at__isnull=False), name="faq_entry_retired_has_date"
            ),
            models.CheckConstraint(condition=Q(version__gte=1), name="faq_entry_version_positive"),
            models.CheckConstraint(condition=~Q(question=""), name="faq_entry_question_required"),
            models.CheckConstraint(
                condition=Q(answer_source__in=["", "resolution", "reply", "phone_notes"]),
                name="faq_entry_answer_source_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.question


class FaqUsage(models.Model):
    """An agent answered this inquiry with this FAQ entry (sent its link / read it out)."""

    inquiry = models.ForeignKey("helpdesk.Inquiry", on_delete=models.CASCADE, related_name="faq_usages")
    entry = models.ForeignKey(FaqEntry, on_delete=models.PROTECT, related_name="usages")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["inquiry", "entry"], name="faq_usage_once")]

    def __str__(self) -> str:
        return f"{self.inquiry_id} → FAQ {self.entry_id}"


class IvrAnnouncement(models.Model):
    class Status(models.TextChoices):
        PROPOSED = "proposed", "提案"
        APPROVED = "approved", "承認済"
        REJECTED = "rejected", "却下"
        WITHDRAWN = "withdrawn", "取り下げ"

    text = models.CharField(max_length=500)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PROPOSED, db_index=True)
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    source_surge = models.ForeignKey(
        SurgeAlert, null=True, blank=True, on_delete=models.SET_NULL, related_name="ivr_announcements"
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "starts_at", "ends_at"], name="faq_ivr_active")]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["proposed", "approved", "rejected", "withdrawn"]), name="faq_ivr_status_valid"
            ),
            models.CheckConstraint(
                condition=~Q(status="approved")
                | (Q(starts_at__isnull=False) & Q(ends_at__isnull=False) & Q(approved_at__isnull=False)),
                name="faq_ivr_approved_has_period",
            ),
            models.CheckConstraint(
                condition=Q(starts_at__isnull=True) | Q(ends_at__isnull=True) | Q(ends_at__gt=F("starts_at")),
                name="faq_ivr_period_order",
            ),
        ]

    def __str__(self) -> str:
        return self.text
