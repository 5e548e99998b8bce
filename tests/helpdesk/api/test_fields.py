"""datetime_formatter (rows built without serializer fields) gives what DRF's DateTimeField
gives, whatever the value and the current time zone."""

import datetime as dt
import zoneinfo

import pytest
from django.test import override_settings
from django.utils import timezone
from rest_framework import serializers

from helpdesk.api.fields import datetime_formatter

VALUES = [
    None,
    "",
    dt.datetime(2026, 10, 5, 0, 30, tzinfo=dt.UTC),
    dt.datetime(2026, 10, 5, 0, 30, 0, 250, tzinfo=dt.UTC),
    dt.datetime(2026, 10, 5, 9, 30, tzinfo=zoneinfo.ZoneInfo("Asia/Tokyo")),
    dt.datetime(2026, 3, 8, 7, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5, minutes=-30))),
    dt.datetime(1900, 1, 1, 0, 0, tzinfo=dt.UTC),
    dt.datetime(2026, 10, 5, 9, 30),  # naive: the field makes it aware
    "2026-10-05T09:30:00+09:00",  # a string is passed through
]


@pytest.mark.parametrize("zone", ["Asia/Tokyo", "UTC", "America/New_York"])
def test_the_formatter_gives_what_the_field_gives(zone):
    with timezone.override(zone):
        moment = datetime_formatter()
        field = serializers.DateTimeField()
        for value in VALUES:
            assert moment(value) == field.to_representation(value), value


def test_utc_ends_in_z_and_tokyo_in_its_offset():
    utc = dt.datetime(2026, 10, 5, 0, 30, tzinfo=dt.UTC)
    with timezone.override("UTC"):
        assert datetime_formatter()(utc) == "2026-10-05T00:30:00Z"
    with timezone.override("Asia/Tokyo"):
        assert datetime_formatter()(utc) == "2026-10-05T09:30:00+09:00"


@override_settings(REST_FRAMEWORK={"DATETIME_FORMAT": "%Y/%m/%d %H:%M"})
def test_another_output_format_is_the_fields_own():
    from rest_framework.settings import api_settings

    api_settings.reload()
    try:
        value = dt.datetime(2026, 10, 5, 0, 30, tzinfo=dt.UTC)
        assert datetime_formatter()(value) == serializers.DateTimeField().to_representation(value) == "2026/10/05 09:30"
    finally:
        api_settings.reload()
