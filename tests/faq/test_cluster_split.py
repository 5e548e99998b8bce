"""An admin's "split this cluster" (faq.services.faq_cluster_split): the seeds' centroids
partition the members, the split-off side becomes a new cluster with its own draft, bad input is
refused naming the field, the decision is audited — and the nightly run keeps it. The undo
(faq.services.faq_cluster_split_withdraw): the members go back, the new cluster's draft is
retired, and no later nightly run applies the split."""

import numpy as np
import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from faq import clustering, services
from faq.models import ClusterMembership, ClusterRun, ClusterSplit, ClusterSplitSeed, FaqEntry, TopicCluster
from helpdesk.errors import InvalidTransitionError, PermissionDeniedError
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


# --- the undo: withdrawing a split -------------------------------------------------------------


def _state(*clusters) -> list:
    """What a refused withdrawal must leave as it was: memberships, descriptions, entries, splits."""
    rows = []
    for c in clusters:
        c = TopicCluster.objects.get(pk=c.pk)
        rows.append((c.cluster_id, c.active, c.size, c.keywords, c.central_inquiries, sorted(_members(c))))
    rows.append(sorted(FaqEntry.objects.values_list("pk", "status", "version", "question")))
    rows.append(sorted(ClusterSplit.objects.values_list("pk", "withdrawn_at", "withdrawn_by", "withdrawn_note")))
    rows.append(AuditEvent.objects.count())
    return rows


def test_withdrawing_puts_the_members_back_redrafts_the_cluster_and_retires_the_new_draft(merged, admin_user):
    cluster, file, card = merged
    before = TopicCluster.objects.get(pk=cluster.pk)
    draft = FaqEntryFactory(source_cluster=cluster, question="証明書について")
    with time_machine.travel(tokyo(2026, 9, 30, 10, 0), tick=False):
        made = services.faq_cluster_split(actor=admin_user, cluster=cluster, marked=[card[0].pk], kept=[file[0].pk])
    new, new_draft = made.split.new_cluster, made.new_entry
    assert new_draft is not None and _members(new) == _ids(card)

    with time_machine.travel(tokyo(2026, 9, 30, 11, 30), tick=False):
        outcome = services.faq_cluster_split_withdraw(actor=admin_user, split=made.split, note="同じ話題だった")

    # The mark: who, when, why.
    split = ClusterSplit.objects.get(pk=made.split.pk)
    assert split.withdrawn_at == tokyo(2026, 9, 30, 11, 30) and split.withdrawn_by == admin_user
    assert split.withdrawn_note == "同じ話題だった" and outcome.split == split
    # The members are back, the cluster described from all of them as the run described it.
    assert outcome.reunited and outcome.moved_back == 6
    assert _members(cluster) == _ids(file) | _ids(card) and not _members(new)
    cluster.refresh_from_db()
    new.refresh_from_db()
    assert cluster.active and cluster.size == 12 and cluster.weekly_counts == before.weekly_counts
    assert {"ファイル", "マイナンバーカード"} <= set(
        cluster.keywords
    ) and cluster.keywords != made.split.cluster.keywords
    assert set(cluster.keywords[:5]) == set(before.keywords[:5])
    assert set(cluster.central_inquiries) <= _ids(file) | _ids(card) and cluster.central_inquiries
    centroid = np.frombuffer(bytes(cluster.centroid), dtype="<f4")
    assert float(centroid @ np.frombuffer(bytes(before.centroid), dtype="<f4")) > 0.999
    # The new cluster left the latest run, empty (kept, with its keywords, as the split's record).
    assert not new.active and new.size == 0 and new.central_inquiries == [] and new.keywords
    # The cluster's draft written again from the reunited members; the new cluster's draft retired.
    draft.refresh_from_db()
    new_draft.refresh_from_db()
    assert outcome.kept_entry == draft and draft.version == 3 and draft.status == FaqEntry.Status.DRAFT
    assert "証明書" in draft.question and draft.question != "証明書について"
    assert outcome.withdrawn_entries == [new_draft] and new_draft.status == FaqEntry.Status.RETIRED
    assert new_draft.retired_by == admin_user and new_draft.retired_at == tokyo(2026, 9, 30, 11, 30)
    assert new_draft.published_at is None
    assert not FaqEntry.objects.filter(status=FaqEntry.Status.PUBLISHED).exists()
    # Audited: the withdrawal on the split, the redraft and the retirement with their reasons.
    event = AuditEvent.objects.get(
        object_type="faq.clustersplit", object_id=str(split.pk), action=AuditEvent.Action.TRANSITION
    )
    assert event.actor_id == admin_user.pk and event.note == "同じ話題だった"
    assert event.changes["withdrawn"] == {"old": False, "new": True} and event.changes["reunited"] is True
    assert event.changes["moved_back"] == 6 and event.changes["new_cluster"] == new.cluster_id
    redraft = AuditEvent.objects.filter(object_type="faq.faqentry", object_id=str(draft.pk)).latest("id")
    assert f"withdrawal of split {split.pk}" in redraft.note
    retired = AuditEvent.objects.filter(object_type="faq.faqentry", object_id=str(new_draft.pk)).latest("id")
    assert retired.changes["status"] == {"old": "draft", "new": "retired"} and f"split {split.pk}" in retired.note


