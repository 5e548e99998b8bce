"""Lines are read by orjson where it reads them as the standard parser does; where it would not
(integers beyond 64 bits, NaN, lone surrogates, invalid JSON) the standard parser decides, so
values and reject reasons are those of `json.loads`."""

import pytest

from helpdesk.models import Call, ImportReject, Inquiry
from tests.helpdesk.handover.conftest import import_file, jsonl
from tests.helpdesk.handover.test_import_rejects import CALL, INQUIRY

pytestmark = pytest.mark.django_db


def _reasons() -> list[tuple[int, str]]:
    return [(r.line, r.reason) for r in ImportReject.objects.order_by("line")]


def test_an_integer_beyond_64_bits_stays_an_integer_and_is_refused_as_one(tmp_path):
    path = tmp_path / "f.jsonl"
    path.write_text(
        jsonl(
            {**CALL, "call_id": "c-huge", "acw_seconds": 123456789012345678901234567890},
            {**CALL, "call_id": "c-float", "acw_seconds": 12.5},
            CALL,
        ),
        encoding="utf-8",
    )
    assert import_file(path) == "3 read, 1 created, 0 updated, 0 unchanged, 2 rejected"
    (huge, _), (small, float_reason) = _reasons()
    reason = ImportReject.objects.get(line=huge).reason
    # Read as a float (orjson's reading of such a number), it would be "must be an integer".
    assert "must be an integer" not in reason and "acw_seconds" in reason
    assert float_reason == "call: field 'acw_seconds' must be an integer"
    assert list(Call.objects.values_list("call_id", flat=True)) == ["c-1"]


def test_what_only_the_standard_parser_reads_is_read_as_it_reads_it(tmp_path):
    path = tmp_path / "f.jsonl"
    path.write_text(
        '{"type": "inquiry", "ref": "EG-NAN", "channel": "form", "received_at": "2026-10-01T10:00:00", '
        '"version": NaN}\n'
        '{"type": "inquiry", "ref": "EG-SURROGATE", "channel": "form", "received_at": "2026-10-01T10:00:00", '
        '"subject": "\\ud800"}\n' + jsonl(INQUIRY) + '{"type": "inquiry", "ref": \n',
        encoding="utf-8",
    )
    import_file(path)

    reasons = dict(_reasons())
    assert reasons[1] == "inquiry: field 'version' must be an integer"  # NaN read (a float), then refused
    assert reasons[4] == "invalid JSON: Expecting value (column 28)"
    assert Inquiry.objects.filter(ref="EG-20261001-GOOD01").exists()
