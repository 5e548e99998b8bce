import datetime as dt

import pytest

from helpdesk.calendar import is_administrative_holiday, load_service_calendar
from helpdesk.models import CalendarDay
from tests.factories import tokyo

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("day", "closed"),
    [
        (dt.date(2026, 11, 27), False),  # Friday
        (dt.date(2026, 11, 28), True),  # Saturday
        (dt.date(2026, 11, 23), True),  # 勤労感謝の日
        (dt.date(2026, 5, 6), True),  # 振替休日 (5/3 is a Sunday)
        (dt.date(2026, 12, 29), True),  # 年末
        (dt.date(2027, 1, 4), False),  # 仕事始め
        (dt.date(2019, 5, 1), True),  # 即位の日 (one-off holiday: no formula gives it)
    ],
)
def test_administrative_holidays(day, closed):
    assert is_administrative_holiday(day) is closed


def test_service_hours_default_and_special_days():
    CalendarDay.objects.create(date=dt.date(2026, 11, 28), kind="open", opens_at=dt.time(10), closes_at=dt.time(15))
    CalendarDay.objects.create(date=dt.date(2026, 11, 27), kind="closed", note="臨時休業")
    cal = load_service_calendar()
    assert cal.is_open_at(tokyo(2026, 11, 26, 9, 0))
    assert not cal.is_open_at(tokyo(2026, 11, 26, 17, 0))
    assert not cal.is_open_at(tokyo(2026, 11, 27, 12, 0))
    assert cal.is_open_at(tokyo(2026, 11, 28, 14, 59))
    # Thursday 16:00 → Monday 10:00: 1 h Thu, Friday 27 closed, Saturday 28 open 10–15 (5 h), 1 h Mon.
    assert cal.open_seconds_between(tokyo(2026, 11, 26, 16, 0), tokyo(2026, 11, 30, 10, 0)) == 7 * 3600
