"""The bulk path of the handover import (PostgreSQL): COPY + one set-based upsert per batch.

The row-by-row importers (`helpdesk.handover.records`) remain the reference. For the
high-volume types (call, email, inquiry, escalation, complaint, security_incident) a run of
lines of one type in a batch goes here instead:

1. each line is typed by the same pure parse function the row path uses, with a context
   whose inquiry / call / message / user lookups return the *reference* instead of a row
   (`_Pending`, `_PendingUser`), checked against the model's field rules (`_Checker`) and
   built into a stage row by a function generated for the type (`_row_builder`; the plan's
   field-by-field dispatch, `_plan_row`, is its reference): `prepare_rows`, no database,
   run ahead in the parsing process (or on a thread); the users are resolved when the
   batch is written;
2. the typed rows are COPYed into a temporary stage table;
3. references and users are resolved in SQL into a narrow side table (`_resolve`: one
   INSERT … SELECT; the wide stage rows are never updated);
4. one SELECT tells which keys are stored and which of their fields differ (for the
   outcome and the audit UPDATE rows), then one `INSERT … ON CONFLICT (key) DO UPDATE …
   WHERE (stored) IS DISTINCT FROM (line)` writes the batch. On a first handover
   (`ctx.insert_first`) the lines are inserted first and only those whose key was stored
   are probed and upserted; calls are COPYed straight into their table (`_copy_direct`).

Anything the bulk path does not handle exactly as the row path does (a value the model
would refuse, a constraint, a key derived from a reference that is not a `ref`, a final
pass with unresolved references) raises: the importer then rolls the batch back and runs
it line by line, so rejects, counts and audit rows are the row path's own.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, MaxLengthValidator, MaxValueValidator, MinValueValidator
from django.db import connection, models
from django.utils import timezone
from psycopg import errors as pg_errors
from psycopg._copy_base import format_row_text  # the C formatter behind Copy.write_row
from psycopg.adapt import Transformer

from helpdesk.handover import codec
from helpdesk.handover.audit import audit_update
from helpdesk.handover.codec import ImportContext, parse_inquiry_reference
from helpdesk.models import Call, EmailMessage, Inquiry


class NotBulkable(Exception):
    """This run of lines must go through the row-by-row importer."""


# --- references, unresolved -----------------------------------------------------------------


class _Pending:
    """A reference to a row, resolved later in SQL: kind ("ref", "call_id", "message_id" for an
    inquiry; "call", "message") and the natural key."""

    __slots__ = ("kind", "key")

    def __init__(self, kind: str, key: str) -> None:
        self.kind = kind
        self.key = key

    @property
    def ref(self) -> str:
        # A key derived from the inquiry's ref (a line without "key") needs the ref now.
        if self.kind == "ref":
            return self.key
        raise NotBulkable("derived key from a non-ref inquiry reference")

    @property
    def pk(self):
        raise NotBulkable("a pending reference has no id yet")


class _PendingUser:
    """A user named by a line, resolved (or created, as ImportContext.user does) when the
    batch is written: parsing stays pure, so it may run ahead on another thread."""

    __slots__ = ("username",)

    def __init__(self, username: str) -> None:
        self.username = username

    @property
    def pk(self):
        raise NotBulkable("a pending user has no id yet")


class _RefContext:
    """The import context for parsing in bulk, pure (no database): references and users come
    back unresolved, with the same shape checks and messages as ImportContext; times as
    usual. Anything else a parse function asks for is an AttributeError (the batch then goes
    through the row path), never a query from the parsing thread."""

    final = False
    time = ImportContext.time

    def inquiry(self, reference: Any) -> _Pending:
        return _Pending(*parse_inquiry_reference(reference))

    def call(self, call_id: Any) -> _Pending:
        if not isinstance(call_id, str) or not call_id:
            raise ValueError("field 'call_id' must be a non-empty string")
        return _Pending("call", call_id)

    def message(self, message_id: Any) -> _Pending:
        if not isinstance(message_id, str) or not message_id:
            raise ValueError("field 'message_id' must be a non-empty string")
        return _Pending("message", message_id)

    def user(self, username: Any) -> _PendingUser | None:
        # ImportContext.user's checks, without the lookup.
        if username is None or username == "":
            return None
        if not isinstance(username, str):
            raise ValueError("username must be a string")
        return _PendingUser(username)

    def retry_later(self) -> None:  # pragma: no cover - parse functions never call it
        raise NotBulkable("retry_later")


_REFS = _RefContext()


# --- field rules, fast ------------------------------------------------------------------------


class _Checker:
    """A conservative, fast stand-in for `Model.clean_fields` on the typed values: it never
    passes a value clean_fields refuses (null, blank, length, choices, the field's other
    validators); on a doubt it raises NotBulkable and the row path gives the exact reason."""

    def __init__(self, model: type[models.Model]) -> None:
        self.rules: dict[str, tuple] = {}
        for f in model._meta.concrete_fields:
            if f.is_relation or f.primary_key or f.generated:
                continue
            choices = frozenset(value for value, _ in f.flatchoices) if f.choices else None
            extra = tuple(v for v in f.validators if not isinstance(v, MaxLengthValidator))
            self.rules[f.name] = (f.null, f.blank, getattr(f, "max_length", None), choices, extra)

    def check(self, name: str, value: Any) -> None:
        rule = self.rules.get(name)
        if rule is None:
            return
        null, blank, max_length, choices, extra = rule
        if value is None:
            if not null:
                raise NotBulkable(name)
            return
        if value == "" and isinstance(value, str):
            if not blank:
                raise NotBulkable(name)
            return
        if max_length is not None and isinstance(value, str) and len(value) > max_length:
            raise NotBulkable(name)
        if choices is not None and value not in choices:
            raise NotBulkable(name)
        for validator in extra:
            try:
                validator(value)
            except ValidationError:
                raise NotBulkable(name) from None


# --- one record type --------------------------------------------------------------------------

_INQUIRY_KINDS = ("ref", "call_id", "message_id")


_KEY, _FK, _TEXT, _CHOICE, _INT, _EMAIL, _CHECK, _NULLCHECK, _STAMP, _PLAIN = (
    "key",
    "fk",
    "text",
    "choice",
    "int",
    "email",
    "check",
    "nullcheck",
    "stamp",
    "plain",
)


# Addresses EmailValidator surely accepts (a strict subset of its rules: dot-atom of
# [a-z0-9_+-], labels of at most 63, an alphabetic top-level label; at most 254 characters):
# the usual address is checked by this one match instead of the validator (~80 µs each).
# Anything else goes through the validator (`_Checker.check`).
_PLAIN_EMAIL = re.compile(
    r"[a-z0-9_+-]+(?:\.[a-z0-9_+-]+)*@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}\Z", re.I | re.A
)


def _int_bounds(validators: tuple) -> tuple[int, int] | None:
    """(low, high) when the field's only validators are constant Min/MaxValue ones."""
    low, high = -(1 << 63), 1 << 63
    for v in validators:
        limit = v.limit_value
        if not isinstance(limit, int) or isinstance(limit, bool):
            return None
        if isinstance(v, MinValueValidator):
            low = max(low, limit)
        elif isinstance(v, MaxValueValidator):
            high = min(high, limit)
        else:
            return None
    return low, high


