"""Changes made by hand to records and contract settings (the Django admin's writes).

A field that feeds a contract figure (docs/kpi.md) is changed only by an *audited
correction*: it names a reason, and the audit row carries the old and new values with that
reason (`note` 「訂正: …」). Other fields are plain audited updates. Personal information is
recorded as changed without its values, as everywhere else (helpdesk.audit).

KPI records (calls, inquiries, mail, escalations, complaints, incidents) are never deleted
here: a record that should not count is corrected (e.g. a complaint's cause, an incident's
severity), so the figure's history stays explainable. Settings rows (service hours, special
days, KPI targets, the busy-month calendar) may be removed, with a reason.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Max, Min

from helpdesk.audit import audit_record, audit_value, correction_note
from helpdesk.clock import TOKYO
from helpdesk.errors import ConflictError, PermissionDeniedError
from helpdesk.models import AuditEvent, CalendarDay, Call
from helpdesk.phone.tasks import calls_reclassify_service_hours_task
from helpdesk.phone.upsert import PII_FIELDS, WRITE_FIELDS
from helpdesk.roles import is_admin

M = TypeVar("M", bound=models.Model)

ALL_FIELDS = "__all__"

# Fields that feed a contract figure, per model label. ALL_FIELDS: every editable field (the
# contract settings; a field added later, such as a new target, is covered without a change
# here).
CONTRACT_FIELDS: dict[str, frozenset[str] | str] = {
    # Every field of a call the PBX gives but the caller's number.
    "helpdesk.call": frozenset({"call_id", *WRITE_FIELDS} - PII_FIELDS),
    "helpdesk.inquiry": frozenset(
        {
            "channel",
            "received_at",
            "first_answered_at",
            "wrapup_completed_at",
            "resolved_at",
            "ministry_guidance",
            "call",
            "source_message",
        }
    ),
    "helpdesk.emailmessage": frozenset(
        {"direction", "inquiry", "sent_at", "received_at", "is_auto_acknowledgement", "in_reply_to", "references"}
    ),
    "helpdesk.escalation": frozenset({"inquiry", "target", "escalated_at", "returned_at"}),
    "helpdesk.complaint": frozenset({"inquiry", "received_at", "cause", "confirmed_at", "confirmed_by"}),
    "helpdesk.securityincident": frozenset({"severity", "occurred_at"}),
    "helpdesk.servicehours": ALL_FIELDS,
    "helpdesk.calendarday": ALL_FIELDS,
    "kpi.kpitarget": ALL_FIELDS,
    "kpi.fiscalmonthperiod": ALL_FIELDS,
}

# Records the contract figures count: corrected, never deleted.
KPI_RECORDS = frozenset(
    {
        "helpdesk.call",
        "helpdesk.inquiry",
        "helpdesk.emailmessage",
        "helpdesk.escalation",
        "helpdesk.complaint",
        "helpdesk.securityincident",
    }
)

# Personal information and free text that may hold it: the audit row says "changed", never
# the value.
PERSONAL_FIELDS: dict[str, frozenset[str]] = {
    "helpdesk.call": frozenset({"caller"}),
    "helpdesk.inquiry": frozenset(
        {"requester_name", "requester_email", "requester_phone", "requester_organization", "body"}
    ),
    "helpdesk.emailmessage": frozenset({"from_address", "from_name", "to_addresses", "body_text", "body_html"}),
    "helpdesk.escalation": frozenset({"note", "answer"}),
    "helpdesk.complaint": frozenset({"description"}),
    "helpdesk.securityincident": frozenset({"description"}),
}

REASON_MAX_LENGTH = 240


def label(model: type[models.Model] | models.Model) -> str:
    return model._meta.label_lower


def editable_fields(model: type[models.Model]) -> frozenset[str]:
    return frozenset(
        f.name
        for f in model._meta.concrete_fields
        if f.editable
        and not f.primary_key
        and not getattr(f, "auto_now", False)
        and not getattr(f, "auto_now_add", False)
    )


def contract_fields(model: type[models.Model]) -> frozenset[str]:
    declared = CONTRACT_FIELDS.get(label(model), frozenset())
    return editable_fields(model) if declared == ALL_FIELDS else frozenset(declared)


def personal_fields(model: type[models.Model]) -> frozenset[str]:
    return PERSONAL_FIELDS.get(label(model), frozenset())


def is_contract_setting(model: type[models.Model]) -> bool:
    """Every field counts (targets, calendars): adding and removing rows needs a reason too."""
    return CONTRACT_FIELDS.get(label(model)) == ALL_FIELDS


def is_kpi_record(model: type[models.Model]) -> bool:
    return label(model) in KPI_RECORDS


def _require_admin(actor) -> None:
    if not is_admin(actor):
        raise PermissionDeniedError("記録の訂正は管理者のみ行えます。")


def _verbose_name(model: type[models.Model], name: str) -> Any:
    field = model._meta.get_field(name)
    assert isinstance(field, models.Field)  # contract fields are concrete columns
    return field.verbose_name


def _require_reason(model: type[models.Model], fields: set[str], reason: str) -> None:
    touched = sorted(fields & contract_fields(model))
    if touched and not reason.strip():
        names = "、".join(str(_verbose_name(model, f)) for f in touched)
        raise ValidationError({"correction_reason": f"契約指標に関わる項目（{names}）の変更には訂正理由が必要です。"})


def _diff(obj: models.Model, data: dict[str, Any]) -> dict[str, Any]:
    """Old/new values of the fields `data` changes; personal ones only as changed."""
    pii = personal_fields(type(obj))
    changes: dict[str, Any] = {}
    for field, new in data.items():
        old = getattr(obj, field)
        if old != new:
            changes[field] = {"changed": True} if field in pii else {"old": audit_value(old), "new": audit_value(new)}
    return changes


def _values(obj: models.Model, *, side: str) -> dict[str, Any]:
    """Every editable field as one side of a change (`new` for an add, `old` for a delete)."""
    pii = personal_fields(type(obj))
    other = "old" if side == "new" else "new"
    return {
        f: {"changed": True} if f in pii else {other: None, side: audit_value(getattr(obj, f))}
        for f in sorted(editable_fields(type(obj)))
    }


@transaction.atomic
def record_correct(*, obj: M, actor, data: dict[str, Any], reason: str = "", expected_version: int | None = None) -> M:
    """Change fields of `obj` by hand. Fields that feed a contract figure need `reason`
    (ValidationError on `correction_reason` without one). The row is locked, the model's
    constraints are checked, a `version` field is bumped and one audit row is written."""
    _require_admin(actor)
    model = type(obj)
    unknown = set(data) - editable_fields(model)
    if unknown:
        raise ValidationError(f"変更できない項目です: {', '.join(sorted(unknown))}")
    locked = model._default_manager.select_for_update().get(pk=obj.pk)
    if expected_version is not None and getattr(locked, "version", expected_version) != expected_version:
        raise ConflictError("この記録は他のユーザーによって更新されています。再読み込みしてください。")
    changes = _diff(locked, data)
    if not changes:
        return locked
    _require_reason(model, set(changes), reason)
    before = {f: getattr(locked, f) for f in changes}
    for field in changes:
        setattr(locked, field, data[field])
    fields = list(changes)
    if hasattr(locked, "version") and "version" not in fields:
        locked.version += 1
        fields.append("version")
    if any(getattr(f, "auto_now", False) for f in model._meta.concrete_fields if f.name == "updated_at"):
        fields.append("updated_at")
    locked.full_clean()
    locked.save(update_fields=fields)
    audit_record(
        actor=actor, action=AuditEvent.Action.UPDATE, obj=locked, changes=changes, note=correction_note(reason)
    )
    _after_write(locked, before)
    return locked


@transaction.atomic
def record_create(*, model: type[M], actor, data: dict[str, Any], reason: str = "") -> M:
    """Add a row by hand (contract settings, agent profiles). A contract setting needs a reason."""
    _require_admin(actor)
    unknown = set(data) - editable_fields(model)
    if unknown:
        raise ValidationError(f"指定できない項目です: {', '.join(sorted(unknown))}")
    if is_contract_setting(model):
        _require_reason(model, set(data), reason)
    obj = model(**data)
    obj.full_clean()
    obj.save(force_insert=True)
    audit_record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        obj=obj,
        changes=_values(obj, side="new"),
        note=correction_note(reason),
    )
    _after_write(obj, {})
    return obj


@transaction.atomic
def record_delete(*, obj: models.Model, actor, reason: str = "") -> None:
    """Remove a row that is not a KPI record (those are corrected instead). A contract
    setting needs a reason; the audit row keeps what the row held."""
    _require_admin(actor)
    model = type(obj)
    if is_kpi_record(model):
        raise PermissionDeniedError("契約指標の記録は削除できません。訂正してください。")
    if is_contract_setting(model) and not reason.strip():
        raise ValidationError({"correction_reason": "契約指標に関わる設定の削除には訂正理由が必要です。"})
    locked = model._default_manager.select_for_update().get(pk=obj.pk)
    held = _values(locked, side="old")
    object_id = str(getattr(locked, "ref", None) or locked.pk)
    _after_write(locked, {f: getattr(locked, f) for f in editable_fields(model)})
    locked.delete()
    audit_record(
        actor=actor,
        action=AuditEvent.Action.DELETE,
        object_type=label(model),
        object_id=object_id,
        changes=held,
        note=correction_note(reason),
    )


# --- what a change sets in motion -----------------------------------------------------------


def _after_write(obj: models.Model, before: dict[str, Any]) -> None:
    hook = _AFTER_WRITE.get(label(obj))
    if hook is not None:
        hook(obj, before)


def _reclassify_later(start: dt.datetime, end: dt.datetime) -> None:
    transaction.on_commit(lambda: calls_reclassify_service_hours_task.delay(start.isoformat(), end.isoformat()))


def _calendar_day_changed(day: models.Model, before: dict[str, Any]) -> None:
    """The calls of the old and the new date may change service-hours verdict."""
    assert isinstance(day, CalendarDay)  # registered for helpdesk.calendarday below
    for date in {d for d in (day.date, before.get("date")) if d is not None}:
        start = dt.datetime.combine(date, dt.time(0), TOKYO)
        _reclassify_later(start, start + dt.timedelta(days=1))


def _service_hours_changed(row: models.Model, before: dict[str, Any]) -> None:
    span = Call.objects.aggregate(first=Min("arrived_at"), last=Max("arrived_at"))
    if span["first"] is not None:
        _reclassify_later(span["first"], span["last"] + dt.timedelta(seconds=1))


_AFTER_WRITE = {
    "helpdesk.calendarday": _calendar_day_changed,
    "helpdesk.servicehours": _service_hours_changed,
}
