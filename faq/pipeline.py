"""The whole offline pipeline over plain records: text → clusters → explanations → surges.

Pure (no ORM). Used by `manage.py faq_clusters --from-jsonl`, by the periodic job (which feeds it
stored tokens and embeddings) and by bench/bench_faq.py.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from faq import clustering, surges, text
from faq.clustering import Cluster
from helpdesk.clock import TOKYO

logger = logging.getLogger(__name__)


class Document(NamedTuple):
    id: str
    subject: str
    body: str
    received_at: dt.datetime  # aware


@dataclass
class PipelineResult:
    documents: Sequence[Document]
    clustering: clustering.ClusteringResult
    surges: list[surges.Surge]

    _weeks: tuple[list[str], np.ndarray] | None = field(default=None, repr=False)
    _days: np.ndarray | None = field(default=None, repr=False)

    def days(self) -> np.ndarray:
        if self._days is None:
            self._days = local_days(self.documents)
        return self._days

    def _week_index(self) -> tuple[list[str], np.ndarray]:
        """Each document's week (Monday, Tokyo) as an index into a sorted list of week labels."""
        if self._weeks is None:
            mondays = monday_ordinals(self.days())
            labels, idx = np.unique(mondays, return_inverse=True)
            self._weeks = ([dt.date.fromordinal(int(w)).isoformat() for w in labels], idx.astype(np.int64))
        return self._weeks

    def weekly_counts(self, cluster: Cluster) -> dict[str, int]:
        labels, idx = self._week_index()
        counts = np.bincount(idx[cluster.members], minlength=len(labels))
        return {labels[i]: int(n) for i, n in enumerate(counts) if n}

    def as_json(self) -> dict:
        """The `faq_clusters --json` shape (public interface) plus explanatory extras."""
        docs = self.documents
        by_id = {c.id: c for c in self.clustering.clusters}
        return {
            "method": self.clustering.method,
            "fallback_reason": self.clustering.fallback_reason,
            "cut": self.clustering.cut,
            "merges": self.clustering.merges,
            "splits": self.clustering.splits,
            "clusters": [
                {
                    "id": c.id,
                    "keywords": c.keywords,
                    "members": [docs[i].id for i in c.members],
                    "size": c.size,
                    "central": [docs[i].id for i in c.central],
                    "weekly_counts": self.weekly_counts(c),
                }
                for c in self.clustering.clusters
            ],
            "unclustered": [docs[i].id for i in self.clustering.unclustered],
            "surges": [
                {
                    "cluster": s.cluster,
                    "week_start": s.start.isoformat(),
                    "count": s.count,
                    "baseline": s.baseline,
                    "p_value": s.p_value,
                    "ratio": s.ratio,
                    "kind": s.kind,
                    "explanation": s.explanation(label_for(by_id.get(s.cluster))),
                }
                for s in self.surges
            ],
        }


def label_for(cluster: clustering.Cluster | None, n: int = 2) -> str:
    if cluster is None or not cluster.keywords:
        return ""
    return "・".join(cluster.keywords[:n])


def local_date(value: dt.datetime) -> dt.date:
    if value.tzinfo is None:
        value = value.replace(tzinfo=TOKYO)
    return value.astimezone(TOKYO).date()


def local_days(docs: Sequence[Document]) -> np.ndarray:
    """Each document's Tokyo date as `date.toordinal()`: computed once per run (100 k
    `astimezone` calls), then weeks and daily counts are numpy operations."""
    return np.fromiter((local_date(d.received_at).toordinal() for d in docs), dtype=np.int64, count=len(docs))


def monday_ordinals(days: np.ndarray) -> np.ndarray:
    """The Monday of each day's week (ordinals; `date.weekday()` is `(ordinal + 6) % 7`)."""
    return days - (days + 6) % 7


def _day_counts(days: np.ndarray) -> dict[dt.date, int]:
    values, counts = np.unique(days, return_counts=True)
    return {dt.date.fromordinal(int(v)): int(n) for v, n in zip(values, counts, strict=True)}