@dataclasses.dataclass
class CopyType:
    """How one model is written in bulk. `parse(data, ctx)` is the row path's parse function
    and returns (key, values, ...); `pending` names the foreign keys that may hold a
    reference resolved in SQL; `keep_if_null`, those whose absence keeps the stored link."""

    model: type[models.Model]
    key_field: str
    parse: Callable[..., tuple]
    pending: tuple[str, ...] = ()
    keep_if_null: tuple[str, ...] = ()
    # For the link-only retry (`_link_only`): a line's (key, reference kind, reference key)
    # of its keep-if-null link, read from the line without typing the rest of it.
    link_line: Callable[[dict], tuple[Any, str, str]] | None = None

    def __post_init__(self) -> None:
        opts = self.model._meta
        self.fields = [f for f in opts.concrete_fields if not f.primary_key and not f.generated]
        self.stamps = frozenset(codec.stamp_fields(self.model))
        self.has_updated_at = any(f.name == "updated_at" for f in self.fields)
        self.checker = _Checker(self.model)
        self.keep = frozenset(self.keep_if_null)
        user_model = get_user_model()
        self.user_fks = tuple(f.name for f in self.fields if f.is_relation and f.related_model is user_model)
        self.stage = "hstage_" + opts.db_table
        # How each column of a stage row is filled: (field name, mode, aux).
        self.plan = []
        for f in self.fields:
            rule = self.checker.rules.get(f.name)
            if f.name == self.key_field:
                self.plan.append((f.name, _KEY, None))
            elif f.is_relation:
                self.plan.append((f.name, _FK, None))
            elif rule is None or f.name in self.stamps:
                self.plan.append((f.name, _STAMP if f.name in self.stamps else _PLAIN, None))
            elif (
                isinstance(f, (models.CharField, models.TextField)) and rule[3] is None and not rule[4] and not rule[0]
            ):
                self.plan.append((f.name, _TEXT, (rule[2] if rule[2] is not None else 1 << 62, rule[1])))
            elif isinstance(f, models.CharField) and rule[3] is not None and not rule[4]:
                self.plan.append((f.name, _CHOICE, (rule[3], rule[2] if rule[2] is not None else 1 << 62)))
            elif (
                isinstance(f, models.CharField)
                and rule[3] is None
                and len(rule[4]) == 1
                and isinstance(rule[4][0], EmailValidator)
            ):
                self.plan.append((f.name, _EMAIL, min(rule[2] or 254, 254)))
            elif isinstance(f, models.IntegerField) and not f.choices and _int_bounds(rule[4]) is not None:
                self.plan.append((f.name, _INT, _int_bounds(rule[4])))
            elif isinstance(f, (models.DateTimeField, models.BooleanField, models.BinaryField)) and not rule[4]:
                self.plan.append((f.name, _NULLCHECK if not rule[0] else _PLAIN, None))
            else:
                self.plan.append((f.name, _CHECK, None))
        self.build_row = _row_builder(self)


_ABSENT = object()


