"""Which record types the handover file carries, and how each is written and read.

helpdesk registers its own types (`helpdesk.handover.records`); other apps register theirs
from their ``AppConfig.ready()`` so helpdesk never imports them::

    from helpdesk.handover.registry import register_record_type

    register_record_type("faq_entry", exporter=faq_export_entries, importer=faq_import_entry,
                         order=100, counter=lambda: FaqEntry.objects.count())

``exporter()`` yields one ``dict`` per record (JSON-serialisable; the ``"type"`` field is
added if missing); stream it (``.iterator(chunk_size=…)``), never build a list.

``importer(data, ctx)`` writes one record from a parsed line and returns ``"created"``,
``"updated"`` or ``"unchanged"`` (compare with what is stored: importing a file twice
must change nothing). It runs inside a savepoint; raise anything to reject the line
(``KeyError`` → "missing field", ``ValueError``/``ValidationError`` → their message,
``IntegrityError`` → "constraint violated"). Raise ``UnresolvedReference`` when the line
refers to something that may come later in the file: the line is retried after the rest
and rejected with that message only if the reference never resolves. ``ctx`` is an
``ImportContext`` with helpers (``ctx.inquiry(ref)``, ``ctx.user(username)``,
``ctx.time(value)``). Write only through the database: the importer may run more than
once for the same line (its batch is rolled back and retried when another line fails),
and only what the committed transaction holds counts.

``order`` sets the export order (lower first; helpdesk uses 10–70) and nothing else: the
importer accepts the types in any order.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from typing import Any

from helpdesk.handover.codec import UnresolvedReference

Exporter = Callable[[], Iterable[dict[str, Any]]]
Importer = Callable[[dict[str, Any], Any], str]

RESERVED_TYPES = frozenset({"header"})


@dataclasses.dataclass(frozen=True)
class RecordType:
    type_name: str
    exporter: Exporter
    importer: Importer
    order: int
    counter: Callable[[], int] | None = None
    # Optional, for high-volume types: bulk_importer(items, priors, ctx) imports many lines
    # at once and returns one outcome per line ("created", "updated", "unchanged", or
    # "defer" for a line whose reference is not there yet, nothing written; an outcome with
    # "+retry" appended when the line was written but should run again after the rest of
    # the file, as ImportContext.retry_later does). It may raise for any problem:
    # the batch is then redone line by line with `importer`, which finds the bad line.
    bulk_importer: Callable[..., list[str]] | None = None
    # Optional, with bulk_importer: bulk_prepare(items, priors) does the pure part of a run
    # (typing and checking the lines, no database) ahead of the batch's transaction, on the
    # importer's parsing thread; a result other than None comes back as
    # bulk_importer(…, prepared=…). Used on the bulk path (PostgreSQL) only.
    bulk_prepare: Callable[[list[dict[str, Any]], list[str | None]], Any] | None = None

    def __reduce__(self) -> tuple[Callable[[str], RecordType], tuple[str]]:
        # Pickled by name (the parsing process hands typed batches to the importer's): the
        # functions it holds are closures, and both processes have the same registry.
        return _registered, (self.type_name,)


_registry: dict[str, RecordType] = {}


def register_record_type(
    type_name: str,
    exporter: Exporter,
    importer: Importer,
    order: int,
    counter: Callable[[], int] | None = None,
    bulk_importer: Callable | None = None,
    bulk_prepare: Callable | None = None,
) -> RecordType:
    """Register (or re-register, e.g. on autoreload) a record type."""
    if not type_name or type_name in RESERVED_TYPES:
        raise ValueError(f"record type name {type_name!r} is reserved or empty")
    record_type = RecordType(type_name, exporter, importer, order, counter, bulk_importer, bulk_prepare)
    _registry[type_name] = record_type
    return record_type


def unregister_record_type(type_name: str) -> None:
    """For tests that register a dummy type."""
    _registry.pop(type_name, None)


def registered_types() -> list[RecordType]:
    """All record types, in export order."""
    return sorted(_registry.values(), key=lambda t: (t.order, t.type_name))


def _registered(type_name: str) -> RecordType:
    return _registry[type_name]


def get_record_type(type_name: str) -> RecordType | None:
    return _registry.get(type_name)


__all__ = [
    "RecordType",
    "UnresolvedReference",
    "get_record_type",
    "register_record_type",
    "registered_types",
    "unregister_record_type",
]
