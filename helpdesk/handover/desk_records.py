"""The desk's own texts in the handover file: canned responses and internal notes.

* ``canned_response`` — a reply text admins maintain (`CannedResponse`). Natural key: ``title``
  + ``created_at`` (the FAQ entries' rule: an admin may edit a text, never when it was
  written; two texts of one title written at the same microsecond are the same text).
  Fields: ``body``, ``category`` (an inquiry category it suits, blank = any), ``active``,
  ``order``, ``created_by`` (username), ``updated_at``. The body is stored as written: a
  variable this version does not know stays visible when the text is used
  (`helpdesk.canned.services.canned_render` reports it), never a reason to lose the text.
* ``inquiry_note`` — an agent's internal note on an inquiry (`InquiryNote`). Notes are
  append-only, so a note is what it says, where and when: natural key ``inquiry`` (reference)
  + ``created_at`` + ``body``; ``author`` (username) is its only other field. A note has no
  key column (no migration): its content is its key, as a derived "key" would be.

The note's text is personal information for the audit trail, as on the desk ("audited
without its text"): an import's UPDATE row names the fields, never the text (`PII_FIELDS`),
and a reject's reason never quotes it. Created rows are covered by the run's IMPORT event.

Both go the row path (`import_*`) and, in runs of lines, a bulk importer (`bulk_import_*`: the
stored rows of the run in a query per 500 keys, the new ones in one statement), on PostgreSQL
and SQLite alike — not the COPY path of `helpdesk.handover.bulk`, which needs a key column.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

from django.db import connection

from helpdesk.db import bulk_insert
from helpdesk.handover import codec
from helpdesk.handover.audit import audit_update
from helpdesk.handover.codec import (
    ImportContext,
    UnresolvedReference,
    boolean,
    format_time,
    integer,
    parse_inquiry_reference,
    required_text,
    text,
    update_existing,
)
from helpdesk.handover.registry import register_record_type
from helpdesk.models import CannedResponse, Inquiry, InquiryNote

CHUNK = 2000
LOOKUP_CHUNK = 500

CANNED = "canned_response"
NOTE = "inquiry_note"


def _chunks(values: list, size: int = LOOKUP_CHUNK) -> Iterator[list]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


# --- canned_response --------------------------------------------------------------------------


def export_canned_responses() -> Iterator[dict[str, Any]]:
    qs = CannedResponse.objects.order_by("pk").values(
        "title", "body", "category", "active", "order", "created_by__username", "created_at", "updated_at"
    )
    for c in qs.iterator(chunk_size=CHUNK):
        yield {
            "type": CANNED,
            "title": c["title"],
            "created_at": format_time(c["created_at"]),
            "body": c["body"],
            "category": c["category"],
            "active": c["active"],
            "order": c["order"],
            "created_by": c["created_by__username"],
            "updated_at": format_time(c["updated_at"]),
        }


def _parse_canned(data: dict, ctx: ImportContext) -> tuple[tuple[str, dt.datetime], dict[str, Any]]:
    key = (required_text(data, "title"), ctx.time(data, "created_at", required=True))
    values = {
        "body": required_text(data, "body"),
        "category": text(data, "category"),
        "active": boolean(data, "active", default=True),
        "order": integer(data, "order", default=0),
        "created_by": ctx.user(data.get("created_by")),
    }
    return key, values


def _new_canned(key: tuple[str, dt.datetime], values: dict[str, Any]) -> CannedResponse:
    instance = CannedResponse(title=key[0], **values)
    codec.clean(instance)
    return instance


def import_canned_response(data: dict, ctx: ImportContext) -> str:
    key, values = _parse_canned(data, ctx)
    stored = CannedResponse.objects.filter(title=key[0], created_at=key[1]).order_by("pk").first()
    if stored is None:
        instance = _new_canned(key, values)
        instance.save(force_insert=True)
        codec.restore_stamps(CannedResponse, [(instance, codec.line_stamps(CannedResponse, data))])
        return "created"
    return audit_update(stored, update_existing(stored, values), ctx)


def bulk_import_canned_responses(items: list[dict], priors: list[str | None], ctx: ImportContext) -> list[str]:
    """A run of canned responses: what `import_canned_response` does line by line."""
    parsed = [_parse_canned(data, ctx) for data in items]
    keys = [key for key, _ in parsed]
    if len(set(keys)) != len(keys):
        raise ValueError("the same key twice among lines imported together")
    stored: dict[tuple[str, dt.datetime], CannedResponse] = {}
    for titles in _chunks(sorted({title for title, _ in keys})):
        for row in CannedResponse.objects.filter(title__in=titles).order_by("pk"):
            stored.setdefault((row.title, row.created_at), row)  # the first, as .first() takes
    results: list[str] = []
    new: list[tuple[CannedResponse, dict[str, dt.datetime]]] = []
    for index, (key, values) in enumerate(parsed):
        instance = stored.get(key)
        if instance is None:
            new.append((_new_canned(key, values), codec.line_stamps(CannedResponse, items[index])))
            results.append("created")
        else:
            results.append(audit_update(instance, update_existing(instance, values), ctx, prior=priors[index]))
    CannedResponse.objects.bulk_create([instance for instance, _ in new], batch_size=500)
    codec.restore_stamps(CannedResponse, new)
    return results


# --- inquiry_note -----------------------------------------------------------------------------


def export_inquiry_notes() -> Iterator[dict[str, Any]]:
    qs = InquiryNote.objects.order_by("pk").values("inquiry__ref", "created_at", "author__username", "body")
    for n in qs.iterator(chunk_size=CHUNK):
        yield {
            "type": NOTE,
            "inquiry": codec.inquiry_reference(n["inquiry__ref"]),
            "created_at": format_time(n["created_at"]),
            "author": n["author__username"],
            "body": n["body"],
        }


def _parse_note(data: dict, ctx: ImportContext, inquiry_id: Callable[[Any], Any]) -> tuple[Any, dt.datetime, str, Any]:
    """(inquiry id, created_at, body, author); the inquiry first (UnresolvedReference defers
    the line before a user is looked up or created). `inquiry_id(reference)`: the inquiry's
    id, as `ctx.inquiry` resolves the reference."""
    inquiry = inquiry_id(data["inquiry"])
    created_at = ctx.time(data, "created_at", required=True)
    body = required_text(data, "body")
    return inquiry, created_at, body, ctx.user(data.get("author"))


def import_inquiry_note(data: dict, ctx: ImportContext) -> str:
    inquiry_id, created_at, body, author = _parse_note(data, ctx, lambda reference: ctx.inquiry(reference).pk)
    stored = InquiryNote.objects.filter(inquiry_id=inquiry_id, created_at=created_at, body=body).order_by("pk").first()
    if stored is None:
        instance = InquiryNote(inquiry_id=inquiry_id, author=author, body=body)
        codec.clean(instance)
        instance.save(force_insert=True)
        # created_at is auto_now_add (the save wrote the import's time): the note's own time.
        codec.restore_stamps(InquiryNote, [(instance, {"created_at": created_at})])
        return "created"
    return audit_update(stored, update_existing(stored, {"author": author}), ctx)


def _ids_by_ref(items: list[dict], ctx: ImportContext) -> Callable[[Any], Any]:
    """`_parse_note`'s resolver for a run: the ids of the inquiries its lines name by ref, in
    one query (not their rows: an inquiry row is wide); any other reference by `ctx.inquiry`,
    with its checks and messages."""
    refs = [r for r in {d["inquiry"].get("ref") for d in items if isinstance(d.get("inquiry"), dict)} if r]
    ids: dict[str, Any] = {}
    for chunk in _chunks(sorted(r for r in refs if isinstance(r, str)), 1000):
        ids.update(Inquiry.objects.filter(ref__in=chunk).values_list("ref", "pk"))

    def inquiry_id(reference: Any) -> Any:
        kind, value = parse_inquiry_reference(reference)
        if kind != "ref":
            return ctx.inquiry(reference).pk
        found = ids.get(value)
        if found is None:
            raise UnresolvedReference(f"reference to unknown inquiry ref={value[:80]}")
        return found

    return inquiry_id


def bulk_import_inquiry_notes(items: list[dict], priors: list[str | None], ctx: ImportContext) -> list[str]:
    """A run of notes: what `import_inquiry_note` does line by line. Their inquiries' ids in
    one query, the stored notes of those inquiries in one query per 500 inquiries; the new
    notes COPYed with their own created_at on PostgreSQL (`bulk_insert`), else inserted by
    bulk_create and their created_at restored. (The parse has checked everything the row
    path's `clean` would: a non-empty text, an aware time.)"""
    inquiry_id = _ids_by_ref(items, ctx)
    results: list[str] = [""] * len(items)
    parsed = []
    for index, data in enumerate(items):
        try:
            line = _parse_note(data, ctx, inquiry_id)
        except UnresolvedReference:
            if ctx.final:
                raise
            results[index] = "defer"
            continue
        parsed.append((index, line))
    keys = [line[:3] for _, line in parsed]
    if len(set(keys)) != len(keys):
        raise ValueError("the same key twice among lines imported together")
    stored: dict[tuple[Any, dt.datetime, str], InquiryNote] = {}
    for inquiries in _chunks(sorted({key[0] for key in keys})):
        for row in InquiryNote.objects.filter(inquiry_id__in=inquiries).order_by("pk"):
            stored.setdefault((row.inquiry_id, row.created_at, row.body), row)  # the first, as .first()
    new: list[tuple[Any, Any, str, dt.datetime]] = []
    for index, (note_inquiry, created_at, body, author) in parsed:
        instance = stored.get((note_inquiry, created_at, body))
        if instance is None:
            new.append((note_inquiry, getattr(author, "pk", None), body, created_at))
            results[index] = "created"
        else:
            outcome = update_existing(instance, {"author": author})
            results[index] = audit_update(instance, outcome, ctx, prior=priors[index])
    if connection.vendor == "postgresql":
        bulk_insert(InquiryNote, ["inquiry_id", "author_id", "body", "created_at"], new)
    else:
        notes = [InquiryNote(inquiry_id=i, author_id=a, body=b) for i, a, b, _ in new]
        InquiryNote.objects.bulk_create(notes, batch_size=500)
        codec.restore_stamps(InquiryNote, [(n, {"created_at": row[3]}) for n, row in zip(notes, new, strict=True)])
    return results


# --- registration: after their references (users 10; inquiries 40) ----------------------------

register_record_type(
    CANNED,
    export_canned_responses,
    import_canned_response,
    16,
    CannedResponse.objects.count,
    bulk_importer=bulk_import_canned_responses,
)

register_record_type(
    NOTE,
    export_inquiry_notes,
    import_inquiry_note,
    45,
    InquiryNote.objects.count,
    bulk_importer=bulk_import_inquiry_notes,
)
