"""FAQ entries in the contractor handover file (type "faq_entry").

Categories travel inside each entry (by slug and name); the source cluster and surge do not
(they are derived data that the next contractor's own clustering recomputes). The natural key
is (question, created_at), so importing the same file twice changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.utils.dateparse import parse_datetime

TYPE = "faq_entry"


def export_entries() -> Iterator[dict[str, Any]]:
    from faq.models import FaqEntry

    qs = FaqEntry.objects.select_related("category").order_by("id")
    for e in qs.iterator(chunk_size=1000):
        yield {
            "type": TYPE,
            "status": e.status,
            "question": e.question,
            "answer": e.answer,
            "category": {"slug": e.category.slug, "name": e.category.name, "order": e.category.order}
            if e.category
            else None,
            "published_at": e.published_at.isoformat() if e.published_at else None,
            "retired_at": e.retired_at.isoformat() if e.retired_at else None,
            "created_at": e.created_at.isoformat(),
            "version": e.version,
        }


def _time(value):
    if not value:
        return None
    parsed = parse_datetime(value)
    if parsed is None:
        raise ValueError(f"invalid datetime: {value!r}")
    return parsed


def import_entry(data: dict[str, Any], ctx: Any = None) -> str:
    from faq.models import FaqCategory, FaqEntry

    category = None
    if data.get("category"):
        c = data["category"]
        category, _ = FaqCategory.objects.get_or_create(
            slug=c["slug"], defaults={"name": c.get("name") or c["slug"], "order": c.get("order") or 0}
        )
    created_at = _time(data["created_at"])
    values = {
        "status": data["status"],
        "answer": data.get("answer") or "",
        "category": category,
        "published_at": _time(data.get("published_at")),
        "retired_at": _time(data.get("retired_at")),
        "version": int(data.get("version") or 1),
    }
    existing = FaqEntry.objects.filter(question=data["question"], created_at=created_at).first()
    if existing is None:
        entry = FaqEntry(question=data["question"], **values)
        entry.full_clean()
        entry.save()
        # auto_now_add ignores a given value on insert; keep the original creation time.
        FaqEntry.objects.filter(pk=entry.pk).update(created_at=created_at)
        return "created"
    if all(getattr(existing, k) == v for k, v in values.items()):
        return "unchanged"
    for k, v in values.items():
        setattr(existing, k, v)
    existing.full_clean()
    existing.save()
    return "updated"


def register() -> None:
    try:
        from helpdesk.handover.registry import register_record_type
    except ImportError:  # the handover registry is not there (older helpdesk)
        return

    from faq.models import FaqEntry

    register_record_type(
        TYPE, exporter=export_entries, importer=import_entry, order=100, counter=FaqEntry.objects.count
    )
