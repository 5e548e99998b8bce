"""The contract settings and published months in the contractor handover file.

Three record types, registered from `KpiConfig.ready()` (helpdesk never imports kpi):

* ``kpi_target`` — one contract period's targets (natural key ``valid_from``). Every concrete
  field of `KpiTarget` is written, read generically from the model, so a field added to the
  model (the ACW limit, the next contract's thresholds) travels without touching this file.
* ``fiscal_month_period`` — the busy / semi-busy calendar an admin set (``fiscal_year`` +
  ``month``).
* ``kpi_snapshot`` — a published month (``month`` + ``version``), the KPI JSON exactly as
  published. Snapshots are immutable: a line that differs from the stored version is
  rejected, never written over it.

With the service week and calendar days (helpdesk's own types) these are everything a month's
KPI JSON reads besides the records, so the JSON is the same after export → import
(docs/handover.md).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models

CHUNK = 2000


# --- generic field codec ---------------------------------------------------------------------


def _plain_fields(model: type[models.Model]) -> list[models.Field]:
    """Every concrete, non-relational field but the surrogate id."""
    return [f for f in model._meta.concrete_fields if not f.primary_key and not f.is_relation]


def _out(value: Any) -> Any:
    from helpdesk.handover.codec import format_time

    if isinstance(value, dt.datetime):
        return format_time(value)
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)  # exact: "0.900", never a binary float
    return value


def _in(field: models.Field, value: Any) -> Any:
    from helpdesk.handover.codec import parse_time

    if value is None:
        return None
    if isinstance(field, models.DateTimeField):
        return parse_time(value, field=field.name)
    if isinstance(field, (models.DecimalField, models.DateField, models.TimeField)) and not isinstance(value, str):
        if isinstance(field, models.DecimalField) and isinstance(value, (int, float)) and not isinstance(value, bool):
            return field.to_python(value)
        raise ValueError(f"field {field.name!r} must be a string")
    if isinstance(field, models.BooleanField) and not isinstance(value, bool):
        raise ValueError(f"field {field.name!r} must be true or false")
    if isinstance(field, models.IntegerField) and (isinstance(value, bool) or not isinstance(value, int)):
        raise ValueError(f"field {field.name!r} must be an integer")
    try:
        return field.to_python(value)
    except ValidationError as exc:
        raise ValueError(f"field {field.name!r}: {' '.join(exc.messages)}") from None


def _values(model: type[models.Model], data: dict, *, exclude: set[str]) -> tuple[dict, dict]:
    """(values, stamps) from a line: the fields it carries (a missing or null field keeps the
    model's default, an unknown one is ignored), and apart the auto_now(_add) times, which are set
    only on a row the import creates."""
    from helpdesk.handover.codec import stamp_fields

    auto = set(stamp_fields(model))
    values, stamps = {}, {}
    for field in _plain_fields(model):
        if field.name in exclude or field.name not in data:
            continue
        value = _in(field, data[field.name])
        if value is None and not field.null:
            continue  # null for a field that cannot be: as if missing (the default)
        if field.name in auto:
            if value is not None:
                stamps[field.name] = value
        else:
            values[field.name] = value
    return values, stamps


def _record(instance: models.Model, type_name: str) -> dict[str, Any]:
    return {"type": type_name, **{f.name: _out(getattr(instance, f.attname)) for f in _plain_fields(type(instance))}}


def _upsert(model: type[models.Model], *, lookup: dict, values: dict, stamps: dict, ctx: Any) -> str:
    """Create or bring up to date, with the model's full validation (KpiTarget refuses a
    contract period that overlaps another)."""
    from helpdesk.handover.audit import audit_update
    from helpdesk.handover.codec import restore_stamps

    instance = model._default_manager.filter(**lookup).first()
    if instance is None:
        instance = model(**lookup, **values)
        instance.full_clean(exclude=list(stamps), validate_constraints=False)
        instance.save(force_insert=True)
        restore_stamps(model, [(instance, stamps)])
        return "created"
    changed = [name for name, value in values.items() if getattr(instance, name) != value]
    if not changed:
        return "unchanged"
    for name in changed:
        setattr(instance, name, values[name])
    instance.full_clean(validate_constraints=False)
    instance.save()
    instance._handover_changed = changed  # type: ignore[attr-defined]  # read by audit_update
    return audit_update(instance, "updated", ctx)


# --- kpi_target ------------------------------------------------------------------------------


def export_targets() -> Iterator[dict[str, Any]]:
    from kpi.models import KpiTarget

    for row in KpiTarget.objects.order_by("valid_from").iterator(chunk_size=CHUNK):
        yield _record(row, "kpi_target")


def import_target(data: dict[str, Any], ctx: Any) -> str:
    from helpdesk.handover.codec import parse_date
    from kpi.models import KpiTarget

    valid_from = parse_date(data["valid_from"], field="valid_from")
    values, stamps = _values(KpiTarget, data, exclude={"valid_from"})
    return _upsert(KpiTarget, lookup={"valid_from": valid_from}, values=values, stamps=stamps, ctx=ctx)


# --- fiscal_month_period ---------------------------------------------------------------------


def export_fiscal_months() -> Iterator[dict[str, Any]]:
    from kpi.models import FiscalMonthPeriod

    for row in FiscalMonthPeriod.objects.order_by("fiscal_year", "month").iterator(chunk_size=CHUNK):
        yield _record(row, "fiscal_month_period")


def import_fiscal_month(data: dict[str, Any], ctx: Any) -> str:
    from helpdesk.handover.codec import integer
    from kpi.models import FiscalMonthPeriod

    fiscal_year, month = integer(data, "fiscal_year"), integer(data, "month")
    if fiscal_year is None:
        raise KeyError("fiscal_year")
    if month is None:
        raise KeyError("month")
    values, stamps = _values(FiscalMonthPeriod, data, exclude={"fiscal_year", "month"})
    values.setdefault("note", "")
    if "period_type" not in values:
        raise KeyError("period_type")
    return _upsert(
        FiscalMonthPeriod, lookup={"fiscal_year": fiscal_year, "month": month}, values=values, stamps=stamps, ctx=ctx
    )


# --- kpi_snapshot ----------------------------------------------------------------------------


def export_snapshots() -> Iterator[dict[str, Any]]:
    from helpdesk.handover.codec import format_time
    from kpi.models import KpiSnapshot

    qs = KpiSnapshot.objects.select_related("published_by").order_by("month", "version")
    for snap in qs.iterator(chunk_size=500):
        yield {
            "type": "kpi_snapshot",
            "month": snap.month,
            "version": snap.version,
            "published_at": format_time(snap.published_at),
            "published_by": snap.published_by.get_username() if snap.published_by else None,
            "note": snap.note,
            "data": snap.data,
        }


def import_snapshot(data: dict[str, Any], ctx: Any) -> str:
    from helpdesk.handover.codec import integer, required_text, text
    from kpi.models import KpiSnapshot

    month = required_text(data, "month")
    version = integer(data, "version")
    if version is None:
        raise KeyError("version")
    payload = data["data"]
    if not isinstance(payload, dict):
        raise ValueError("field 'data' must be a JSON object (the KPI JSON as published)")
    values = {
        "data": payload,
        "published_at": ctx.time(data, "published_at", required=True),
        "published_by": ctx.user(data.get("published_by")),
        "note": text(data, "note"),
    }
    stored = KpiSnapshot.objects.filter(month=month, version=version).first()
    if stored is None:
        snap = KpiSnapshot(month=month, version=version, **values)
        snap.full_clean(validate_constraints=False)
        snap.save(force_insert=True)
        return "created"
    same = (
        stored.data == payload
        and stored.published_at == values["published_at"]
        and stored.published_by_id == getattr(values["published_by"], "pk", None)
        and stored.note == values["note"]
    )
    if not same:
        raise ValueError(
            f"snapshot {month} v{version} differs from the one published here; "
            "published snapshots are immutable (publish a new version instead)"
        )
    return "unchanged"


# --- registration ----------------------------------------------------------------------------


def register() -> None:
    from helpdesk.handover.registry import register_record_type
    from kpi.models import FiscalMonthPeriod, KpiSnapshot, KpiTarget

    # After helpdesk's types (10–70), before faq (100). The importer takes any order.
    register_record_type("kpi_target", export_targets, import_target, 80, KpiTarget.objects.count)
    register_record_type(
        "fiscal_month_period", export_fiscal_months, import_fiscal_month, 82, FiscalMonthPeriod.objects.count
    )
    register_record_type("kpi_snapshot", export_snapshots, import_snapshot, 90, KpiSnapshot.objects.count)
