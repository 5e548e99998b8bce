"""Celery: saving an inquiry enqueues its embedding after commit (a real worker on Redis);
the periodic job is guarded against overlapping runs."""

import numpy as np
import pytest
from django.core.cache import cache

from faq import tasks
from faq.models import InquiryEmbedding
from tests.factories import InquiryFactory
from tests.workers import ON_POSTGRESQL, wait_for


@pytest.mark.redis
@ON_POSTGRESQL
def test_saving_an_inquiry_embeds_it_through_a_real_worker(celery_worker):
    inquiry = InquiryFactory(subject="ブラウザ", body="Chromeで申請画面が表示されません。")
    wait_for(InquiryEmbedding.objects.filter(inquiry=inquiry).exists)
    row = InquiryEmbedding.objects.get(inquiry=inquiry)
    assert row.model == "use-multilingual-v3" and len(bytes(row.vector)) == 512 * 4
    assert "chrome" in row.tokens.split()


@pytest.mark.django_db
def test_eager_mode_does_not_embed_on_save_the_periodic_job_catches_up():
    inquiry = InquiryFactory(subject="ペイジー", body="ペイジーで納付できません。")
    assert not InquiryEmbedding.objects.filter(inquiry=inquiry).exists()
    assert tasks.faq_embed_missing.delay().get() == 1
    assert InquiryEmbedding.objects.filter(inquiry=inquiry).exists()


@pytest.mark.django_db
def test_cluster_job_skips_when_another_run_holds_the_lock():
    cache.add(tasks.LOCK_KEY, "1", 60)
    try:
        assert tasks.faq_cluster_and_detect.delay().get() == {"skipped": True}
    finally:
        cache.delete(tasks.LOCK_KEY)
    result = tasks.faq_cluster_and_detect.delay().get()
    assert result["clusters"] == 0 and "run" in result


@pytest.mark.django_db
def test_save_enqueues_embedding_after_commit_only_when_text_may_have_changed(
    settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    sent = []
    monkeypatch.setattr(tasks.faq_embed_inquiry, "delay", lambda pk: sent.append(pk))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        inquiry = InquiryFactory()
    assert sent == []  # nothing before commit
    for cb in callbacks:
        cb()
    assert sent == [inquiry.pk]
    with django_capture_on_commit_callbacks(execute=True):
        inquiry.status = "in_progress"
        inquiry.save(update_fields=["status"])
    assert sent == [inquiry.pk]
    with django_capture_on_commit_callbacks(execute=True):
        inquiry.body = "別の本文"
        inquiry.save(update_fields=["body"])
    assert sent == [inquiry.pk, inquiry.pk]


@pytest.mark.django_db
def test_backfill_fans_out_in_chunks_is_idempotent_and_reports_progress(monkeypatch):
    from faq import clustering, services

    monkeypatch.setattr(
        clustering, "embed_texts", lambda texts: np.tile(np.eye(1, 512, dtype=np.float32), (len(texts), 1))
    )
    inquiries = [InquiryFactory(subject=f"件名{i}", body=f"本文{i}の問い合わせ") for i in range(5)]
    assert services.inquiry_embeddings_progress() == {"inquiries": 5, "embedded": 0, "missing": 5}
    chunks = services.inquiry_embeddings_backfill_chunks(chunk_size=2)
    assert [len(c) for c in chunks] == [2, 2, 1] and sorted(sum(chunks, [])) == sorted(i.pk for i in inquiries)
    sent = []
    real = tasks.faq_embed_chunk.run
    monkeypatch.setattr(tasks.faq_embed_chunk, "run", lambda ids: sent.append(list(ids)) or real(ids))
    assert tasks.faq_embed_backfill.delay(chunk_size=2).get() == {"chunks": 3, "inquiries": 5}
    assert len(sent) == 3  # one task per chunk (eager here; spread over workers with Redis)
    assert services.inquiry_embeddings_progress() == {"inquiries": 5, "embedded": 5, "missing": 0}
    # Again: nothing left to do; a chunk delivered twice writes nothing.
    assert tasks.faq_embed_backfill.delay(chunk_size=2).get() == {"chunks": 0, "inquiries": 0}
    assert tasks.faq_embed_chunk.delay([inquiries[0].pk]).get() == 0
