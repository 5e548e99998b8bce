"""Celery tasks of the faq app: thin, ids in, services do the work."""

import logging

from celery import Task, shared_task
from django.core.cache import cache

from faq import services

logger = logging.getLogger(__name__)
LOCK_KEY = "faq:cluster-run-lock"
LOCK_SECONDS = 3 * 3600


@shared_task(bind=True, autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=5)
def faq_embed_inquiry(self: Task, inquiry_id: int) -> int:
    """Store the content words and sentence embedding of one inquiry (skipped if unchanged)."""
    return services.inquiry_embeddings_compute(inquiry_ids=[inquiry_id])


@shared_task
def faq_embed_missing(days: int = 7 * 12) -> int:
    """Embed inquiries of the window that have no embedding yet (catch-up)."""
    import datetime as dt

    from django.utils import timezone

    ids = services.inquiry_embeddings_missing(since=timezone.now() - dt.timedelta(days=days))
    return services.inquiry_embeddings_compute(inquiry_ids=ids)


@shared_task(bind=True, autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=5)
def faq_embed_chunk(self: Task, inquiry_ids: list[int]) -> int:
    """One chunk of a backfill. Idempotent per inquiry: unchanged texts are skipped, so a chunk
    retried or delivered twice (acks_late) does no harm."""
    return services.inquiry_embeddings_compute(inquiry_ids=inquiry_ids)


@shared_task
def faq_embed_backfill(days: int | None = None, chunk_size: int = 500) -> dict:
    """Cold backfill fanned out as a Celery group of chunks: every worker started takes chunks
    (prefetch 1), so the work spreads over however many there are. Progress:
    `services.inquiry_embeddings_progress`. Returns what was enqueued."""
    import datetime as dt

    from celery import group
    from django.utils import timezone

    since = None if days is None else timezone.now() - dt.timedelta(days=days)
    chunks = services.inquiry_embeddings_backfill_chunks(since=since, chunk_size=chunk_size)
    if chunks:
        group(faq_embed_chunk.s(chunk) for chunk in chunks).apply_async()
    return {"chunks": len(chunks), "inquiries": sum(len(c) for c in chunks)}


@shared_task
def faq_cluster_and_detect() -> dict:
    """The nightly job: embed what is missing, cluster the window, detect surges, propose drafts.
    Guarded against overlapping runs by a cache lock."""
    if not cache.add(LOCK_KEY, "1", LOCK_SECONDS):
        logger.info("faq: a cluster run is already in progress; skipped")
        return {"skipped": True}
    try:
        run = services.faq_cluster_run()
        if run.fallback_reason:
            logger.warning("faq: run %s clustered with TF-IDF only: %s", run.pk, run.fallback_reason)
        return {"run": run.pk, "clusters": run.clusters, "surges": run.surges, "method": run.method}
    finally:
        cache.delete(LOCK_KEY)
