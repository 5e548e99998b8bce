"""FAQ entries in the contractor handover file (type "faq_entry").

Categories travel inside each entry (by slug and name); the source cluster and surge do not
(they are derived data that the next contractor's own clustering recomputes). The natural key
is (question, created_at), so importing the same file twice changes nothing."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
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


def import_entries(items: Sequence[dict[str, Any]], priors: Sequence[str | None], ctx: Any = None) -> list[str]:
    """The bulk importer of a run of "faq_entry" lines (the handover's fast path): the same
    outcomes and rows as `import_entry` line by line, in a few queries for the whole run
    instead of about nine a line. The categories are looked up once and the missing ones
    created (the first line naming one gives its name and order, as get_or_create does);
    the stored entries are read in one query per 500 questions, in the model's order (the
    first of two with the same key, as `.first()` takes); new entries are validated field
    by field (`full_clean` without the constraint checks and the category's existence, a
    query each) and written by one
    `bulk_create`, their `created_at` restored by one `bulk_update`. The check constraints
    are the database's: a line that breaks one raises IntegrityError, and the importer then
    redoes the batch line by line, where `import_entry` rejects it with the usual reason.
    Anything unusual (a key twice in the run, a category that is not {"slug": …}) raises
    too, for the same redo."""
    from faq.models import FaqCategory, FaqEntry

    lines: list[tuple[dict[str, Any], Any]] = []
    keys: set[tuple[Any, Any]] = set()
    named: dict[str, dict[str, Any]] = {}
    for data in items:
        c = data.get("category")
        if c:
            if not isinstance(c, dict) or not isinstance(c.get("slug"), str) or not c["slug"]:
                raise ValueError("category is not an object with a slug")
            named.setdefault(c["slug"], c)
        created_at = _time(data["created_at"])
        key = (data["question"], created_at)
        if not isinstance(key[0], str) or key in keys:
            raise ValueError("the same entry twice among lines imported together")
        keys.add(key)
        lines.append((data, created_at))
    categories = {c.slug: c for c in FaqCategory.objects.filter(slug__in=list(named))}
    for slug, c in named.items():
        if slug not in categories:
            categories[slug] = FaqCategory.objects.create(
                slug=slug, name=c.get("name") or slug, order=c.get("order") or 0
            )
    stored: dict[tuple[Any, Any], Any] = {}
    questions = sorted({question for question, _ in keys})
    for start in range(0, len(questions), 500):
        # (In the model's ordering, as `.first()` reads it.)
        for entry in FaqEntry.objects.filter(question__in=questions[start : start + 500]):
            stored.setdefault((entry.question, entry.created_at), entry)
    outcomes: list[str] = []
    new: list[tuple[Any, Any]] = []
    for data, created_at in lines:
        c = data.get("category")
        values = {
            "status": data["status"],
            "answer": data.get("answer") or "",
            "category": categories[c["slug"]] if c else None,
            "published_at": _time(data.get("published_at")),
            "retired_at": _time(data.get("retired_at")),
            "version": int(data.get("version") or 1),
        }
        existing = stored.get((data["question"], created_at))
        if existing is None:
            entry = FaqEntry(question=data["question"], **values)
            # (Not the category's existence either, a query each: it was just read or made.)
            entry.full_clean(exclude=["category"], validate_unique=False, validate_constraints=False)
            new.append((entry, created_at))
            outcomes.append("created")
        elif all(getattr(existing, k) == v for k, v in values.items()):
            outcomes.append("unchanged")
        else:
            for k, v in values.items():
                setattr(existing, k, v)
            existing.full_clean()
            existing.save()
            outcomes.append("updated")
    if new:
        entries = FaqEntry.objects.bulk_create([entry for entry, _ in new])
        # auto_now_add ignores a given value on insert; keep the original creation time.
        for entry, (_, created_at) in zip(entries, new, strict=True):
            entry.created_at = created_at
        FaqEntry.objects.bulk_update(entries, ["created_at"])
    return outcomes


def register() -> None:
    try:
        from helpdesk.handover.registry import register_record_type
    except ImportError:  # the handover registry is not there (older helpdesk)
        return

    from faq.models import FaqEntry

    register_record_type(
        TYPE,
        exporter=export_entries,
        importer=import_entry,
        order=100,
        counter=FaqEntry.objects.count,
        bulk_importer=import_entries,
    )
