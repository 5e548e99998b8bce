"""Encoding of values in the handover file, and the helpers importers share.

Times are ISO 8601 with their offset, written on the Tokyo clock
(``2026-10-01T10:00:00.123456+09:00``); a time without an offset is read as Tokyo time.
Binary values (raw mail, attachments) are standard base64. References to an inquiry are
``{"ref": …}``, ``{"call_id": …}`` or ``{"message_id": …}``.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import functools
import uuid
from collections.abc import Sequence
from typing import Any, Literal, TypeVar, overload

from django.contrib.auth import get_user_model
from django.db import connection, models
from django.utils import timezone

from helpdesk.db import column_of, pk_column
from helpdesk.models import Call, EmailMessage, Inquiry

M = TypeVar("M", bound=models.Model)

# Namespace of the keys derived from content for lines that carry no "key" (uuid5).
HANDOVER_NAMESPACE = uuid.UUID("6b1d6b1e-6f0c-5b7e-9a43-2c1e0f9e4a51")


class UnresolvedReference(Exception):
    """The line refers to a record not (yet) in the database."""


# --- values ---------------------------------------------------------------------------------


def format_time(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    return timezone.localtime(value).isoformat()


def parse_time(value: Any, *, field: str = "") -> dt.datetime | None:
    """ISO 8601 → aware datetime; None/"" → None; naive → Asia/Tokyo."""
    if value is None or value == "":
        return None
    if value.__class__ is str:
        # The usual line (an offset, no blanks): one call. Anything else, the general rule.
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError:
            parsed = None
        if parsed is not None and parsed.tzinfo is not None and not value[-1].isspace():
            return parsed
    if not isinstance(value, str):
        raise ValueError(f"bad time in field {field!r}: not a string")
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"bad time in field {field!r}: {value[:40]!r}") from None
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed, timezone.get_default_timezone())
    return parsed


def format_clock(value: dt.time | None) -> str | None:
    return value.isoformat() if value is not None else None


def parse_clock(value: Any, *, field: str = "") -> dt.time | None:
    if value is None or value == "":
        return None
    try:
        return dt.time.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"bad time of day in field {field!r}: {str(value)[:20]!r}") from None


def parse_date(value: Any, *, field: str = "") -> dt.date:
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"bad date in field {field!r}: {str(value)[:20]!r}") from None


def b64encode(value: bytes | memoryview | None) -> str | None:
    if value is None:
        return None
    return base64.b64encode(bytes(value)).decode("ascii")


def b64decode(value: Any, *, field: str = "") -> bytes:
    if value is None or value == "":
        return b""
    if not isinstance(value, str):
        raise ValueError(f"field {field!r} must be a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"field {field!r} is not valid base64") from None


def text(data: dict, field: str, default: str = "") -> str:
    value = data.get(field, default)
    if value.__class__ is str:
        return value
    if value is None:
        return default
    if not isinstance(value, str):
        raise ValueError(f"field {field!r} must be a string")
    return value


def required_text(data: dict, field: str) -> str:
    value = data[field]
    if not isinstance(value, str) or not value:
        raise ValueError(f"field {field!r} must be a non-empty string")
    return value


def boolean(data: dict, field: str, default: bool = False) -> bool:
    value = data.get(field, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise ValueError(f"field {field!r} must be true or false")
    return value


def integer(data: dict, field: str, default: int | None = None) -> int | None:
    value = data.get(field, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"field {field!r} must be an integer")
    return value


def derived_key(*parts: Any) -> uuid.UUID:
    """A stable key from a record's content, for lines that carry no "key"."""
    return uuid.uuid5(HANDOVER_NAMESPACE, "|".join("" if p is None else str(p) for p in parts))


def parse_key(value: Any) -> uuid.UUID | None:
    if value is None or value == "":
        return None
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise ValueError(f"bad key {str(value)[:40]!r}: not a UUID") from None


