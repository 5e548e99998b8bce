"""Service-hours reclassification: after the calendar changed, calls with no PBX verdict are
re-decided in the database, a month at a time."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from helpdesk.audit import audit_record
from helpdesk.calendar import ServiceCalendar, load_service_calendar
from helpdesk.clock import TOKYO, Month
from helpdesk.models import AuditEvent, Call


def service_hours_params(calendar: ServiceCalendar, lo: dt.datetime | None, hi: dt.datetime | None) -> dict:
    """The open intervals between `lo` and `hi` as the two arrays `_TYPED_VALUES` reads."""
    if lo is None:
        return {"opens": [], "closes": []}
    assert hi is not None  # lo and hi bound the same rows: both set or both None
    intervals = _open_intervals(calendar, lo, hi)
    return {"opens": [a for a, _ in intervals], "closes": [b for _, b in intervals]}


def _open_intervals(calendar: ServiceCalendar, start: dt.datetime, end: dt.datetime) -> list[tuple]:
    intervals = []
    day = start.astimezone(TOKYO).date()
    last = end.astimezone(TOKYO).date()
    while day <= last:
        hours = calendar.hours_on(day)
        if hours:
            intervals.append((dt.datetime.combine(day, hours[0], TOKYO), dt.datetime.combine(day, hours[1], TOKYO)))
        day += dt.timedelta(days=1)
    return intervals


@transaction.atomic
def calls_reclassify_service_hours(*, start: dt.datetime, end: dt.datetime, actor=None) -> int:
    """Recompute `in_service_hours` (and, for Asterisk IVR-only calls, ivr_abandoned vs
    out_of_hours) for calls in [start, end) that have no PBX verdict, after the calendar
    changed. Done in the database, a month at a time; returns how many calls changed."""
    calendar = load_service_calendar()
    no_verdict = Q(queued_at__isnull=True) & (
        Q(outcome=Call.Outcome.IVR_ABANDONED) | Q(outcome=Call.Outcome.OUT_OF_HOURS, source=Call.Source.ASTERISK)
    )
    changed = 0
    cursor = start
    while cursor < end:
        stop = min(end, Month.of(cursor).end)
        base = Call.objects.filter(no_verdict, arrived_at__gte=cursor, arrived_at__lt=stop)
        open_q = Q(pk__in=[])
        for opens, closes in _open_intervals(calendar, cursor, stop):
            open_q |= Q(arrived_at__gte=opens, arrived_at__lt=closes)
        changed += (
            base.filter(open_q)
            .exclude(in_service_hours=True, outcome=Call.Outcome.IVR_ABANDONED)
            .filter(Q(outcome=Call.Outcome.IVR_ABANDONED) | Q(source=Call.Source.ASTERISK))
            .update(in_service_hours=True, outcome=Call.Outcome.IVR_ABANDONED, updated_at=timezone.now())
        )
        closed = base.exclude(open_q)
        changed += (
            closed.filter(source=Call.Source.ASTERISK)
            .exclude(outcome=Call.Outcome.OUT_OF_HOURS)
            .update(in_service_hours=False, outcome=Call.Outcome.OUT_OF_HOURS, updated_at=timezone.now())
        )
        changed += (
            closed.exclude(source=Call.Source.ASTERISK)
            .filter(in_service_hours=True)
            .update(in_service_hours=False, updated_at=timezone.now())
        )
        cursor = stop
    audit_record(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        object_type="helpdesk.call",
        object_id=f"{start.isoformat()}/{end.isoformat()}",
        changes={"in_service_hours": {"reclassified": changed}},
        note="service hours reclassified after a calendar change",
    )
    return changed
