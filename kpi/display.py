"""How the ministry's evaluation report (参考1) displays the figures. Pure functions over
plain values; rounding is half-up on exact decimals, never binary floats."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

# (first day, era name); the era of a month is the era in force on its first day.
ERAS: tuple[tuple[dt.date, str], ...] = (
    (dt.date(2019, 5, 1), "令和"),
    (dt.date(1989, 1, 8), "平成"),
    (dt.date(1926, 12, 25), "昭和"),
)


def _dec(value: float | int | Decimal | str) -> Decimal:
    # str() first: Decimal(0.9345) would carry the binary float error into the rounding.
    return value if isinstance(value, Decimal) else Decimal(str(value))


def rate_display(value: float | Decimal | None) -> str:
    """0.9345 → '93.5%' (percent, one decimal, half-up). None → '—'."""
    if value is None:
        return "—"
    pct = (_dec(value) * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return f"{pct}%"


def aht_display(seconds: float | Decimal | None) -> str:
    """360 → '6分00秒' (nearest second, half-up)."""
    if seconds is None:
        return "—"
    total = int(_dec(seconds).quantize(Decimal("1"), rounding=ROUND_HALF_UP))
    minutes, secs = divmod(total, 60)
    return f"{minutes}分{secs:02d}秒"


def email_time_display(seconds: float | Decimal | None) -> str:
    """751_620 → '208時間47分' (nearest minute, half-up)."""
    if seconds is None:
        return "—"
    total = int((_dec(seconds) / 60).quantize(Decimal("1"), rounding=ROUND_HALF_UP))
    hours, minutes = divmod(total, 60)
    return f"{hours}時間{minutes:02d}分"


def count_display(count: int | None) -> str:
    if count is None:
        return "—"
    return f"{count}件"


def era_year(day: dt.date) -> tuple[str, str]:
    """(era, year in era) with 元 for the first year: 2019-05-01 → ('令和', '元')."""
    for start, name in ERAS:
        if day >= start:
            year = day.year - start.year + 1
            return name, "元" if year == 1 else str(year)
    raise ValueError(f"no era for {day}")


def month_display(month: str, *, era: bool = True) -> str:
    """'2018-10' → '平成30年10月'; '2019-05' → '令和元年5月'; era=False → '2018年10月'."""
    year, mon = (int(p) for p in month.split("-"))
    if not era:
        return f"{year}年{mon}月"
    name, y = era_year(dt.date(year, mon, 1))
    return f"{name}{y}年{mon}月"
