"""Service hours: when the center is open, on the Asia/Tokyo clock.

Closed on 行政機関の休日 (Act on Holidays of Administrative Organs): weekends, national
holidays and substitute holidays (from the maintained `holidays` package, not a formula),
and 12/29–1/3. Admins add special opening days / extended hours and extra closures as
`CalendarDay` rows and change the regular week in `ServiceHours`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache

import holidays

from helpdesk.clock import TOKYO
from helpdesk.models import CalendarDay, ServiceHours

DEFAULT_OPEN = dt.time(9, 0)
DEFAULT_CLOSE = dt.time(17, 0)


@lru_cache(maxsize=64)
def _national_holidays(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("JP", years=year)


def is_administrative_holiday(day: dt.date) -> bool:
    """行政機関の休日 without the center's own exceptions."""
    if day.weekday() >= 5:
        return True
    if (day.month == 12 and day.day >= 29) or (day.month == 1 and day.day <= 3):
        return True
    return day in _national_holidays(day.year)


@dataclass(frozen=True)
class ServiceCalendar:
    """A snapshot of the calendar settings, so bulk work reads the tables once."""

    weekly: dict[int, tuple[dt.time, dt.time]]
    overrides: dict[dt.date, tuple[dt.time, dt.time] | None]  # None = closed

    def hours_on(self, day: dt.date) -> tuple[dt.time, dt.time] | None:
        if day in self.overrides:
            return self.overrides[day]
        if is_administrative_holiday(day):
            return None
        return self.weekly.get(day.weekday())

    def is_open_at(self, moment: dt.datetime) -> bool:
        local = moment.astimezone(TOKYO)
        hours = self.hours_on(local.date())
        return hours is not None and hours[0] <= local.time() < hours[1]

    def open_seconds_between(self, start: dt.datetime, end: dt.datetime) -> float:
        """Seconds of service time in [start, end): the business-hours clock."""
        if end <= start:
            return 0.0
        start_l, end_l = start.astimezone(TOKYO), end.astimezone(TOKYO)
        total = 0.0
        day = start_l.date()
        while day <= end_l.date():
            hours = self.hours_on(day)
            if hours:
                opens = dt.datetime.combine(day, hours[0], TOKYO)
                closes = dt.datetime.combine(day, hours[1], TOKYO)
                lo, hi = max(opens, start_l), min(closes, end_l)
                if hi > lo:
                    total += (hi - lo).total_seconds()
            day += dt.timedelta(days=1)
        return total


DEFAULT_WEEKLY = {wd: (DEFAULT_OPEN, DEFAULT_CLOSE) for wd in range(5)}


def load_service_calendar(start: dt.date | None = None, end: dt.date | None = None) -> ServiceCalendar:
    """Read ServiceHours and CalendarDay (optionally only days in [start, end])."""
    weekly = {row.weekday: (row.opens_at, row.closes_at) for row in ServiceHours.objects.all()}
    days = CalendarDay.objects.all()
    if start:
        days = days.filter(date__gte=start)
    if end:
        days = days.filter(date__lte=end)
    overrides = {d.date: _day_hours(d) for d in days}
    return ServiceCalendar(weekly=weekly, overrides=overrides)


def _day_hours(day: CalendarDay) -> tuple[dt.time, dt.time] | None:
    if day.kind == CalendarDay.Kind.CLOSED:
        return None
    # The constraint calendarday_open_needs_hours: a day that is not closed has both times.
    assert day.opens_at is not None and day.closes_at is not None
    return (day.opens_at, day.closes_at)
