"""Serializer fields shared by every API: record datetimes, blankable emails, local times, user refs."""

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema_field
from rest_framework import ISO_8601, serializers
from rest_framework.settings import api_settings

User = get_user_model()


# Before 1888 Tokyo kept local mean time (+09:18:59), which no RFC 3339 date-time can state:
# a record time that old is a typo, refused with the field named rather than echoed back in
# an offset the published schema (and most clients) cannot parse.
EARLIEST_RECORD_TIME = dt.datetime(1900, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=9)))


class RecordDateTimeField(serializers.DateTimeField):
    """A record's moment (arrival, answer, occurrence…): from 1900 on."""

    def to_internal_value(self, value):
        parsed = super().to_internal_value(value)
        if parsed < EARLIEST_RECORD_TIME:
            raise serializers.ValidationError("1900年より前の日時は指定できません。")
        return parsed


class TextSlugRelatedField(serializers.SlugRelatedField):
    """A record named by a text key (an inquiry's ref, a call id, a category slug): a key
    holding NUL is refused with the field named — PostgreSQL refuses NUL in text, so the
    look-up itself answered 500 (Schemathesis found it on POST /api/complaints/). DRF's
    CharField has that check built in; SlugRelatedField does not."""

    default_error_messages = {"null_characters": "NUL文字は使えません。(no NUL characters)"}

    def to_internal_value(self, data):
        if isinstance(data, str) and "\x00" in data:
            self.fail("null_characters")
        return super().to_internal_value(data)


def datetime_formatter() -> Callable[[Any], str | None]:
    """What `serializers.DateTimeField().to_representation` does to a value, for rows built
    without serializer fields (a list page's 200 datetimes): an aware datetime in the current
    time zone as ISO 8601, "Z" for UTC; anything else (None, naive, another format setting)
    goes through the field itself. tests/helpdesk/api/test_fields.py holds the two equal."""
    field = serializers.DateTimeField()
    output_format = getattr(field, "format", api_settings.DATETIME_FORMAT)
    zone = field.default_timezone()
    if zone is None or not isinstance(output_format, str) or output_format.lower() != ISO_8601:
        return field.to_representation

    def moment(value: Any) -> str | None:
        if not value:
            return None
        if not isinstance(value, dt.datetime) or value.utcoffset() is None:
            return field.to_representation(value)
        try:
            text = value.astimezone(zone).isoformat()
        except OverflowError:
            return field.to_representation(value)  # its own error
        return text[:-6] + "Z" if text.endswith("+00:00") else text

    return moment


@extend_schema_field({"oneOf": [{"type": "string", "format": "email"}, {"type": "string", "maxLength": 0}]})
class BlankableEmailField(serializers.EmailField):
    """An e-mail address or "" (no address given): the schema says both, as the data has both."""


@extend_schema_field(
    {
        "type": "string",
        "pattern": r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?$",
        "example": "09:00:00",
        "description": "東京時間の時刻（時差なし）",
    }
)
class LocalTimeField(serializers.TimeField):
    """A wall-clock time of day in Tokyo. OpenAPI's `format: time` (RFC 3339 full-time) demands
    a UTC offset that an opening hour does not have, so the schema states the real shape."""


class UserRefSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    username = serializers.CharField(read_only=True)
