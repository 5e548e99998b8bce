"""The first handover: secondary indexes built once at the end instead of row by row.

Into an empty database (the new contractor's first import of the outgoing one's export),
keeping the record tables' secondary indexes up to date row by row is most of PostgreSQL's
work: the inquiry table alone has fifteen, among them the trigram GIN index of the search
text. On the bulk path, when the tables below are all empty, the import drops their
secondary indexes (not the primary keys, nor the unique indexes: natural keys, ON CONFLICT
and the references resolved in SQL use them), writes the file, and builds them again with
one CREATE INDEX each — the same definitions, read from the catalogue before the drop.

The definitions are stored first (`DeferredIndex`), in their own transaction: a run that
dies half-way leaves them, and the next import builds them before anything else. docs/handover.md, "First handover".
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import DatabaseError, connection, transaction

from helpdesk.models import Call, Complaint, DeferredIndex, EmailMessage, Escalation, Inquiry

logger = logging.getLogger(__name__)

# The high-volume tables of a handover. Attachments keep their index (a rewritten message's
# attachments are looked up by message).
TABLES = tuple(model._meta.db_table for model in (Call, EmailMessage, Inquiry, Escalation, Complaint))


def defer_enabled() -> bool:
    return connection.vendor == "postgresql" and settings.HELPDESK_HANDOVER_DEFER_INDEXES


def tables_empty() -> bool:
    """Whether every table of TABLES is empty (a first handover)."""
    with connection.cursor() as cursor:
        for table in TABLES:
            cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {connection.ops.quote_name(table)})")
            if cursor.fetchone()[0]:
                return False
    return True


def first_handover_indexes_drop() -> list[str]:
    """If every table of TABLES is empty, drop their secondary indexes (definitions stored in
    DeferredIndex first); the names dropped, none when a table holds a row. Only the tables'
    owner may drop an index: under the application's role (scripts/app_role.sql) nothing is
    dropped and the import keeps the indexes (logged)."""
    try:
        return _drop()
    except DatabaseError as exc:
        logger.warning("first handover: secondary indexes kept (%s); import as the tables' owner to defer them", exc)
        return []


def _drop() -> list[str]:
    with transaction.atomic(), connection.cursor() as cursor:
        # Serialises two imports starting together into the same empty database.
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext('helpdesk.handover.indexes'))")
        for table in TABLES:
            cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {connection.ops.quote_name(table)})")
            if cursor.fetchone()[0]:
                return []
        cursor.execute(
            "SELECT c.relname, t.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid "
            "JOIN pg_namespace n ON n.oid = t.relnamespace "
            "WHERE t.relname = ANY(%s) AND n.nspname = current_schema() "
            "AND NOT i.indisunique AND NOT i.indisprimary "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid) "
            "ORDER BY t.relname, c.relname",
            [list(TABLES)],
        )
        found = cursor.fetchall()
        DeferredIndex.objects.bulk_create(
            [DeferredIndex(name=name, table=table, definition=definition) for name, table, definition in found],
            ignore_conflicts=True,
        )
        if found:
            cursor.execute(
                "DROP INDEX IF EXISTS " + ", ".join(connection.ops.quote_name(name) for name, _t, _d in found)
            )
    if found:
        logger.info("first handover: %d secondary indexes deferred to the end of the import", len(found))
    return [name for name, _t, _d in found]


def deferred_indexes_restore() -> list[str]:
    """Build every index a first handover deferred (CREATE INDEX with the stored definition;
    one already there is left as it is) and forget the definitions; the names built."""
    if connection.vendor != "postgresql":
        return []
    built = []
    outer = connection.in_atomic_block
    with transaction.atomic(), connection.cursor() as cursor:
        if outer:
            # Within a caller's transaction, its deferred foreign-key checks are checked now
            # (CREATE INDEX refuses a table with pending trigger events), and deferred again.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext('helpdesk.handover.indexes'))")
        # One build each, with room to sort (the GIN index of the search text above all).
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        # In this backend alone: its CPU time is the build's (bench_handover.py reads it).
        cursor.execute("SET LOCAL max_parallel_maintenance_workers = 0")
        for deferred in DeferredIndex.objects.select_for_update().order_by("id"):
            cursor.execute("SELECT to_regclass(%s) IS NULL", [connection.ops.quote_name(deferred.name)])
            if cursor.fetchone()[0]:
                try:
                    with transaction.atomic():
                        cursor.execute(deferred.definition)
                except DatabaseError as exc:
                    # Not the owner (the application's role): left for an import run as the owner.
                    logger.error("first handover: index %s not built (%s)", deferred.name, exc)
                    continue
                built.append(deferred.name)
            deferred.delete()
        if outer:
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    if built:
        logger.info("first handover: %d secondary indexes built", len(built))
    return built
