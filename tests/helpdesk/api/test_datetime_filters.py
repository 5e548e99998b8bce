"""Datetime filters the database cannot compare — an offset beyond ±15:59, a moment before
year 1 or after 9999 in UTC — are a 400 naming the parameter, on every list, never a 500."""

import pytest

pytestmark = pytest.mark.django_db

LISTS = [
    ("/api/inquiries/", "received_after"),
    ("/api/escalations/", "escalated_before"),
    ("/api/complaints/", "received_after"),
    ("/api/security-incidents/", "occurred_after"),
    ("/api/calls/", "arrived_before"),
]
BAD = [
    "2026-10-01T00:00:00+23:59",
    "2026-10-01T00:00:00-16:00",
    "0001-01-01T00:00:00+09:00",
    "9999-12-31T23:59:59-09:00",
]


@pytest.mark.parametrize(("url", "param"), LISTS)
@pytest.mark.parametrize("value", BAD)
def test_an_impossible_datetime_is_a_400_naming_the_parameter(api, admin_user, url, param, value):
    response = api.as_user(admin_user).get(url, {param: value})
    assert response.status_code == 400, response.content
    assert param in response.json()["errors"]


@pytest.mark.parametrize(("url", "param"), LISTS)
def test_real_offsets_still_filter(api, admin_user, url, param):
    for value in ("2026-10-01T00:00:00+14:00", "2026-10-01T00:00:00-12:00", "2026-10-01T09:00:00"):
        assert api.as_user(admin_user).get(url, {param: value}).status_code == 200
