"""Honest measures of the clustering: held-out topics of the dev set and the unseen set.

The unseen set (tests/data/faq/inquiries_unseen.jsonl) was written apart from the dev set and is
never tuned on: five topics the dev set lacks (certificate expiry, proxy applications, bulk CSV,
maintenance, saved drafts), ten dev topics in new wording, e-mail boilerplate and signatures, and
one-offs labelled `other`; a planted `cert_expiry` surge in the week of 2026-11-09. The two fresh
sets (inquiries_fresh.jsonl … inquiries_fresh5.jsonl) hold the dev set's 15 topics in new
wording and one-offs, written apart from everything else."""

import dataclasses

import numpy as np
import pytest

from faq import clustering, evaluation, pipeline
from tests.conftest import DATA


@pytest.fixture(scope="module")
def dev():
    return evaluation.featurise(*evaluation.load_labelled(DATA / "faq" / "inquiries_dev.jsonl"))


@pytest.fixture(scope="module")
def unseen():
    return evaluation.featurise(*evaluation.load_labelled(DATA / "faq" / "inquiries_unseen.jsonl"))


# The five fresh sets (docs/faq.md, "A fresh labelled set"), each written on 2026-12-03 from topic
# descriptions only, apart from the dev set, the code and each other; `inquiries_fresh2.jsonl` was
# opened only after the day's text change was fixed, `inquiries_fresh3.jsonl`,
# `inquiries_fresh4.jsonl` and `inquiries_fresh5.jsonl` only to score the shipped method (the
# fifth also judged the draft-question rule, docs/faq.md "FAQ workflow"). Floors: the measured state (seed 0's
# splits) less a margin — **below the bars**, pinned so that a regression shows.
FRESH_FLOORS = {
    # file: (held-out ARI, splits over the merge bar at most, topics merged, whole-set ARI)
    "inquiries_fresh.jsonl": (0.55, 2, {"mynumber_card", "data_error"}, 0.45),  # measured 0.593, 2, 0.486
    "inquiries_fresh2.jsonl": (0.62, 2, {"mynumber_card", "mac_mobile"}, 0.55),  # measured 0.663, 2, 0.595
    "inquiries_fresh3.jsonl": (0.66, 1, {"mynumber_card"}, 0.58),  # measured 0.708, 1, 0.621
    "inquiries_fresh4.jsonl": (0.67, 2, {"mynumber_card", "mac_mobile"}, 0.36),  # measured 0.716, 2, 0.395
    "inquiries_fresh5.jsonl": (0.60, 3, {"mynumber_card", "notification"}, 0.46),  # measured 0.649, 3, 0.505
    "inquiries_fresh6.jsonl": (0.41, 2, {"cert_file", "api_software"}, 0.46),  # measured 0.455, 2, 0.502
    "inquiries_fresh8.jsonl": (0.66, 2, {"mynumber_card", "data_error"}, 0.49),  # measured 0.708, 2, 0.530
}


@pytest.fixture(scope="module", params=sorted(FRESH_FLOORS))
def fresh(request):
    data = evaluation.featurise(*evaluation.load_labelled(DATA / "faq" / request.param))
    return request.param, data


def _result(groups, unclustered=()):
    return clustering.ClusteringResult(
        [clustering.Cluster(i + 1, list(m), [], [], None) for i, m in enumerate(groups)], list(unclustered), "hybrid"
    )


def test_one_offs_count_as_their_own_topics_and_merges_are_measured():
    topics = ["a", "a", "a", "b", "b", "other", "other"]
    perfect = evaluation.score(topics, _result([[0, 1, 2], [3, 4]], unclustered=[5, 6]))
    assert perfect.ari == pytest.approx(1.0) and perfect.worst_merge == 0.0 and perfect.topics == 2
    # Clustering two unrelated one-offs together is an error.
    assert evaluation.score(topics, _result([[0, 1, 2], [3, 4], [5, 6]])).ari < 1.0
    # `b` entirely inside `a`'s cluster: merged at 100 %.
    merged = evaluation.score(topics, _result([[0, 1, 2, 3, 4]], unclustered=[5, 6]))
    assert merged.worst_merge == 1.0 and merged.worst_merge_topic == "b"