def test_a_published_entry_on_the_new_cluster_refuses_the_withdrawal_and_changes_nothing(merged, admin_user):
    cluster, file, card = merged
    made = services.faq_cluster_split(actor=admin_user, cluster=cluster, marked=[card[0].pk], kept=[file[0].pk])
    entry = services.faq_entry_update(
        actor=admin_user, entry=made.new_entry, version=1, answer="カードの証明書は市区町村で更新してください。"
    )
    public = services.faq_entry_publish(actor=admin_user, entry=entry)
    before = _state(cluster, made.split.new_cluster)
    with pytest.raises(ValidationError) as exc:
        services.faq_cluster_split_withdraw(actor=admin_user, split=made.split)
    message = exc.value.message_dict["new_cluster"][0]
    assert f"#{public.pk}" in message and public.question[:20] in message and "公開中" in message
    assert _state(cluster, made.split.new_cluster) == before


def test_a_split_is_withdrawn_once(merged, admin_user):
    cluster, file, card = merged
    made = services.faq_cluster_split(actor=admin_user, cluster=cluster, marked=[card[0].pk], kept=[file[0].pk])
    services.faq_cluster_split_withdraw(actor=admin_user, split=made.split)
    before = _state(cluster, made.split.new_cluster)
    with pytest.raises(InvalidTransitionError) as exc:
        services.faq_cluster_split_withdraw(actor=admin_user, split=made.split, note="もう一度")
    assert "既に取り消されています" in exc.value.message and exc.value.status_code == 409
    assert _state(cluster, made.split.new_cluster) == before


def test_only_an_admin_withdraws(merged, admin_user, agent, reviewer, supervisor, nobody):
    cluster, file, card = merged
    made = services.faq_cluster_split(actor=admin_user, cluster=cluster, marked=[card[0].pk], kept=[file[0].pk])
    before = _state(cluster, made.split.new_cluster)
    for user in (agent, reviewer, supervisor, nobody):
        with pytest.raises(PermissionDeniedError) as exc:
            services.faq_cluster_split_withdraw(actor=user, split=made.split)
        assert exc.value.status_code == 403
    assert _state(cluster, made.split.new_cluster) == before


def test_the_withdrawal_fields_are_consistent_in_the_database(merged, admin_user):
    cluster, file, card = merged
    split = services.faq_cluster_split(actor=admin_user, cluster=cluster, marked=[card[0].pk], kept=[file[0].pk]).split
    split.withdrawn_note = "理由だけ"
    with pytest.raises(ValidationError):
        split.full_clean()
    for change in ({"withdrawn_note": "理由だけ"}, {"withdrawn_by": admin_user}):
        with pytest.raises(IntegrityError), transaction.atomic():
            ClusterSplit.objects.filter(pk=split.pk).update(**change)


def test_after_the_withdrawal_the_nightly_run_puts_the_topics_together_again(merged, admin_user):
    cluster, file, card = merged
    made = services.faq_cluster_split(actor=admin_user, cluster=cluster, marked=[card[2].pk], kept=[file[3].pk])
    kept_apart = services.faq_cluster_run(as_of=AS_OF, embed_missing=False)
    assert kept_apart.clusters == 2 and kept_apart.admin_splits == 1
    new = made.split.new_cluster
    assert _members(new) == _ids(card)

    services.faq_cluster_split_withdraw(actor=admin_user, split=made.split)
    run = services.faq_cluster_run(as_of=AS_OF, embed_missing=False)
    assert run.clusters == 1 and run.admin_splits == 0
    (together,) = TopicCluster.objects.filter(active=True)
    assert together.pk == cluster.pk and _members(together) == _ids(file) | _ids(card)
    # The run proposed nothing for the gone cluster and published nothing.
    assert not FaqEntry.objects.filter(source_cluster=new, status=FaqEntry.Status.DRAFT).exists()
    assert not FaqEntry.objects.filter(status=FaqEntry.Status.PUBLISHED).exists()