def _row_builder(spec: CopyType) -> Callable[..., list]:
    """A function that builds one stage row of `spec`'s type from a line's parse, generated
    for the type (step 1's inner loop, per line and field): the plan's per-field dispatch
    (`_plan_row`, the reference) unrolled into straight code, with each field's rule and
    limits as constants — the same values, checks and order, without a loop, a mode test or
    a tuple unpacked per field. `build(index, key, values, data, now, defaults, usernames,
    check)`: `defaults`, the fields' defaults in plan order (computed per run, as before);
    `usernames` collects the users the line names."""
    constants: dict[str, Any] = {
        "_ABSENT": _ABSENT,
        "_Pending": _Pending,
        "_PendingUser": _PendingUser,
        "_plain_email": _PLAIN_EMAIL.match,
        "parse_time": codec.parse_time,
    }
    lines = ["def build(index, key, values, data, now, defaults, usernames, check):"]
    add = lines.append
    add("    row = [index]" if not _plain(spec) else "    row = []")
    add("    append = row.append")
    stamp_vars = {}
    for n, name in enumerate(codec.stamp_fields(spec.model)):
        # Every stamp the line carries is parsed (a bad one raises), used or not: line_stamps.
        stamp_vars[name] = f"st{n}"
        add(f"    st{n} = parse_time(data.get({name!r}), field={name!r})")
    ref_vars = {name: f"ref{n}" for n, name in enumerate(spec.pending)}
    user_vars = {name: f"user{n}" for n, name in enumerate(spec.user_fks)}
    for var in ref_vars.values():
        add(f"    {var} = (None, None)")
    for var in user_vars.values():
        add(f"    {var} = None")
    for n, (name, mode, aux) in enumerate(spec.plan):
        if mode is _KEY:
            add("    append(key)")
            continue
        add(f"    v = values.get({name!r}, _ABSENT)")
        add("    if v is _ABSENT:")
        if mode is _STAMP:
            add(f"        append(now if {stamp_vars[name]} is None else {stamp_vars[name]})")
        else:
            add(f"        append(defaults[{n}])")
        add("    else:")
        if mode is _FK:
            add("        if v is None:")
            add("            pass")
            add("        elif v.__class__ is _PendingUser:")
            add("            usernames[v.username] = None")
            if name in user_vars:
                add(f"            {user_vars[name]} = v.username")
            add("            v = None")
            add("        elif v.__class__ is _Pending:")
            if name in ref_vars:
                add(f"            {ref_vars[name]} = (v.kind, v.key)")
            add("            v = None")
            add("        else:")
            add("            v = v.pk")
        elif mode is _TEXT:
            max_length, blank = aux
            empty = "" if blank else " or not v"
            add(f"        if v.__class__ is not str{empty} or len(v) > {max_length}:")
            add(f"            check({name!r}, v)")
        elif mode is _CHOICE:
            choices, max_length = aux
            constants[f"choices{n}"] = choices
            add(f"        if v.__class__ is not str or not v or v not in choices{n} or len(v) > {max_length}:")
            add(f"            check({name!r}, v)")
        elif mode is _EMAIL:
            add(f"        if v.__class__ is not str or len(v) > {aux} or not _plain_email(v):")
            add(f"            check({name!r}, v)")
        elif mode is _INT:
            low, high = aux
            add(f"        if v.__class__ is not int or not {low} <= v <= {high}:")
            add(f"            check({name!r}, v)")
        elif mode is _CHECK:
            add(f"        check({name!r}, v)")
        elif mode is _NULLCHECK:
            add("        if v is None:")
            add(f"            check({name!r}, v)")
        add("        append(v)")
    for var in ref_vars.values():
        add(f"    row += {var}")
    for var in user_vars.values():
        add(f"    append({var})")
    add("    return row")
    namespace = dict(constants)
    exec(compile("\n".join(lines), f"<handover row builder: {spec.model._meta.db_table}>", "exec"), namespace)
    return namespace["build"]


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _reference_value(target: type[models.Model], kind: str, key: str) -> str:
    """The SQL expression giving the id a pending reference (its kind and key columns,
    already quoted and qualified) resolves to, NULL when nothing matches."""
    inq, call, msg = Inquiry._meta.db_table, Call._meta.db_table, EmailMessage._meta.db_table
    if target is Inquiry:
        # The row path's order: by ref; the phone inquiry of a call; the inquiry a message
        # opened, else the one it belongs to.
        return (
            f"CASE {kind} WHEN 'ref' THEN (SELECT i.id FROM {inq} i WHERE i.ref = {key}) "
            f"WHEN 'call_id' THEN (SELECT i.id FROM {inq} i JOIN {call} c ON c.id = i.call_id "
            f"WHERE c.call_id = {key} LIMIT 1) "
            f"ELSE COALESCE((SELECT i.id FROM {inq} i JOIN {msg} m ON m.id = i.source_message_id "
            f"WHERE m.message_id = {key} LIMIT 1), "
            f"(SELECT m.inquiry_id FROM {msg} m WHERE m.message_id = {key} LIMIT 1)) END"
        )
    if target is Call:
        return f"(SELECT c.id FROM {call} c WHERE c.call_id = {key})"
    if target is EmailMessage:
        return f"(SELECT m.id FROM {msg} m WHERE m.message_id = {key})"
    raise RuntimeError(f"no SQL resolution for {target}")  # pragma: no cover - a programming error


