"""Embed each inquiry once when it is saved: a post_save receiver (connected in FaqConfig.ready)
enqueues faq.tasks.faq_embed_inquiry after the transaction commits.

When Celery runs eagerly (the laptop demo and the test tier, no Redis) the receiver does nothing:
embedding inline would make every inquiry save load a 30 MB model and block the request. The
periodic faq_cluster_and_detect job embeds whatever is missing before it clusters, so nothing is lost.
"""

from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Model


def inquiry_saved(
    sender: type[Model],
    instance: Model,
    created: bool,
    raw: bool = False,
    update_fields: frozenset[str] | None = None,
    **kwargs: Any,
) -> None:
    if raw or not settings.FAQ_EMBED_ON_SAVE:
        return
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return
    if update_fields is not None and not ({"subject", "body"} & set(update_fields)):
        return
    from faq.tasks import faq_embed_inquiry

    pk = instance.pk
    # robust: a broker outage must not turn a committed inquiry save into an error; the nightly
    # job embeds whatever is missing.
    transaction.on_commit(lambda: faq_embed_inquiry.delay(pk), robust=True)