def test_embeddings_are_cached_on_disk(tmp_path):
    calls = []

    def fake(texts):
        calls.append(list(texts))
        return np.ones((len(texts), 4), dtype=np.float32)

    first = evaluation.cached_embeddings(["あ", "い"], embed=fake, cache_dir=tmp_path)
    again = evaluation.cached_embeddings(["あ", "い"], embed=fake, cache_dir=tmp_path)
    assert calls == [["あ", "い"]] and np.array_equal(first, again)
    evaluation.cached_embeddings(["あ", "う"], embed=fake, cache_dir=tmp_path)
    assert len(calls) == 2


def test_held_out_splits_tune_on_some_topics_and_score_on_the_others(dev):
    report = evaluation.held_out_topics(dev, repeats=3, seed=1)
    assert len(report.splits) == 3
    for split in report.splits:
        assert len(split.held_out_topics) == 5 and len(split.tuning_topics) == 10
        assert not set(split.held_out_topics) & set(split.tuning_topics)
        assert split.params in evaluation.DEFAULT_GRID
    assert len({s.held_out_topics for s in report.splits}) == 3


@pytest.mark.slow
def test_quality_on_held_out_topics_of_the_dev_set(dev):
    assert dev.embeddings is not None
    report = evaluation.held_out_topics(dev, repeats=10)
    assert report.ari_mean >= 0.75
    # The merge bar (no topic ≥ 30 % inside another's cluster) holds in every split. Before
    # peeling, the split holding out account + notification + procedure_content put 6 of 11
    # notification inquiries (e-Gov's own mails) into the account cluster (55 %); its tuning
    # topics choose peeling, which takes them out (docs/faq.md "Peeling"). A new merge fails here.
    # (Figures with peeling judged by the words, the default grid since 2026-12-03.)
    assert report.merged_splits() == []
    assert report.merged_tuning_sets() == []
    split = next(s for s in report.splits if {"account", "notification", "procedure_content"} <= set(s.held_out_topics))
    assert split.params.peel_max_relative is not None
    assert split.held_out.worst_merge < 0.10


@pytest.mark.slow
def test_the_defaults_are_what_tuning_on_the_whole_dev_set_chooses(dev):
    """At the shipped TF-IDF weight (an admin setting, `FaqSettings.tfidf_weight`, 0.4), tuning the
    peeling on the whole dev set chooses the defaults. Over the whole grid it would choose weight
    0.5 by 0.004 ARI (0.725 vs 0.721; docs/faq.md "Peeling judged by the words"): the weight was
    left as it is."""
    at_weight = [p for p in evaluation.DEFAULT_GRID if p.tfidf_weight == clustering.DEFAULT_PARAMS.tfidf_weight]
    params, score = evaluation.tune(dev, at_weight)
    assert params == clustering.DEFAULT_PARAMS
    assert score.worst_merge < evaluation.MERGE_BAR


def test_merged_splits_list_the_splits_over_the_bar_on_either_side():
    def split(held_out_merge, tuning_merge):
        def sc(m):
            return evaluation.Score(0.8, 0.8, 0.9, 5, 5, 0, m, "t" if m else "")

        return evaluation.SplitScore(("a",), ("b",), clustering.DEFAULT_PARAMS, sc(tuning_merge), sc(held_out_merge))

    ok, held, tuning = split(0.29, 0.0), split(0.30, 0.1), split(0.1, 0.6)
    report = evaluation.HeldOutReport([ok, held, tuning])
    assert report.merged_splits() == [held] and report.merged_tuning_sets() == [tuning]
    assert report.worst_merge == 0.30
    assert "≥ 30% in 1 of 3; tuning sets: 1 of 3" in report.line()


def test_quality_on_the_unseen_set(unseen):
    assert unseen.embeddings is not None
    s = evaluation.evaluate(unseen)
    assert s.ari >= 0.80
    assert s.nmi >= 0.88
    assert s.worst_merge < 0.30  # certificate expiry, certificate files and My Number cards apart


def test_the_per_run_cut_and_the_split_are_what_generalises(unseen):
    """The fixed cut tuned on the dev set merges three certificate topics on the unseen set."""
    fixed = dataclasses.replace(
        clustering.DEFAULT_PARAMS, auto_cut=False, split=False, merge=False, peel_max_relative=None
    )
    old = evaluation.evaluate(unseen, fixed)
    new = evaluation.evaluate(unseen)
    assert old.worst_merge >= 0.75 and new.worst_merge < 0.30
    assert new.ari >= old.ari + 0.08