def inquiry_reference(ref: str | None) -> dict[str, str] | None:
    return {"ref": ref} if ref else None


def parse_inquiry_reference(reference: Any) -> tuple[str, str]:
    """``{"ref": …}`` / ``{"call_id": …}`` / ``{"message_id": …}`` → (kind, value); pure."""
    if not isinstance(reference, dict) or len(reference) != 1:
        raise ValueError('inquiry reference must be {"ref": …}, {"call_id": …} or {"message_id": …}')
    ((kind, value),) = reference.items()
    if kind not in ("ref", "call_id", "message_id") or not isinstance(value, str) or not value:
        raise ValueError('inquiry reference must be {"ref": …}, {"call_id": …} or {"message_id": …}')
    return kind, value


# --- bookkeeping times ------------------------------------------------------------------------
#
# `created_at` / `updated_at` travel with a record: the KPI's restatement report counts the
# records written after a month was published (kpi.selectors.kpi_changed_records), and that
# count must read the same after a handover. They are set only when the import creates the
# row (the database's auto_now/auto_now_add would write the import time) and are never
# compared: a row the import changes was changed here, now.


@functools.cache
def stamp_fields(model: type[models.Model]) -> tuple[str, ...]:
    """The model's auto_now / auto_now_add fields (fixed per model: computed once)."""
    return tuple(
        f.name
        for f in model._meta.concrete_fields
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
    )


def line_stamps(model: type[models.Model], data: dict) -> dict[str, dt.datetime]:
    """The bookkeeping times the line carries (absent or null: the import time stays)."""
    out = {}
    for name in stamp_fields(model):
        value = parse_time(data.get(name), field=name)
        if value is not None:
            out[name] = value
    return out


def restore_stamps(model: type[models.Model], rows: Sequence[tuple[models.Model, dict[str, dt.datetime]]]) -> None:
    """Write the file's bookkeeping times on rows just created (one UPDATE per field set)."""
    rows = [(instance, values) for instance, values in rows if values]
    if not rows:
        return
    if len(rows) == 1:
        instance, values = rows[0]
        model._default_manager.filter(pk=instance.pk).update(**values)
        for name, value in values.items():
            setattr(instance, name, value)
        return
    by_fields: dict[tuple[str, ...], list[models.Model]] = {}
    for instance, values in rows:
        for name, value in values.items():
            setattr(instance, name, value)
        by_fields.setdefault(tuple(sorted(values)), []).append(instance)
    for fields, instances in by_fields.items():
        if connection.vendor == "postgresql":
            _update_from_values(model, fields, instances)
        else:
            # bulk_update writes the attributes as they are (no auto_now pre_save).
            model._default_manager.bulk_update(instances, list(fields), batch_size=500)


def _update_from_values(model: type[models.Model], fields: tuple[str, ...], instances: list[models.Model]) -> None:
    """One UPDATE … FROM (VALUES …) per 1000 rows, a join. bulk_update's CASE over every id
    took 41–45 s of a 36 k-line import (~100 s); this takes 6–7 s of ~70 s (docs/handover.md)."""
    qn = connection.ops.quote_name
    opts = model._meta
    columns = [column_of(model, name) for name in fields]
    pk = pk_column(model)
    assignments = ", ".join(f"{qn(c)} = v.{qn(c)}" for c in columns)
    row = "(" + ", ".join(["%s"] * (len(columns) + 1)) + ")"
    # The first row's casts type the VALUES list.
    first = f"(%s::{opts.pk.db_type(connection)}, " + ", ".join(["%s::timestamptz"] * len(columns)) + ")"
    with connection.cursor() as cursor:
        for start in range(0, len(instances), 1000):
            chunk = instances[start : start + 1000]
            params: list[Any] = []
            for instance in chunk:
                params.append(instance.pk)
                params.extend(getattr(instance, name) for name in fields)
            values = ", ".join([first] + [row] * (len(chunk) - 1))
            names = ", ".join(["id_", *(qn(c) for c in columns)])
            cursor.execute(
                f"UPDATE {qn(opts.db_table)} AS t SET {assignments} FROM (VALUES {values}) AS v({names}) "
                f"WHERE t.{qn(pk)} = v.id_",
                params,
            )


