from decimal import Decimal

import pytest

from kpi import display


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.934, "93.4%"),
        (0.9345, "93.5%"),  # half-up, not banker's rounding
        (0.9335, "93.4%"),
        (Decimal("0.99949"), "99.9%"),
        (Decimal("0.99950"), "100.0%"),
        (1, "100.0%"),
        (0, "0.0%"),
        (2 / 3, "66.7%"),
        (0.0005, "0.1%"),
        (None, "—"),
    ],
)
def test_rate_display(value, expected):
    assert display.rate_display(value) == expected


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (360, "6分00秒"),
        (359.5, "6分00秒"),  # nearest second, half-up
        (359.49, "5分59秒"),
        (600, "10分00秒"),
        (0, "0分00秒"),
        (61.5, "1分02秒"),
        (3725, "62分05秒"),
        (None, "—"),
    ],
)
def test_aht_display(seconds, expected):
    assert display.aht_display(seconds) == expected


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (4 * 3600 + 9 * 60, "4時間09分"),
        (208 * 3600 + 47 * 60, "208時間47分"),
        (208 * 3600 + 46 * 60 + 30, "208時間47分"),  # half a minute rounds up
        (208 * 3600 + 46 * 60 + 29.999, "208時間46分"),
        (86399, "24時間00分"),
        (59 * 60 + 30, "1時間00分"),
        (0, "0時間00分"),
        (None, "—"),
    ],
)
def test_email_time_display(seconds, expected):
    assert display.email_time_display(seconds) == expected


def test_count_display():
    assert display.count_display(0) == "0件"
    assert display.count_display(14) == "14件"


@pytest.mark.parametrize(
    ("month", "expected"),
    [
        ("2018-10", "平成30年10月"),
        ("2019-04", "平成31年4月"),
        ("2019-05", "令和元年5月"),
        ("2019-12", "令和元年12月"),
        ("2020-01", "令和2年1月"),
        ("2026-10", "令和8年10月"),
        ("1989-01", "昭和64年1月"),  # the era in force on the month's first day
        ("1989-02", "平成元年2月"),
    ],
)
def test_month_display(month, expected):
    assert display.month_display(month) == expected


def test_month_display_without_era():
    assert display.month_display("2019-05", era=False) == "2019年5月"
