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


def test_bad_month():
    with pytest.raises(CommandError):
        call_command("kpi_month", "2026/10")
