"""The clock of the center: Asia/Tokyo, calendar months on the Tokyo clock and their
bounds. The one copy: every module that buckets by day or month in Japan imports it."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

TOKYO = ZoneInfo("Asia/Tokyo")

MONTH_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


@dataclass(frozen=True)
class Month:
    """A calendar month on the Tokyo clock: [start, end) as aware datetimes."""

    year: int
    month: int

    @classmethod
    def parse(cls, value: str) -> Month:
        """'2026-10' → Month(2026, 10). Anything else — '2026-13', '2026-1', '0000-01' —
        raises ValueError with a message fit for the user (API, page, command)."""
        m = MONTH_RE.match(value or "")
        if not m:
            raise ValueError(f"月は YYYY-MM 形式（月は01〜12）で指定してください: {value!r} (month must be YYYY-MM)")
        month = cls(int(m.group(1)), int(m.group(2)))
        if not (MONTH_MIN <= month <= MONTH_MAX):
            raise ValueError(f"月は {MONTH_MIN}〜{MONTH_MAX} の範囲で指定してください: {value!r} (month out of range)")
        return month

    @classmethod
    def of(cls, moment: dt.datetime) -> Month:
        local = moment.astimezone(TOKYO)
        return cls(local.year, local.month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def start(self) -> dt.datetime:
        return dt.datetime(self.year, self.month, 1, tzinfo=TOKYO)

    @property
    def end(self) -> dt.datetime:
        return self.next().start

    @property
    def first_day(self) -> dt.date:
        return dt.date(self.year, self.month, 1)

    @property
    def fiscal_year(self) -> int:
        """April–March: January 2027 belongs to fiscal 2026."""
        return self.year if self.month >= 4 else self.year - 1

    def next(self) -> Month:
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    def prev(self) -> Month:
        return Month(self.year - 1, 12) if self.month == 1 else Month(self.year, self.month - 1)

    def __lt__(self, other: Month) -> bool:
        return (self.year, self.month) < (other.year, other.month)

    def __le__(self, other: Month) -> bool:
        return (self.year, self.month) <= (other.year, other.month)


# The first month the Japanese era display knows (昭和 began 1926-12-25, and a month takes
# the era of its first day); the last whose end (the next month's start) is a datetime.
MONTH_MIN = Month(1927, 1)
MONTH_MAX = Month(9998, 12)


def month_range(first: Month, last: Month) -> list[Month]:
    months, m = [], first
    while m <= last:
        months.append(m)
        m = m.next()
    return months


def month_bounds(month: str) -> tuple[dt.datetime, dt.datetime]:
    """'2026-10' → [start, end) of that month on the Tokyo clock (`strptime` leniency: '2026-1'
    is January)."""
    first = dt.datetime.strptime(month, "%Y-%m")  # noqa: DTZ007 (only its year and month are used)
    bounds = Month(first.year, first.month)
    return bounds.start, bounds.end