def _resolved_table(spec: CopyType) -> str:
    return "hres_" + spec.model._meta.db_table


def _resolve(cursor, spec: CopyType, prepared: Prepared, ctx: ImportContext) -> dict[str, str]:
    """Resolve the staged run's references and users in one INSERT … SELECT into a narrow
    side table (`hres_<table>`: the line's index, one id per reference or user column, and
    per reference whether it names a row that is not there); the SQL expression of each
    resolved column (quoted column name → `r.<column>`), nothing when the type has none.

    Users by username are found or created (inactive) as the row path does, once a run, in
    Python (`ctx.user`); references in SQL, in the row path's order (`_reference_value`)."""
    opts = spec.model._meta
    refs = [opts.get_field(name).column for name in spec.pending]
    users = [opts.get_field(name).column for name in spec.user_fks]
    if not refs and not users:
        return {}
    table = _resolved_table(spec)
    ddl = ["idx integer"] + [f"{_q(c)} bigint" for c in refs + users] + [f"{_q(c + '__missing')} boolean" for c in refs]
    # Dropped with the stage at the end of the batch's transaction.
    cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {table} ({', '.join(ddl)}) ON COMMIT DROP")
    cursor.execute(f"TRUNCATE {table}")
    names = list(prepared.usernames)
    user_ids = [ctx.user(name).pk for name in names]
    inner, joins = ["s.idx"], []
    for c in refs:
        kind, key = f"s.{_q(c + '__kind')}", f"s.{_q(c + '__key')}"
        inner += [
            kind,
            f"CASE WHEN {kind} IS NOT NULL THEN {_reference_value(_related(spec, c), kind, key)} END AS {_q(c)}",
        ]
    for n, c in enumerate(users):
        # Users by hash join on the run's few names (v: name → id, unique names).
        joins.append(f"LEFT JOIN v u{n} ON u{n}.name = s.{_q(c + '__user')}")
        inner.append(f"u{n}.id AS {_q(c)}")
    outer = (
        ["q.idx"]
        + [f"q.{_q(c)}" for c in refs + users]
        + [f"q.{_q(c + '__kind')} IS NOT NULL AND q.{_q(c)} IS NULL" for c in refs]
    )
    columns = ["idx"] + [_q(c) for c in refs + users] + [_q(c + "__missing") for c in refs]
    cursor.execute(
        "WITH v AS MATERIALIZED (SELECT * FROM unnest(%s::text[], %s::bigint[]) AS v(name, id)) "
        f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(outer)} "
        f"FROM (SELECT {', '.join(inner)} FROM {spec.stage} s {' '.join(joins)}) q",
        [names, user_ids],
    )
    return {_q(c): f"r.{_q(c)}" for c in refs + users}


def resolved_source(spec: CopyType) -> str:
    """The FROM clause of a batch's staged lines with their resolved ids (`s`, `r`), for
    statements run after `copy_import` in the same transaction (a type with references)."""
    return f"{spec.stage} s JOIN {_resolved_table(spec)} r ON r.idx = s.idx"


def _related(spec: CopyType, column: str) -> type[models.Model]:
    field = next(f for f in spec.fields if f.column == column)
    return field.related_model


def _ensure_stage(cursor, spec: CopyType) -> list[str]:
    """The stage table (temporary, for the batch's transaction) and the names of the columns
    its COPY text fills. A plain type's text is its table's row (`_copy_direct` sends it
    as it is): its stage numbers the lines itself (an identity from 0, in COPY's order)."""
    plain = _plain(spec)
    columns = ([] if plain else ["idx"]) + [f.column for f in spec.fields]
    index = "idx integer GENERATED ALWAYS AS IDENTITY (START WITH 0 MINVALUE 0)" if plain else "idx integer"
    ddl = [index] + [f"{_q(f.column)} {f.db_type(connection)}" for f in spec.fields]
    for name in spec.pending:
        column = spec.model._meta.get_field(name).column
        columns += [column + "__kind", column + "__key"]
        ddl += [f"{_q(column + '__kind')} text", f"{_q(column + '__key')} text"]
    for name in spec.user_fks:
        column = spec.model._meta.get_field(name).column
        columns.append(column + "__user")
        ddl.append(f"{_q(column + '__user')} text")
    # Dropped at the end of the batch's transaction: a long-lived connection (a Celery
    # worker) never keeps a stage shaped after an older schema.
    cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {spec.stage} ({', '.join(ddl)}) ON COMMIT DROP")
    cursor.execute(f"TRUNCATE {spec.stage}" + (" RESTART IDENTITY" if plain else ""))
    return columns


