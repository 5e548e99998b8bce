import io
import json

import pytest
from django.core.management import CommandError, call_command

from helpdesk.models import Call
from tests.factories import CallFactory

pytestmark = pytest.mark.django_db


def test_json_output_equals_api_object(api, reviewer):
    CallFactory.create_batch(3)
    CallFactory(outcome=Call.Outcome.IVR_ABANDONED)
    out = io.StringIO()
    call_command("kpi_month", "2026-10", "--json", stdout=out)
    data = json.loads(out.getvalue())
    assert data["answer_rate"]["value"] == 0.75
    assert data["answer_rate"]["display"] == "75.0%"
    api_data = api.as_user(reviewer).get("/api/kpi/months/2026-10/").json()
    for key in ("answer_rate", "average_handle_time", "first_contact_resolution", "complaints"):
        assert api_data[key] == data[key]


def test_text_output():
    CallFactory()
    out = io.StringIO()
    call_command("kpi_month", "2026-10", stdout=out)
    text = out.getvalue()
    assert "令和8年10月" in text and "応答率: 100.0% (達成)" in text


FORMAT = "月は YYYY-MM 形式（月は01〜12）で指定してください: {!r} (month must be YYYY-MM)"
RANGE = "月は 1927-01〜9998-12 の範囲で指定してください: {!r} (month out of range)"


@pytest.mark.parametrize(
    ("month", "message"),
    [
        ("2026/10", FORMAT.format("2026/10")),
        ("2026-13", FORMAT.format("2026-13")),
        ("abc", FORMAT.format("abc")),
        # well formed, but no report can hold them: year 0, before 昭和, no month after 9999-12
        ("0000-01", RANGE.format("0000-01")),
        ("1926-12", RANGE.format("1926-12")),
        ("9999-12", RANGE.format("9999-12")),
    ],
)
def test_bad_month_is_a_usage_error(month, message):
    with pytest.raises(CommandError) as caught:
        call_command("kpi_month", month)
    assert str(caught.value) == message
    assert caught.value.returncode == 2


@pytest.mark.parametrize("month", ["1927-01", "9998-12"])
def test_first_and_last_months_the_report_can_hold(month):
    out = io.StringIO()
    call_command("kpi_month", month, "--json", stdout=out)
    assert json.loads(out.getvalue())["month"] == month