def test_when_a_later_run_re_clustered_only_the_mark_is_recorded_and_the_next_run_no_longer_splits(merged, admin_user):
    cluster, file, card = merged
    made = services.faq_cluster_split(actor=admin_user, cluster=cluster, marked=[card[2].pk], kept=[file[3].pk])
    new, new_draft = made.split.new_cluster, made.new_entry
    # A later run whose window holds none of these inquiries: neither cluster is in it.
    services.faq_cluster_run(as_of=tokyo(2027, 6, 30, 3, 0), embed_missing=False)
    assert not TopicCluster.objects.filter(active=True).exists()
    before = _state(cluster, new)

    outcome = services.faq_cluster_split_withdraw(actor=admin_user, split=made.split, note="戻す")
    assert not outcome.reunited and outcome.moved_back == 0 and outcome.withdrawn_entries == []
    after = _state(cluster, new)
    assert after[:3] == before[:3]  # clusters and entries untouched (the new cluster's draft stays a draft)
    assert FaqEntry.objects.get(pk=new_draft.pk).status == FaqEntry.Status.DRAFT
    split = ClusterSplit.objects.get(pk=made.split.pk)
    assert split.withdrawn_at is not None and split.withdrawn_note == "戻す"
    event = AuditEvent.objects.get(object_type="faq.clustersplit", object_id=str(split.pk), action="transition")
    assert event.changes["reunited"] is False and event.changes["moved_back"] == 0

    # The window back on these inquiries: the run no longer applies the split.
    run = services.faq_cluster_run(as_of=AS_OF, embed_missing=False)
    assert run.clusters == 1 and run.admin_splits == 0
    (together,) = TopicCluster.objects.filter(active=True)
    assert _members(together) == _ids(file) | _ids(card)


def test_a_split_withdrawn_while_a_nightly_run_is_under_way_is_undone_when_the_run_ends(
    merged, admin_user, monkeypatch
):
    """The run reads the splits in force at its start and applies them; an admin withdraws one
    while it clusters. The withdrawal puts the members back at once, the run's result then keeps
    them apart again — so when the run has stored its result it puts them back itself."""
    cluster, file, card = merged
    made = services.faq_cluster_split(actor=admin_user, cluster=cluster, marked=[card[2].pk], kept=[file[3].pk])
    assert services.faq_cluster_run(as_of=AS_OF, embed_missing=False).admin_splits == 1
    new = made.split.new_cluster
    real = services.pipeline.run
    withdrawn = []

    def run_meanwhile_withdrawn(*args, **kwargs):
        result = real(*args, **kwargs)  # (clustered with the split applied)
        withdrawn.append(services.faq_cluster_split_withdraw(actor=admin_user, split=made.split, note="誤り"))
        return result

    monkeypatch.setattr(services.pipeline, "run", run_meanwhile_withdrawn)
    run = services.faq_cluster_run(as_of=AS_OF, embed_missing=False)

    assert withdrawn[0].reunited and run.admin_splits == 1  # the run applied the split it had read
    (together,) = TopicCluster.objects.filter(active=True)
    assert together.pk == cluster.pk and _members(together) == _ids(file) | _ids(card)
    new.refresh_from_db()
    assert not new.active and _members(new) == set()
    assert together.size == len(file) + len(card)
    event = AuditEvent.objects.get(object_type="faq.clustersplit", object_id=str(made.split.pk), action="update")
    assert event.changes["reunited_after_run"] == run.pk and event.changes["moved_back"] == len(card)
    # Nothing of the new cluster is left to publish, and nothing was published.
    assert not FaqEntry.objects.filter(source_cluster=new, status=FaqEntry.Status.DRAFT).exists()
    assert not FaqEntry.objects.filter(status=FaqEntry.Status.PUBLISHED).exists()
    # The next run keeps them together (the split is no longer read).
    monkeypatch.setattr(services.pipeline, "run", real)
    assert services.faq_cluster_run(as_of=AS_OF, embed_missing=False).clusters == 1