def test_unseen_set_surge_is_flagged_and_nothing_else(unseen):
    result = pipeline.run(unseen.docs, tokens=unseen.tokens, embeddings=unseen.embeddings, embed=False)
    assert [(s.start.isoformat(), s.kind) for s in result.surges] == [("2026-11-09", "weekly")]
    cluster = next(c for c in result.clustering.clusters if c.id == result.surges[0].cluster)
    top = max(set(unseen.topics), key=lambda t: sum(unseen.topics[i] == t for i in cluster.members))
    assert top == "cert_expiry"


@pytest.mark.slow
def test_held_out_topics_over_other_draws_of_the_splits(dev):
    """Draws 1 and 3 of the held-out splits (development draws, docs/faq.md "Robustness over draws
    of the splits"): the ARI bar holds in each, and the merges over the bar are the known ones.
    With peeling judged on the hybrid similarity (the grid shipped until 2026-12-03) there were
    three (seed 1: `procedure_content` inside `status`, `notification` inside `account`; seed 3:
    `mac_mobile` inside `app_install` at weight 0.3); judged by the words, seed 1's two are gone
    and `mac_mobile` remains (its tuning topics choose weight 0.3, where the sentence vectors put
    "the app on a Mac" with the installer questions; peeling by the words at 0.3 does not take it out).
    Since the sign-off variants end a mail (2026-12-03, `以上、よろしくお願い致します。` and
    `至急ご対応いただけますと幸いです。`: a few boilerplate words fewer in the dev set's mails), seed 3
    has none and seed 1 has its two back: the tuning topics' choices flip on words that carry no topic
    — how fragile these merges are (docs/faq.md, "2026-12-03 afternoon: a fresh labelled set").
    A new merge, or one of these gone, fails here and must be reported in docs/faq.md."""
    merged = set()
    for seed in (1, 3):
        report = evaluation.held_out_topics(dev, repeats=10, seed=seed)
        assert report.ari_mean >= 0.75, seed
        merged |= {(seed, s.held_out.worst_merge_topic) for s in report.merged_splits()}
    assert merged == {(1, "notification"), (1, "procedure_content")}


def test_fresh_wording_is_scored_on_the_same_splits_and_parameters(dev, fresh):
    _, fresh = fresh
    report = evaluation.held_out_topics(dev, repeats=2, seed=2)
    again = evaluation.rescored(report, fresh)
    for before, after in zip(report.splits, again.splits, strict=True):
        assert (after.held_out_topics, after.tuning_topics, after.params) == (
            before.held_out_topics,
            before.tuning_topics,
            before.params,
        )
        assert after.tuning == before.tuning
        held = set(before.held_out_topics)
        # Scored on every fresh inquiry of the held-out topics, and on nothing else.
        expected = evaluation.evaluate(
            fresh.subset([i for i, t in enumerate(fresh.topics) if t in held]), before.params
        )
        assert after.held_out == expected
        assert after.held_out.topics == len(held)


@pytest.mark.slow
def test_quality_on_held_out_topics_in_fresh_wording(dev, fresh):
    """The protocol's splits (seed 0), tuned on the dev set's tuning topics, scored on all of a
    fresh set's inquiries of the held-out topics (longer mails with signatures, near-miss wording
    between the confused topics). Far below the dev set's 0.817: the pipeline does not yet hold on
    new wording (docs/faq.md); the merges are the My Number card inside the certificate-file
    cluster and one other pair."""
    name, fresh = fresh
    ari, merges, topics, whole_ari = FRESH_FLOORS[name]
    report = evaluation.rescored(evaluation.held_out_topics(dev, repeats=10), fresh)
    assert report.ari_mean >= ari
    assert len(report.merged_splits()) <= merges
    assert {s.held_out.worst_merge_topic for s in report.merged_splits()} <= topics
    assert evaluation.evaluate(fresh).ari >= whole_ari


def test_fresh_sets_have_no_surge(fresh):
    """Spread evenly over two weeks: the surge detector flags nothing (no false flags)."""
    _, fresh = fresh
    result = pipeline.run(fresh.docs, tokens=fresh.tokens, embeddings=fresh.embeddings, embed=False)
    assert fresh.embeddings is not None and len(result.clustering.clusters) >= 15
    assert result.surges == []