# --- writing one record -----------------------------------------------------------------------


def upsert(
    model: type[M],
    *,
    lookup: dict[str, Any],
    values: dict[str, Any],
    stamps: dict[str, dt.datetime] | None = None,
) -> tuple[M, str]:
    """Create the row identified by `lookup` with `values` (and the bookkeeping times
    `stamps`), or bring an existing one to `values`. Field validation (choices, lengths)
    here; constraints are the database's. Returns the row and "created", "updated" or
    "unchanged"."""
    instance = model._default_manager.filter(**lookup).first()
    if instance is None:
        instance = model(**lookup, **values)
        clean(instance)
        instance.save(force_insert=True)
        if stamps:
            restore_stamps(model, [(instance, stamps)])
        return instance, "created"
    return instance, update_existing(instance, values)


def update_existing(instance: models.Model, values: dict[str, Any]) -> str:
    """Bring a stored row to `values`: "updated" (changed fields saved) or "unchanged"."""
    changed = [name for name, value in values.items() if _differs(_stored(instance, name), value)]
    if not changed:
        return "unchanged"
    for name in changed:
        setattr(instance, name, values[name])
    clean(instance)
    update_fields = [instance._meta.get_field(name).name for name in changed]
    if any(f.name == "updated_at" for f in instance._meta.concrete_fields):
        update_fields.append("updated_at")
    instance.save(update_fields=update_fields)
    instance._handover_changed = changed  # type: ignore[attr-defined]
    return "updated"


class _Ref:
    """A stored foreign key, compared by id without loading the related row."""

    def __init__(self, pk: Any) -> None:
        self.pk = pk


def _stored(instance: models.Model, name: str) -> Any:
    field = instance._meta.get_field(name)
    if field.is_relation and field.concrete:
        return _Ref(getattr(instance, field.attname))
    return getattr(instance, name)


def _differs(old: Any, new: Any) -> bool:
    if isinstance(old, memoryview):
        old = bytes(old)
    if isinstance(old, (models.Model, _Ref)) or isinstance(new, (models.Model, _Ref)):
        return getattr(old, "pk", None) != getattr(new, "pk", None)
    return old != new


def clean(instance: models.Model) -> None:
    exclude = [f.name for f in instance._meta.concrete_fields if f.is_relation]
    instance.clean_fields(exclude=exclude)


# --- the import context -----------------------------------------------------------------------


