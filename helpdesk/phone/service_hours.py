"""Writes on the service calendar (admins): the regular week and special days. Every change
is audit-logged and queues the reclassification of the calls it affects
(`calls_reclassify_service_hours`), after commit."""

import datetime as dt
from typing import Any

from django.db import transaction
from django.db.models import Max, Min

from helpdesk.audit import audit_record
from helpdesk.clock import TOKYO
from helpdesk.errors import PermissionDeniedError
from helpdesk.models import AuditEvent, CalendarDay, Call, ServiceHours
from helpdesk.phone.tasks import calls_reclassify_service_hours_task
from helpdesk.roles import is_admin


def _require_admin(actor) -> None:
    if not is_admin(actor):
        raise PermissionDeniedError("サービス時間の変更は管理者のみ行えます。")


def _reclassify_later(start: dt.datetime, end: dt.datetime) -> None:
    transaction.on_commit(lambda: calls_reclassify_service_hours_task.delay(start.isoformat(), end.isoformat()))


def _day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(day, dt.time(0), TOKYO)
    return start, start + dt.timedelta(days=1)


@transaction.atomic
def service_hours_set(*, weekly: list[dict[str, Any]], actor) -> list[ServiceHours]:
    """Replace the regular week: one entry per open weekday (0 = Monday) with opens_at and
    closes_at; a weekday left out is closed."""
    _require_admin(actor)
    old = {h.weekday: [h.opens_at.isoformat(), h.closes_at.isoformat()] for h in ServiceHours.objects.all()}
    rows = [ServiceHours(weekday=w["weekday"], opens_at=w["opens_at"], closes_at=w["closes_at"]) for w in weekly]
    for row in rows:
        row.full_clean(validate_unique=False)
    ServiceHours.objects.all().delete()
    ServiceHours.objects.bulk_create(rows)
    new = {h.weekday: [h.opens_at.isoformat(), h.closes_at.isoformat()] for h in rows}
    if old != new:
        audit_record(
            actor=actor,
            action=AuditEvent.Action.UPDATE,
            object_type="helpdesk.servicehours",
            object_id="week",
            changes={"weekly": {"old": old, "new": new}},
        )
        span = Call.objects.aggregate(first=Min("arrived_at"), last=Max("arrived_at"))
        if span["first"] is not None:
            _reclassify_later(span["first"], span["last"] + dt.timedelta(seconds=1))
    return rows


@transaction.atomic
def calendar_day_set(*, date: dt.date, kind: str, opens_at=None, closes_at=None, note: str = "", actor) -> CalendarDay:
    """Add or change a special opening day / extended hours (`open`) or an extra closure."""
    _require_admin(actor)
    day = CalendarDay.objects.select_for_update().filter(date=date).first()
    old = None if day is None else {"kind": day.kind, "opens_at": str(day.opens_at), "closes_at": str(day.closes_at)}
    day = day or CalendarDay(date=date)
    day.kind, day.opens_at, day.closes_at, day.note = kind, opens_at, closes_at, note
    if kind == CalendarDay.Kind.CLOSED:
        day.opens_at = day.closes_at = None
    day.full_clean()
    day.save()
    audit_record(
        actor=actor,
        action=AuditEvent.Action.CREATE if old is None else AuditEvent.Action.UPDATE,
        obj=day,
        object_id=date.isoformat(),
        changes={"old": old, "new": {"kind": day.kind, "opens_at": str(day.opens_at), "closes_at": str(day.closes_at)}},
        note=note,
    )
    _reclassify_later(*_day_bounds(date))
    return day


@transaction.atomic
def calendar_day_delete(*, date: dt.date, actor) -> bool:
    _require_admin(actor)
    deleted, _ = CalendarDay.objects.filter(date=date).delete()
    if deleted:
        audit_record(
            actor=actor,
            action=AuditEvent.Action.DELETE,
            object_type="helpdesk.calendarday",
            object_id=date.isoformat(),
        )
        _reclassify_later(*_day_bounds(date))
    return bool(deleted)