@dataclasses.dataclass
class Prepared:
    """A run of lines of one type, typed, checked and formatted for COPY (`prepare_rows`):
    pure work, done ahead of the batch's transaction (in the parsing process, or on the
    importer's parsing thread), and compact: what crosses to the importer is one block of
    COPY text and a few lists, not the typed values.

    `copy`: the stage's rows in COPY text format (the first column, the line's index in the
    run, but for a plain type, whose text is its table's rows; a user named by a line in its `<column>__user` column, resolved in SQL); `keys`, the
    lines' natural keys; `rests`, what each line's parse returned beyond (key, values) (an
    email's attachments); `usernames`, the users the run names, in order of first mention;
    `error`, what the preparation raised (the batch then goes through the row path when it
    reaches this run)."""

    copy: bytes = b""
    keys: list = dataclasses.field(default_factory=list)
    rests: list[tuple] = dataclasses.field(default_factory=list)
    update_fields: list[str] = dataclasses.field(default_factory=list)
    usernames: dict[str, None] = dataclasses.field(default_factory=dict)
    error: BaseException | None = None
    # A retry pass of a type with a link-only retry (`prepare_links`): each line's
    # (key, reference kind, reference key), or (None, None, None) where the line has none;
    # nothing typed (the lines that need more are typed when written).
    links: list[tuple[Any, Any, Any]] | None = None


def prepare_rows(spec: CopyType, items: list[dict]) -> Prepared:
    """Type and check a run of lines (step 1 of the bulk path) without the database; what
    it raises is kept in `error` (copy_import raises it again: the batch goes line by line)."""
    try:
        return _prepare_rows(spec, items)
    except Exception as exc:
        return Prepared(error=exc)


def _prepare_rows(spec: CopyType, items: list[dict]) -> Prepared:
    now = timezone.now()
    defaults = [f.get_default() for f in spec.fields]
    check = spec.checker.check
    build, parse, key_field = spec.build_row, spec.parse, spec.key_field
    prepared = Prepared()
    usernames, keys, rests = prepared.usernames, prepared.keys, prepared.rests
    transformer = _transformer()
    out = bytearray()
    seen: set = set()
    first_values: dict = {}
    for index, data in enumerate(items):
        key, values, *rest = parse(data, _REFS)
        if key in seen:
            raise NotBulkable("the same key twice among lines imported together")
        seen.add(key)
        if index == 0:
            first_values = values
        check(key_field, key)
        format_row_text(build(index, key, values, data, now, defaults, usernames, check), transformer, out)
        keys.append(key)
        rests.append(tuple(rest))
    prepared.copy = bytes(out)
    # The fields a line sets (the parse's order); a keep-if-null link last, present or not.
    prepared.update_fields = [n for n in first_values if n not in spec.keep] + list(spec.keep_if_null)
    return prepared


def _plan_row(
    spec: CopyType, index: int, key: Any, values: dict, data: dict, now: Any, defaults: list, usernames: dict, check
) -> list:
    """One stage row by the plan, field by field: what `spec.build_row` does, unrolled
    (the reference its tests compare it with)."""
    stamps = codec.line_stamps(spec.model, data)
    row: list[Any] = [index] if not _plain(spec) else []
    refs: dict[str, tuple[str, str]] = {}
    named: dict[str, str] = {}
    for n, (name, mode, aux) in enumerate(spec.plan):
        if mode is _KEY:
            row.append(key)
        elif name in values:
            value = values[name]
            if mode is _FK:
                if value is None:
                    pass
                elif value.__class__ is _PendingUser:
                    usernames[value.username] = None
                    named[name] = value.username
                    value = None
                elif value.__class__ is _Pending:
                    refs[name] = (value.kind, value.key)
                    value = None
                else:
                    value = value.pk
            elif mode is _TEXT:
                # Only a length to check (no choices, no other validator): inline.
                if value.__class__ is not str or (not value and not aux[1]) or len(value) > aux[0]:
                    check(name, value)
            elif mode is _CHOICE:
                # One of the choices (never blank), within the length: inline.
                if value.__class__ is not str or not value or value not in aux[0] or len(value) > aux[1]:
                    check(name, value)
            elif mode is _EMAIL:
                if value.__class__ is not str or len(value) > aux or not _PLAIN_EMAIL.match(value):
                    check(name, value)
            elif mode is _INT:
                if value.__class__ is not int or not aux[0] <= value <= aux[1]:
                    check(name, value)
            elif mode is _CHECK or (mode is _NULLCHECK and value is None):
                check(name, value)
            row.append(value)
        elif mode is _STAMP:
            row.append(stamps.get(name, now))
        else:
            row.append(defaults[n])
    for name in spec.pending:
        row += refs.get(name, (None, None))
    for name in spec.user_fks:
        row.append(named.get(name))
    return row


def prepare_links(spec: CopyType, items: list[dict]) -> Prepared:
    """A retry pass's run of a type with a link-only retry, ahead: only each line's link
    (`CopyType.link_line`), so that what crosses to the importer is three values a line,
    not the decoded line (an email's raw message with it)."""
    return Prepared(links=[_link_of(spec, data) for data in items])


def _link_of(spec: CopyType, data: dict) -> tuple[Any, Any, Any]:
    assert spec.link_line is not None
    try:
        return spec.link_line(data)
    except (KeyError, ValueError, TypeError, AttributeError):
        return (None, None, None)


def _transformer() -> Transformer:
    """How psycopg adapts Python values for this connection (its adapters, no I/O): the
    rows are formatted as `cursor.copy(…).write_row` would, wherever they are prepared."""
    raw = connection.connection
    return Transformer(raw) if raw is not None else Transformer()


