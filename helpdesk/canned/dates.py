"""Dates as Japanese letters write them: the era (和暦), 令和8年12月2日."""

import datetime as dt

# (first day, name), newest first. Dates before Heisei do not occur in replies written today.
ERAS: tuple[tuple[dt.date, str], ...] = (
    (dt.date(2019, 5, 1), "令和"),
    (dt.date(1989, 1, 8), "平成"),
    (dt.date(1926, 12, 25), "昭和"),
)


def japanese_era_date(day: dt.date) -> str:
    """令和8年12月2日; the first year of an era is 元年 (令和元年5月1日)."""
    for start, name in ERAS:
        if day >= start:
            year = day.year - start.year + 1
            return f"{name}{'元' if year == 1 else year}年{day.month}月{day.day}日"
    return f"{day.year}年{day.month}月{day.day}日"
