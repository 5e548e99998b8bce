"""Step 1 of the bulk path builds each stage row with a function generated per record type
(`CopyType.build_row`): it must give what the plan's field-by-field dispatch (`_plan_row`,
the reference) gives — the same row, the same users named, the same refusals."""

import datetime as dt
import json

import pytest

from helpdesk.handover import bulk, records
from tests.helpdesk.handover.conftest import export_text

pytestmark = [pytest.mark.django_db, pytest.mark.one_import_path]

SPECS = {
    "call": records.COPY_CALL,
    "email": records.COPY_EMAIL,
    "inquiry": records.COPY_INQUIRY,
    "escalation": records.COPY_ESCALATION,
    "complaint": records.COPY_COMPLAINT,
    "security_incident": records.COPY_INCIDENT,
}
NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


def _both(spec: bulk.CopyType, data: dict):
    """(row, users named) or the exception's type, by the generated builder and by the plan."""
    out = []
    for build in (spec.build_row, lambda *args: bulk._plan_row(spec, *args)):
        usernames: dict = {}
        defaults = [f.get_default() for f in spec.fields]
        try:
            key, values, *_rest = spec.parse(data, bulk._REFS)
            spec.checker.check(spec.key_field, key)
            row = build(3, key, values, data, NOW, defaults, usernames, spec.checker.check)
        except Exception as exc:  # the refusal itself is what is compared
            out.append(type(exc))
        else:
            out.append((row, list(usernames)))
    return out


def _lines(text: str) -> list[dict]:
    return [line for line in map(json.loads, text.splitlines()) if line.get("type") in SPECS]


def test_the_generated_row_builder_gives_the_plans_rows_for_every_field_of_every_type(full_dataset):
    # Given an export of every field of every bulk type, and each line with only its
    # required fields (the others take their defaults)
    lines = _lines(export_text())
    assert {line["type"] for line in lines} == set(SPECS)
    sparse = []
    for line in lines:
        spec = SPECS[line["type"]]
        keep = {"type", "key", spec.key_field, "call_id", "message_id", "ref", "inquiry", "direction", "raw"}
        keep |= {"arrived_at", "outcome", "channel", "received_at", "target", "escalated_at"}
        keep |= {"occurred_at", "detected_at", "severity"}
        sparse.append({k: v for k, v in line.items() if k in keep})

    # Then the generated builder and the plan agree on every one, row and users
    for line in lines + sparse:
        generated, planned = _both(SPECS[line["type"]], line)
        assert generated == planned, line
        assert not isinstance(generated, type), line  # (the dataset's lines are all valid)


@pytest.mark.parametrize(
    "change",
    [
        {"caller": "x" * 500},  # longer than the column
        {"outcome": "lost"},  # not a choice
        {"acw_seconds": -1},  # below the field's minimum
        {"acw_seconds": "12"},  # not an integer
        {"agent": 17},  # a username that is not a string
        {"created_at": "yesterday"},  # a bad stamp
    ],
)
def test_the_generated_row_builder_refuses_what_the_plan_refuses(full_dataset, change):
    call = next(line for line in _lines(export_text()) if line["type"] == "call")
    generated, planned = _both(records.COPY_CALL, {**call, **change})
    assert generated == planned
    assert isinstance(generated, type)


def test_an_inquiry_line_with_a_bad_email_and_long_fields_is_refused_alike(full_dataset):
    inquiry = next(line for line in _lines(export_text()) if line["type"] == "inquiry")
    for change in ({"requester_email": "not an address"}, {"subject": "件" * 1000}, {"status": ""}):
        generated, planned = _both(records.COPY_INQUIRY, {**inquiry, **change})
        assert generated == planned, change