def copy_import(
    spec: CopyType,
    items: list[dict],
    priors: list[str | None],
    ctx: ImportContext,
    *,
    on_stored: Callable | None = None,
    prepared: Prepared | None = None,
) -> list[str]:
    """Import a run of lines of one type; one outcome per line (the bulk_importer contract).
    `prepared`: the run already typed by `prepare_rows` (else typed here).
    `on_stored(parsed, results, ids, stored_at)` runs after the upsert (email attachments) and
    returns the indexes of stored lines it changed.

    A line retried only for its link (written by an earlier pass of this run, untouched
    since) gets just that link (`_link_only`); the others go through the whole path."""
    links = None
    if prepared is not None and prepared.links is not None:
        links, prepared = prepared.links, None  # (the lines not done by their link are typed here)
    done = {}
    if spec.link_line is not None and "created" in priors:
        done = _link_only(spec, links if links is not None else [_link_of(spec, data) for data in items], priors)
    rest = [index for index in range(len(items)) if index not in done] if done else list(range(len(items)))
    if rest:
        if prepared is None:
            prepared = prepare_rows(spec, [items[i] for i in rest])
        elif done:
            prepared = prepare_rows(spec, [items[i] for i in rest])  # typed for these lines only
        if prepared.error is not None:
            raise prepared.error
        # (`items` as given when it is the whole run: a typed run's lines are decoded again
        # only for an update's audit row.)
        outcomes = _copy_import(
            spec,
            prepared,
            [items[i] for i in rest] if done else items,
            [priors[i] for i in rest] if done else priors,
            ctx,
            on_stored=on_stored,
        )
        if not done:
            return outcomes
        done.update(zip(rest, outcomes, strict=True))
    return [done[index] for index in range(len(items))]


def wants_prepare(spec: CopyType, priors: list[str | None]) -> bool:
    """Whether typing the whole run ahead is worth it: not for a retry pass whose lines may
    need only their link (`_link_only`; `prepare_links` instead, the rest typed when
    written)."""
    return spec.link_line is None or "created" not in priors


# --- the link-only retry ------------------------------------------------------------------------
#
# A message whose inquiry comes later in the file (the export writes mail before inquiries)
# is stored on the first pass without its link and retried after the rest of the file. The
# row path then imports the whole line again: every mail written twice, its raw message
# included. Here a retried line whose row this run created and nothing has written since
# only gets its link, in one UPDATE per batch: the row path's retry would find every other
# field equal, and its outcome combines with "created" to "created", without audit row.
# "Nothing has written since" is the row's xmin, noted per run in a temporary table when the
# row was created (`_note_links`); a later write by another line moves xmin (or, in the same
# transaction, removes the note), so such a line takes the whole path, as before.


def links_table(cursor, spec: CopyType) -> str:
    """The session's notes (row id → xmin when created without its link); kept across the
    run's transactions, rolled back with a batch redone line by line."""
    name = "hlink_" + spec.model._meta.db_table
    cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {name} (pk bigint PRIMARY KEY, x xid NOT NULL)")
    return name


def _note_links(cursor, spec: CopyType, created: list[int], rewritten: list[int]) -> None:
    links = links_table(cursor, spec)
    if rewritten:
        cursor.execute(f"DELETE FROM {links} WHERE pk = ANY(%s)", [rewritten])
    if created:
        table = _q(spec.model._meta.db_table)
        cursor.execute(
            f"INSERT INTO {links} (pk, x) SELECT id, xmin FROM {table} WHERE id = ANY(%s) "
            "ON CONFLICT (pk) DO UPDATE SET x = EXCLUDED.x",
            [created],
        )


def _link_only(spec: CopyType, links: list[tuple[Any, Any, Any]], priors: list[str | None]) -> dict[int, str]:
    """Set the link of the lines that need nothing else (`links`: each line's link, as
    `_link_of` reads it); their outcomes by index."""
    assert spec.link_line is not None
    opts = spec.model._meta
    field = opts.get_field(spec.keep_if_null[0])
    rows, seen = [], set()
    for index, ((key, kind, ref_key), prior) in enumerate(zip(links, priors, strict=True)):
        if key in seen:
            return {}  # the same key twice: the whole path (and its duplicate check) decides
        seen.add(key)
        if prior == "created" and kind is not None:
            rows.append((index, key, kind, ref_key))
    if not rows:
        return {}
    table, col = _q(opts.db_table), _q(field.column)
    key_col = _q(opts.get_field(spec.key_field).column)
    stage = "hlinkstage_" + opts.db_table
    value = _reference_value(field.related_model, "s.kind", "s.ref_key")
    touch = ""
    params: list[Any] = []
    if spec.has_updated_at:
        touch, params = f", {_q(opts.get_field('updated_at').column)} = %s", [timezone.now()]
    with connection.cursor() as cursor:
        links = links_table(cursor, spec)
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {stage} (idx integer, k text, kind text, ref_key text) ON COMMIT DROP"
        )
        cursor.execute(f"TRUNCATE {stage}")
        with cursor.copy(f"COPY {stage} (idx, k, kind, ref_key) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cursor.execute(
            f"WITH r AS MATERIALIZED (SELECT s.idx, t.id, t.{col} AS old, {value} AS new FROM {stage} s "
            f"JOIN {table} t ON t.{key_col} = s.k JOIN {links} h ON h.pk = t.id AND h.x = t.xmin), "
            f"u AS (UPDATE {table} m SET {col} = r.new{touch} FROM r "
            f"WHERE m.id = r.id AND r.new IS NOT NULL AND m.{col} IS DISTINCT FROM r.new RETURNING m.id) "
            # (A data-modifying WITH runs once, whether or not the SELECT reads it.)
            f"SELECT r.idx, r.old IS DISTINCT FROM r.new FROM r WHERE r.new IS NOT NULL",
            params,
        )
        return {index: ("updated" if moved else "unchanged") for index, moved in cursor.fetchall()}


