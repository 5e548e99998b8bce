"""Database helpers shared by the bulk writers (phone, handover, faq): PostgreSQL COPY
inserts, one-query lookups by key, and garbage-collector tuning for long imports."""

from __future__ import annotations

import contextlib
import gc
import json
from collections.abc import Iterable, Sequence

from django.db import connection, models
from psycopg.types.json import Jsonb


class JsonText(str):
    """JSON already encoded, for a JSON column of `bulk_insert` on PostgreSQL: sent to COPY
    as it is (the server parses it into jsonb) instead of encoded again."""


def bulk_insert(model, fields: Sequence[str], rows: Iterable[Sequence], *, binary: bool = False) -> None:
    """Insert many rows: PostgreSQL COPY (an order of magnitude faster than INSERT), else
    bulk_create. Runs inside the caller's transaction; a conflict raises IntegrityError.

    COPY rows are written by psycopg's C row writer; JSON fields' lists and dicts go as jsonb
    (a `JsonText` as the JSON it holds). `binary`: COPY in binary format, each column typed
    from its field (for rows of raw bytes: text COPY sends bytea as hex, twice the bytes, for
    the server to decode); not for JSON fields."""
    if connection.vendor == "postgresql":
        quote = connection.ops.quote_name
        table = quote(model._meta.db_table)
        model_fields = [model._meta.get_field(f) for f in fields]
        columns = ", ".join(quote(f.column) for f in model_fields)
        json_at = [i for i, f in enumerate(model_fields) if f.get_internal_type() == "JSONField"]
        if binary and json_at:
            raise ValueError("bulk_insert(binary=True) takes no JSON fields")
        options = " (FORMAT BINARY)" if binary else ""
        with connection.cursor() as cursor, cursor.copy(f"COPY {table} ({columns}) FROM STDIN{options}") as copy:
            if binary:
                # "varchar(512)" → "varchar", "timestamp with time zone" → its psycopg name.
                copy.set_types([f.db_type(connection).split("(")[0].strip() for f in model_fields])
            write_row = copy.write_row
            if json_at:
                for row in rows:
                    row = list(row)
                    for i in json_at:
                        if type(row[i]) is not JsonText:
                            row[i] = Jsonb(row[i])
                    write_row(row)
            else:
                for row in rows:
                    write_row(row)
    else:
        model.objects.bulk_create([model(**dict(zip(fields, row, strict=True))) for row in rows], batch_size=1000)


def existing_values(model, key: str, value: str, keys: Sequence[str]) -> dict[str, str]:
    """{key: value} for the stored rows among `keys`: one query (on PostgreSQL with one
    array parameter, not thousands of placeholders)."""
    if not keys:
        return {}
    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(model._meta.db_table)
        k = connection.ops.quote_name(model._meta.get_field(key).column)
        v = connection.ops.quote_name(model._meta.get_field(value).column)
        # One index probe per key (a scalar subquery is never made a hash of the whole table,
        # which the planner chose for `= ANY(…)` while a new database had no statistics).
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT k, v FROM (SELECT x.k, (SELECT t.{v} FROM {table} t WHERE t.{k} = x.k LIMIT 1) AS v "
                "FROM jsonb_array_elements_text(%s::jsonb) AS x(k)) s WHERE v IS NOT NULL",
                [json.dumps(list(keys))],  # (one string: the C json encoder, not a Python array dump)
            )
            return dict(cursor.fetchall())
    return dict(model.objects.filter(**{f"{key}__in": list(keys)}).values_list(key, value))


GC_THRESHOLD = 100_000


@contextlib.contextmanager
def fewer_collections():
    """The cyclic garbage collector runs every 700 new container objects by default: in an
    import that keeps tens of thousands of rows in flight that costs a sixth of a generic
    run and a tenth of an Asterisk one. The rows hold no cycles; collect less often while a
    file is imported (process-wide, restored after)."""
    thresholds = gc.get_threshold()
    gc.set_threshold(GC_THRESHOLD, *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)


def column_of(model: type[models.Model], name: str) -> str:
    """The database column of a concrete field (`_meta.get_field()` is typed to return reverse
    relations too; the writers here only name concrete fields)."""
    field = model._meta.get_field(name)
    assert isinstance(field, models.Field) and field.column is not None
    return field.column


def pk_column(model: type[models.Model]) -> str:
    pk = model._meta.pk
    assert pk is not None and pk.column is not None  # every table here has a primary key
    return pk.column
