"""An admin's "split this cluster" (faq.services.faq_cluster_split): the seeds' centroids
partition the members, the split-off side becomes a new cluster with its own draft, bad input is
refused naming the field, the decision is audited — and the nightly run keeps it."""

import numpy as np
import pytest
import time_machine
from django.core.exceptions import ValidationError

from faq import clustering, services
from faq.models import ClusterMembership, ClusterRun, ClusterSplit, ClusterSplitSeed, FaqEntry, TopicCluster
from helpdesk.errors import PermissionDeniedError
from helpdesk.models import AuditEvent
from tests.factories import InquiryFactory, tokyo
from tests.factories.faq import FaqEntryFactory, two_close_topics

pytestmark = pytest.mark.django_db

AS_OF = tokyo(2026, 9, 30, 3, 0)


def _members(cluster) -> set[int]:
    return set(ClusterMembership.objects.filter(cluster=cluster).values_list("inquiry_id", flat=True))


def _ids(rows) -> set[int]:
    return {r.pk for r in rows}


@pytest.fixture
def merged():
    """Two close topics, one cluster after a nightly run (the merge the split answers)."""
    file, card = two_close_topics()
    run = services.faq_cluster_run(as_of=AS_OF, embed_missing=False)
    (cluster,) = TopicCluster.objects.filter(active=True)
    assert _members(cluster) == _ids(file) | _ids(card) and run.admin_splits == 0
    return cluster, file, card


# --- the pure partition ---------------------------------------------------------------------


def test_seed_partition_sends_each_member_to_the_nearer_seed_centroid():
    rng = np.random.default_rng(1)
    a, b = np.eye(8)[0], np.eye(8)[1]
    rows = np.vstack(
        [a + rng.normal(scale=0.05, size=8) for _ in range(5)] + [b + rng.normal(scale=0.05, size=8) for _ in range(5)]
    )
    side = clustering.seed_partition(rows, np.arange(10), np.array([6]), np.array([0, 1]))
    assert side.tolist() == [False] * 5 + [True] * 5
    # A seed stays on the side the admin put it, whatever its vector.
    side = clustering.seed_partition(rows, np.arange(10), np.array([6, 2]), np.array([0]))
    assert side[2] and side[5:].all() and not side[[0, 1, 3, 4]].any()


def test_a_split_applied_in_clustering_makes_a_new_cluster_with_its_own_keywords():
    tokens = [["証明書", "ファイル"]] * 4 + [["証明書", "マイナンバーカード"]] * 4
    e = np.zeros((8, 4), dtype=np.float32)
    e[:4, 0], e[4:, 0], e[4:, 1] = 1.0, 0.99, 0.14
    e = e / np.linalg.norm(e, axis=1, keepdims=True)
    base = clustering.cluster_documents(tokens=tokens, embeddings=e)
    assert len(base.clusters) == 1 and base.admin_splits == 0
    split = clustering.SeedSplit(marked=np.array([5]), kept=np.array([0]))
    result = clustering.cluster_documents(tokens=tokens, embeddings=e, seed_splits=[split])
    assert result.admin_splits == 1
    assert sorted(sorted(c.members) for c in result.clusters) == [[0, 1, 2, 3], [4, 5, 6, 7]]
    by_member = {c.members[0]: c for c in result.clusters}
    assert by_member[0].keywords[0] == "ファイル" and by_member[4].keywords[0] == "マイナンバーカード"


# --- the service ----------------------------------------------------------------------------


