"""The phone endpoints' OpenAPI schema validates without warnings."""

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_schema_of_phone_endpoints_validates_without_warnings(tmp_path):
    out = tmp_path / "schema.yaml"
    call_command(
        "spectacular",
        "--validate",
        "--fail-on-warn",
        "--urlconf",
        "tests.helpdesk.phone.urls_phone_only",
        "--file",
        str(out),
    )
    text = out.read_text(encoding="utf-8")
    for path in (
        "/api/calls/import/",
        "/api/calls/missing-wrapup/",
        "/api/calls/mine/latest/",
        "/api/calls/{call_id}/inquiry/",
        "/api/inquiries/{ref}/wrapup/",
        "/api/calendar/service-hours/",
        "/api/calendar/days/",
        "/api/calendar/days/{date}/",
    ):
        assert f"  {path}:" in text, path
