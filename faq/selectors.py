"""Reads of the faq app. Aggregates in the database; no writes."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from faq import clustering, text
from faq.models import (
    ClusterRun,
    FaqEntry,
    FaqSettings,
    FaqUsage,
    InquiryEmbedding,
    IvrAnnouncement,
    SurgeAlert,
    TopicCluster,
)
from helpdesk.clock import month_bounds
from helpdesk.models import Inquiry


def faq_settings_get() -> FaqSettings:
    obj, _ = FaqSettings.objects.get_or_create(pk=1)
    return obj


def faq_entry_list_published(*, q: str = "", category: str = "") -> QuerySet[FaqEntry]:
    """Published entries, optionally filtered by category slug and by every word of `q`
    (NFKC-normalized, so full-width and half-width input match the same entries)."""
    qs = FaqEntry.objects.filter(status=FaqEntry.Status.PUBLISHED).select_related("category")
    if category:
        qs = qs.filter(category__slug=category)
    for word in text.normalize(q).split()[:8]:
        qs = qs.filter(Q(question__icontains=word) | Q(answer__icontains=word))
    return qs.order_by("category__order", "category__name", "-published_at", "id")


def faq_entry_list(*, status: str = "") -> QuerySet[FaqEntry]:
    qs = FaqEntry.objects.select_related("category", "source_cluster", "source_surge")
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-updated_at", "-id")


def topic_cluster_list(*, active_only: bool = True) -> QuerySet[TopicCluster]:
    qs = TopicCluster.objects.all()
    if active_only:
        qs = qs.filter(active=True)
    return qs.order_by("cluster_id")


def surge_alert_list() -> QuerySet[SurgeAlert]:
    return SurgeAlert.objects.select_related("cluster").order_by("-period_start", "cluster__cluster_id")


def cluster_run_latest() -> ClusterRun | None:
    return ClusterRun.objects.filter(status=ClusterRun.Status.DONE).order_by("-started_at", "-id").first()


def ivr_announcement_active(*, at: dt.datetime | None = None) -> IvrAnnouncement | None:
    """The approved announcement whose period covers `at` (latest start wins if several overlap)."""
    at = at or timezone.now()
    return (
        IvrAnnouncement.objects.filter(status=IvrAnnouncement.Status.APPROVED, starts_at__lte=at, ends_at__gt=at)
        .order_by("-starts_at", "-id")
        .first()
    )


@dataclass(frozen=True)
class UsageShare:
    month: str
    inquiries: int
    answered_with_faq: int

    @property
    def share(self) -> float | None:
        return round(self.answered_with_faq / self.inquiries, 4) if self.inquiries else None


def faq_usage_share(*, month: str) -> UsageShare:
    """Inquiries received in the month (Tokyo) and how many were answered with at least one FAQ link."""
    start, end = month_bounds(month)
    agg = Inquiry.objects.filter(received_at__gte=start, received_at__lt=end).aggregate(
        inquiries=Count("id"),
        answered=Count("id", filter=Q(id__in=FaqUsage.objects.values("inquiry_id")), distinct=True),
    )
    return UsageShare(month=month, inquiries=agg["inquiries"], answered_with_faq=agg["answered"])


# --- suggestions ------------------------------------------------------------------------------

_entry_vectors: dict[tuple[int, int], np.ndarray] = {}


def _entry_text(entry: FaqEntry) -> str:
    return text.inquiry_text(entry.question, entry.answer)


def _entry_embeddings(entries: list[FaqEntry]) -> np.ndarray | None:
    missing = [e for e in entries if (e.pk, e.version) not in _entry_vectors]
    if missing:
        try:
            vecs = clustering.embed_texts([_entry_text(e) for e in missing])
        except clustering.EmbeddingUnavailable:
            return None
        for e, v in zip(missing, vecs, strict=True):
            _entry_vectors[(e.pk, e.version)] = v
    return np.vstack([_entry_vectors[(e.pk, e.version)] for e in entries])


def faq_entry_suggestions(*, inquiry: Inquiry, limit: int = 5) -> list[tuple[FaqEntry, float]]:
    """Published entries nearest to the inquiry: the same hybrid similarity as the clustering
    (word TF-IDF over the entries and the inquiry, plus sentence embeddings when available)."""
    entries = list(FaqEntry.objects.filter(status=FaqEntry.Status.PUBLISHED).select_related("category"))
    if not entries:
        return []
    q_tokens = text.content_words(inquiry.subject) + text.content_words(inquiry.body)
    e_tokens = [text.content_words(e.question) * 2 + text.content_words(e.answer) for e in entries]
    from sklearn.feature_extraction.text import TfidfVectorizer

    vec = TfidfVectorizer(analyzer=lambda d: d, sublinear_tf=True, norm="l2")
    try:
        m = vec.fit_transform([*e_tokens, q_tokens])
        tf_sim = np.asarray((m[:-1] @ m[-1].T).toarray()).ravel()
    except ValueError:  # empty vocabulary
        tf_sim = np.zeros(len(entries))
    params = clustering.ClusterParams()
    sims = tf_sim
    e_vecs = _entry_embeddings(entries)
    q_vec = inquiry_embedding_vector(inquiry)
    if e_vecs is not None and q_vec is not None:
        sims = params.tfidf_weight * tf_sim + (1 - params.tfidf_weight) * (e_vecs @ q_vec)
    order = np.argsort(-sims, kind="stable")[:limit]
    return [(entries[i], float(sims[i])) for i in order if sims[i] > 0]


def inquiry_embedding_vector(inquiry: Inquiry) -> np.ndarray | None:
    row = InquiryEmbedding.objects.filter(inquiry=inquiry, model=clustering.EMBEDDING_MODEL).first()
    if row is not None and row.vector:
        return np.frombuffer(bytes(row.vector), dtype="<f4")
    try:
        return clustering.embed_texts([text.inquiry_text(inquiry.subject, inquiry.body)])[0]
    except clustering.EmbeddingUnavailable:
        return None