@time_machine.travel(tokyo(2026, 9, 30, 10, 0), tick=False)
def test_the_split_partitions_by_centroid_records_the_decision_and_drafts_both_sides(merged, admin_user):
    cluster, file, card = merged
    draft = FaqEntryFactory(source_cluster=cluster, question="証明書について")
    outcome = services.faq_cluster_split(
        actor=admin_user, cluster=cluster, marked=[card[0].pk], kept=[file[0].pk, file[1].pk], note="二つの話題"
    )
    split = outcome.split
    new = split.new_cluster
    assert _members(new) == _ids(card) and _members(cluster) == _ids(file)
    new.refresh_from_db()
    cluster.refresh_from_db()
    assert (new.size, cluster.size) == (6, 6) and (split.moved, split.stayed) == (6, 6)
    assert new.cluster_id > cluster.cluster_id and new.active and new.last_run_id == cluster.last_run_id
    assert new.keywords[0] == "マイナンバーカード" and cluster.keywords[0] == "ファイル"
    assert set(new.central_inquiries) <= _ids(card) and set(cluster.central_inquiries) <= _ids(file)
    assert sum(new.weekly_counts.values()) == 6
    assert np.frombuffer(bytes(new.centroid), dtype="<f4").shape == (clustering.EMBEDDING_DIM,)
    # The decision: who, when, note, the cluster and both sides' seeds.
    assert split.created_by == admin_user and split.created_at == tokyo(2026, 9, 30, 10, 0)
    assert split.note == "二つの話題" and split.cluster == cluster
    seeds = set(ClusterSplitSeed.objects.filter(split=split).values_list("inquiry_id", "side"))
    assert seeds == {(card[0].pk, "marked"), (file[0].pk, "kept"), (file[1].pk, "kept")}
    event = AuditEvent.objects.get(object_type="faq.clustersplit", object_id=str(split.pk))
    assert event.actor_id == admin_user.pk and event.action == AuditEvent.Action.CREATE
    assert event.changes["marked"] == [card[0].pk] and event.changes["moved"] == 6
    # Two drafts: the cluster's own written again from what stays, a new one for the new cluster.
    draft.refresh_from_db()
    assert outcome.kept_entry == draft and draft.version == 2 and draft.question != "証明書について"
    assert outcome.new_entry is not None and outcome.new_entry.source_cluster == new
    assert {e.status for e in FaqEntry.objects.all()} == {FaqEntry.Status.DRAFT}


def test_bad_choices_are_refused_naming_the_field(merged, admin_user):
    cluster, file, card = merged
    stranger = InquiryFactory(subject="関係のない問い合わせ")
    cases = [
        ({"marked": [], "kept": [file[0].pk]}, "marked", "1件以上選んでください"),
        ({"marked": [card[0].pk], "kept": []}, "kept", "1件以上残してください"),
        ({"marked": [card[0].pk], "kept": [card[0].pk]}, "kept", "1件以上残してください"),
        ({"marked": [stranger.pk], "kept": [file[0].pk]}, "marked", stranger.ref),
        ({"marked": [card[0].pk], "kept": [stranger.pk]}, "kept", "このクラスタの問い合わせではありません"),
    ]
    for data, field, text in cases:
        with pytest.raises(ValidationError) as exc:
            services.faq_cluster_split(actor=admin_user, cluster=cluster, **data)
        assert list(exc.value.message_dict) == [field] and text in exc.value.message_dict[field][0], data
    assert not ClusterSplit.objects.exists() and TopicCluster.objects.count() == 1


def test_only_an_admin_splits(merged, agent, reviewer, supervisor):
    cluster, file, card = merged
    for user in (agent, reviewer, supervisor):
        with pytest.raises(PermissionDeniedError):
            services.faq_cluster_split(actor=user, cluster=cluster, marked=[card[0].pk], kept=[file[0].pk])
    assert not ClusterSplit.objects.exists()


# --- the nightly run keeps the decision ------------------------------------------------------


def test_the_next_nightly_run_keeps_the_topics_apart_where_without_the_split_it_merges_them(
    merged, admin_user, supervisor, api
):
    cluster, file, card = merged
    # Without a split the same run merges them again (the fixture's first run did; once more).
    again = services.faq_cluster_run(as_of=AS_OF, embed_missing=False)
    assert again.clusters == 1 and again.admin_splits == 0
    (cluster,) = TopicCluster.objects.filter(active=True)
    outcome = services.faq_cluster_split(actor=admin_user, cluster=cluster, marked=[card[2].pk], kept=[file[3].pk])
    new = outcome.split.new_cluster

    run = services.faq_cluster_run(as_of=AS_OF, embed_missing=False)
    assert run.clusters == 2 and run.admin_splits == 1 and run.splits == 0
    active = {c.cluster_id: _members(c) for c in TopicCluster.objects.filter(active=True)}
    # Both keep their stable ids: the new cluster is matched to the one the split made.
    assert active == {cluster.cluster_id: _ids(file), new.cluster_id: _ids(card)}
    assert ClusterRun.objects.get(pk=run.pk).admin_splits == 1
    event = AuditEvent.objects.filter(object_type="faq.clusterrun", object_id=str(run.pk)).get()
    assert event.changes["admin_splits"] == 1
    assert api.as_user(supervisor).get("/api/faq/clusters/").json()["run"]["admin_splits"] == 1
    # No draft was published by the run, and the split-off cluster's draft was not proposed twice.
    assert FaqEntry.objects.filter(source_cluster=new).count() == 1
    assert not FaqEntry.objects.filter(status=FaqEntry.Status.PUBLISHED).exists()