def weekly_counts_of(received: Sequence[dt.datetime]) -> dict[str, int]:
    """{"YYYY-MM-DD" (Monday, Tokyo): n} of some inquiries' receipt times, as a run counts them."""
    days = np.fromiter((local_date(t).toordinal() for t in received), dtype=np.int64, count=len(received))
    weeks, counts = np.unique(monday_ordinals(days), return_counts=True)
    return {dt.date.fromordinal(int(w)).isoformat(): int(n) for w, n in zip(weeks, counts, strict=True)}


def parse_datetime(value: str) -> dt.datetime:
    """ISO 8601; a timestamp without an offset is Tokyo time."""
    parsed = dt.datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=TOKYO)


def read_jsonl(lines: Iterable[str]) -> list[Document]:
    docs: list[Document] = []
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            if not isinstance(rec, dict):
                raise ValueError("not a JSON object")
            docs.append(
                Document(
                    id=str(rec["id"]),
                    subject=str(rec.get("subject") or ""),
                    body=str(rec.get("body") or ""),
                    received_at=parse_datetime(rec["received_at"]),
                )
            )
        except KeyError as exc:
            raise ValueError(f"line {lineno}: missing field {exc}") from exc
        except (ValueError, TypeError) as exc:
            raise ValueError(f"line {lineno}: {exc}") from exc
    return docs


def document_tokens(doc: Document) -> list[str]:
    return text.content_words(doc.subject) + text.content_words(doc.body)


def document_embedding_text(doc: Document) -> str:
    return text.inquiry_text(doc.subject, doc.body)


def embed_documents(docs: Sequence[Document]) -> tuple[np.ndarray | None, str]:
    """Embeddings, or (None, reason) when the model cannot load (TF-IDF fallback)."""
    try:
        return clustering.embed_texts([document_embedding_text(d) for d in docs]), ""
    except clustering.EmbeddingUnavailable as exc:
        return None, str(exc)


def run(
    docs: Sequence[Document],
    *,
    tokens: Sequence[Sequence[str]] | None = None,
    embeddings: np.ndarray | None = None,
    embed: bool = True,
    cluster_params: clustering.ClusterParams = clustering.DEFAULT_PARAMS,
    surge_params: surges.SurgeParams = surges.DEFAULT_PARAMS,
    previous: Sequence[clustering.PreviousCluster] = (),
    next_id: int | None = None,
    as_of: dt.date | None = None,
    seed_splits: Sequence[clustering.SeedSplit] = (),
) -> PipelineResult:
    fallback_reason = ""
    if tokens is None:
        tokens = [document_tokens(d) for d in docs]
    if embeddings is None and embed:
        embeddings, fallback_reason = embed_documents(docs)
    elif embeddings is None:
        fallback_reason = "embeddings disabled"
    if fallback_reason:
        logger.warning("faq: clustering with TF-IDF only (%s)", fallback_reason)
    result = clustering.cluster_documents(
        tokens=tokens,
        embeddings=embeddings,
        params=cluster_params,
        previous=previous,
        next_id=next_id,
        fallback_reason=fallback_reason,
        seed_splits=seed_splits,
    )
    days = local_days(docs)
    found = detect(docs, result, surge_params=surge_params, as_of=as_of, days=days)
    return PipelineResult(docs, result, found, _days=days)


def detect(
    docs: Sequence[Document],
    result: clustering.ClusteringResult,
    *,
    surge_params: surges.SurgeParams = surges.DEFAULT_PARAMS,
    as_of: dt.date | None = None,
    days: np.ndarray | None = None,
) -> list[surges.Surge]:
    if not docs:
        return []
    if days is None:
        days = local_days(docs)
    daily_by_cluster = {c.id: _day_counts(days[np.asarray(c.members, dtype=np.int64)]) for c in result.clusters}
    return surges.detect_surges(
        daily_by_cluster=daily_by_cluster,
        daily_total=_day_counts(days),
        first_day=dt.date.fromordinal(int(days.min())),
        as_of=as_of or dt.date.fromordinal(int(days.max())),
        params=surge_params,
    )