class ImportContext:
    """Per-run helpers for importers: inquiry references and users by username (cached)."""

    def __init__(self, *, run=None) -> None:
        self.run = run
        self._users: dict[str, Any] = {}
        # Set by the importer for each line:
        # Rows looked up in bulk for the lines being imported together (None: known missing).
        self._cache: dict[tuple[str, str], Any] = {}
        self.final = False  # last pass: an unresolved reference is now a rejection
        self.prior_outcome: str | None = None  # what an earlier pass did with this line
        self._retry = False
        # Set by the importer: high-volume types go through helpdesk.handover.bulk (COPY +
        # one set-based upsert per batch, references resolved in SQL) — PostgreSQL only.
        self.copy = False
        # Set by the bulk path once it noted a row for a link-only retry in this run.
        self.links_noted = False
        # Set by the importer when the high-volume tables were empty as the run began (a first
        # handover): the bulk path then inserts a batch's lines first and probes only those
        # whose key turned out to be stored (bulk._copy_import).
        self.insert_first = False

    def retry_later(self) -> None:
        """The line was written but one of its optional links could not be resolved yet:
        run it again after the rest of the file (the link is then set)."""
        self._retry = True

    def start_line(self, *, final: bool, prior_outcome: str | None) -> None:
        self.final = final
        self.prior_outcome = prior_outcome
        self._retry = False

    @property
    def wants_retry(self) -> bool:
        return self._retry

    def forget_users(self) -> None:
        """Drop cached users (a rolled-back savepoint may have created some)."""
        self._users.clear()

    @overload
    def time(self, data: dict, field: str, *, required: Literal[True]) -> dt.datetime: ...
    @overload
    def time(self, data: dict, field: str, *, required: bool = False) -> dt.datetime | None: ...
    def time(self, data: dict, field: str, *, required: bool = False) -> dt.datetime | None:
        if required:
            value = parse_time(data[field], field=field)
            if value is None:
                raise ValueError(f"field {field!r} must not be empty")
            return value
        return parse_time(data.get(field), field=field)

    def inquiry(self, reference: Any):
        """Resolve ``{"ref"}`` / ``{"call_id"}`` / ``{"message_id"}`` to an Inquiry."""
        kind, value = parse_inquiry_reference(reference)
        if (kind, value) in self._cache:
            found = self._cache[(kind, value)]
        elif kind == "ref":
            found = Inquiry.objects.filter(ref=value).first()
        elif kind == "call_id":
            found = Inquiry.objects.filter(call__call_id=value).first()
        else:
            found = (
                Inquiry.objects.filter(source_message__message_id=value).first()
                or Inquiry.objects.filter(messages__message_id=value).first()
            )
        if found is None:
            raise UnresolvedReference(f"reference to unknown inquiry {kind}={value[:80]}")
        return found

    def call(self, call_id: Any):
        """The Call with this PBX id (UnresolvedReference if there is none yet)."""
        if not isinstance(call_id, str) or not call_id:
            raise ValueError("field 'call_id' must be a non-empty string")
        key = ("call", call_id)
        found = self._cache[key] if key in self._cache else Call.objects.filter(call_id=call_id).first()
        if found is None:
            raise UnresolvedReference(f"reference to unknown call call_id={call_id[:80]}")
        return found

    def message(self, message_id: Any):
        """The EmailMessage with this Message-ID (UnresolvedReference if there is none yet)."""
        if not isinstance(message_id, str) or not message_id:
            raise ValueError("field 'message_id' must be a non-empty string")
        key = ("message", message_id)
        found = self._cache[key] if key in self._cache else EmailMessage.objects.filter(message_id=message_id).first()
        if found is None:
            raise UnresolvedReference(f"reference to unknown email message_id={message_id[:80]}")
        return found

    def prefetch(self, kind: str, keys: set) -> None:
        """Look up many calls ("call"), messages ("message") or inquiries by ref ("ref") in
        one query for the lines about to be imported together."""
        model, field = {"call": (Call, "call_id"), "message": (EmailMessage, "message_id"), "ref": (Inquiry, "ref")}[
            kind
        ]
        keys = {k for k in keys if isinstance(k, str) and k}
        if not keys:
            return
        found = model._default_manager.in_bulk(list(keys), field_name=field)
        for key in keys:
            self._cache[(kind, key)] = found.get(key)

    def clear_cache(self) -> None:
        self._cache.clear()

    def user(self, username: Any):
        """The user with this username; a missing one is created inactive, with no password
        and no role (the history keeps its name; the new contractor decides on access)."""
        if username is None or username == "":
            return None
        if not isinstance(username, str):
            raise ValueError("username must be a string")
        if username in self._users:
            return self._users[username]
        user_model = get_user_model()
        user = user_model._default_manager.filter(**{user_model.USERNAME_FIELD: username}).first()
        if user is None:
            user = user_model(**{user_model.USERNAME_FIELD: username}, is_active=False)
            user.set_unusable_password()
            user.full_clean(exclude=["password"])
            user.save()
        self._users[username] = user
        return user