def _plain(spec: CopyType) -> bool:
    """A type whose staged row is its table's row: nothing to resolve, no link to note."""
    return not spec.pending and not spec.user_fks and spec.link_line is None


def _copy_direct(spec: CopyType, prepared: Prepared) -> bool:
    """A first handover's run of a plain type (calls): COPY straight into the table, no stage
    and no INSERT … SELECT (measured: 30 % less PostgreSQL CPU for the calls). Every line is
    then created, in line order. A key already stored (a line repeated in a later batch)
    fails the COPY: it is rolled back to its savepoint and the run takes the staged path
    (False), whose insert leaves stored keys to the probe and the upsert."""
    columns = ", ".join(_q(f.column) for f in spec.fields)
    with connection.cursor() as cursor:
        cursor.execute("SAVEPOINT handover_direct")
        try:
            with cursor.copy(f"COPY {_q(spec.model._meta.db_table)} ({columns}) FROM STDIN") as copy:
                copy.write(prepared.copy)  # a plain type's text is the table's rows
        except pg_errors.UniqueViolation:
            cursor.execute("ROLLBACK TO SAVEPOINT handover_direct")
            return False
        cursor.execute("RELEASE SAVEPOINT handover_direct")
    return True


def _copy_import(
    spec: CopyType,
    prepared: Prepared,
    items: Sequence[dict],
    priors: list[str | None],
    ctx: ImportContext,
    *,
    on_stored: Callable | None = None,
) -> list[str]:
    if ctx.insert_first and on_stored is None and _plain(spec) and _copy_direct(spec, prepared):
        return ["created"] * len(prepared.keys)
    opts = spec.model._meta
    now = timezone.now()
    keep = spec.keep
    keys, update_fields = prepared.keys, prepared.update_fields
    count = len(keys)  # one per line
    results = [""] * count
    retry = [False] * count
    with connection.cursor() as cursor:
        columns = _ensure_stage(cursor, spec)
        with cursor.copy(f"COPY {spec.stage} ({', '.join(_q(c) for c in columns)}) FROM STDIN") as copy:
            copy.write(prepared.copy)
        # References and users, resolved in SQL into a narrow side table (one row per line:
        # its ids), never by UPDATEs of the stage, which would write each wide stage row
        # again (an email's raw message with it) once per statement.
        resolved = _resolve(cursor, spec, prepared, ctx)
        source = resolved_source(spec) if resolved else f"{spec.stage} s"

        def value_of(col: str) -> str:
            return resolved.get(col, f"s.{col}")

        # What does not resolve is deferred (or, on the last pass, rejected by the row path
        # with its message).
        deferred: list[int] = []
        missing_by_field: dict[str, list[int]] = {name: [] for name in spec.pending}
        if spec.pending:
            flags_sql = ", ".join(_q(opts.get_field(name).column + "__missing") for name in spec.pending)
            where = " OR ".join(_q(opts.get_field(name).column + "__missing") for name in spec.pending)
            cursor.execute(f"SELECT idx, {flags_sql} FROM {_resolved_table(spec)} WHERE {where}")
            for idx, *flags in cursor.fetchall():
                for name, flag in zip(spec.pending, flags, strict=True):
                    if flag:
                        missing_by_field[name].append(idx)
        for name in spec.pending:
            missing = missing_by_field[name]
            if missing and ctx.final:
                raise NotBulkable("unresolved reference on the last pass")
            if name in keep:
                for index in missing:
                    retry[index] = True  # stored without the link now, the link set on retry
            else:
                deferred += missing
        if deferred:
            for index in deferred:
                results[index] = "defer"
            cursor.execute(f"DELETE FROM {spec.stage} WHERE idx = ANY(%s)", [sorted(set(deferred))])

        # Which keys are stored, and which of their fields the line changes.
        table, key_col = _q(opts.db_table), _q(opts.get_field(spec.key_field).column)
        cols = [(name, _q(opts.get_field(name).column)) for name in update_fields]

        def new_value(name: str, col: str) -> str:
            return f"COALESCE({value_of(col)}, t.{col})" if name in keep else value_of(col)

        insert_cols = ", ".join(_q(f.column) for f in spec.fields)
        insert_values = ", ".join(value_of(_q(f.column)) for f in spec.fields)
        ids: dict = {}
        only: list[int] | None = None  # the lines the probe and the upsert are for (None: all)
        if ctx.insert_first:
            # A first handover (the tables were empty when the run began): nearly every key
            # is new, so the lines are inserted first, a key already stored left alone, and
            # only the lines whose key was there (a line repeated, a retried line) go through
            # the probe and the upsert below — one index probe per new line, not three.
            cursor.execute(
                f"INSERT INTO {table} AS t ({insert_cols}) SELECT {insert_values} FROM {source} ORDER BY s.idx "
                f"ON CONFLICT ({key_col}) DO NOTHING RETURNING t.id, t.{key_col}"
            )
            ids = dict((k, pk) for pk, k in cursor.fetchall())
            only = [i for i in range(count) if results[i] != "defer" and keys[i] not in ids]
        restrict, restrict_params = (" WHERE s.idx = ANY(%s)", [only]) if only is not None else ("", [])

        stored: list = []
        if only is None or only:
            flags = ", ".join(f"({new_value(n, c)} IS DISTINCT FROM t.{c})" for n, c in cols) or "false"
            fk_cols = [(n, c) for n, c in cols if opts.get_field(n).is_relation]
            fk_select = "".join(f", {value_of(c)}" for _, c in fk_cols)
            # A lateral probe per staged key (OFFSET 0 keeps it from being flattened into a join
            # that could hash the whole table: every batch would then read it all).
            cursor.execute(
                f"SELECT s.idx, t.id{fk_select}, {flags} FROM {source} "
                f"JOIN LATERAL (SELECT * FROM {table} x WHERE x.{key_col} = s.{key_col} OFFSET 0) t ON true" + restrict,
                restrict_params,
            )
            stored = cursor.fetchall()

            # One set-based upsert: new keys inserted, differing rows brought to the line.
            excluded = [(n, c, f"COALESCE(EXCLUDED.{c}, t.{c})" if n in keep else f"EXCLUDED.{c}") for n, c in cols]
            if cols:
                sets = ", ".join(f"{c} = {e}" for _, c, e in excluded)
                if spec.has_updated_at:
                    sets += f", {_q(opts.get_field('updated_at').column)} = %s"
                olds = ", ".join(f"t.{c}" for _, c, _ in excluded)
                news = ", ".join(e for _, _, e in excluded)
                conflict = f"DO UPDATE SET {sets} WHERE ROW({olds}) IS DISTINCT FROM ROW({news})"
            else:
                conflict = "DO NOTHING"
            params = [now] if cols and spec.has_updated_at else []
            cursor.execute(
                f"INSERT INTO {table} AS t ({insert_cols}) SELECT {insert_values} FROM {source}{restrict} "
                f"ORDER BY s.idx ON CONFLICT ({key_col}) {conflict} RETURNING t.id, t.{key_col}",
                restrict_params + params,
            )
            ids.update((k, pk) for pk, k in cursor.fetchall())
        else:
            fk_cols = []

        stored_at: dict[int, tuple] = {}
        for record in stored:
            index, pk = record[0], record[1]
            fk_ids = dict(zip((n for n, _ in fk_cols), record[2 : 2 + len(fk_cols)], strict=True))
            changed = [n for (n, _), flag in zip(cols, record[2 + len(fk_cols) :], strict=True) if flag]
            stored_at[index] = (pk, changed, fk_ids)
        for index in range(count):
            if results[index] != "defer":
                stored_row = stored_at.get(index)
                results[index] = "created" if stored_row is None else ("updated" if stored_row[1] else "unchanged")

        also_changed: set[int] = set()
        if on_stored is not None:
            also_changed = on_stored(
                list(zip(keys, [None] * count, prepared.rests, strict=True)), results, ids, stored_at
            )

        # The audit UPDATE rows of stored records the line changed (rare in a handover):
        # the row path's own `audit_update`, on an instance holding the line's values.
        for index, (pk, changed, fk_ids) in stored_at.items():
            if results[index] == "defer" or not (changed or index in also_changed):
                continue
            results[index] = "updated"
            if priors[index] == "created":
                continue  # a line created in an earlier pass of this run: the IMPORT event covers it
            key = keys[index]
            values = spec.parse(items[index], _REFS)[1]  # typed again, for the few lines updated
            instance = spec.model(pk=pk, **{spec.key_field: key})
            for name in changed:
                if name in fk_ids:
                    setattr(instance, opts.get_field(name).attname, fk_ids[name])
                else:
                    setattr(instance, name, values[name])
            instance._handover_changed = changed or ["attachments"]
            audit_update(instance, "updated", ctx, prior=priors[index])

        if spec.link_line is not None:
            # Rows created now without their link may be retried for the link alone; rows this
            # batch wrote again (a key already stored) may not.
            created = [ids[keys[i]] for i in range(count) if retry[i] and results[i] == "created"]
            rewritten = [pk for pk, _changed, _fk in stored_at.values()]
            if created or (rewritten and ctx.links_noted):
                ctx.links_noted = True
                _note_links(cursor, spec, created, rewritten)

    return [r + ("+retry" if retry[i] and r != "defer" else "") for i, r in enumerate(results)]
