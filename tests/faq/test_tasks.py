"""Celery: saving an inquiry enqueues its embedding after commit (a real worker on Redis);
the periodic job is guarded against overlapping runs."""

import time

import pytest
from django.core.cache import cache
from django.db import connection

from faq import tasks
from faq.models import InquiryEmbedding
from tests.factories import InquiryFactory


@pytest.mark.redis
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="a worker process cannot share the in-memory SQLite test database; runs on PostgreSQL",
)
def test_saving_an_inquiry_embeds_it_through_a_real_worker(celery_worker):
    inquiry = InquiryFactory(subject="ブラウザ", body="Chromeで申請画面が表示されません。")
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and not InquiryEmbedding.objects.filter(inquiry=inquiry).exists():
        time.sleep(0.3)
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
