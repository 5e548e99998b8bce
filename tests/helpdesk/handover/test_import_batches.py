"""Lines are imported in batches: in bulk when every line is fine, line by line (each in a
savepoint) when one is not — with the same result either way."""

import pytest

from helpdesk.models import Call, ImportReject, Inquiry
from tests.helpdesk.handover.conftest import import_file, jsonl

pytestmark = pytest.mark.django_db


def _call(n: int, **extra) -> dict:
    return {
        "type": "call",
        "call_id": f"c-{n}",
        "arrived_at": "2026-10-01T10:00:00+09:00",
        "outcome": "queue_abandoned",
        "queue": "egov",
        **extra,
    }


def _inquiry(n: int) -> dict:
    return {
        "type": "inquiry",
        "ref": f"EG-20261001-{n:06d}",
        "channel": "phone",
        "received_at": "2026-10-01T10:00:00+09:00",
        "call_id": f"c-{n}",
    }


def test_clean_batches_go_in_bulk(tmp_path, django_assert_max_num_queries, settings):
    # The queries per batch; a first handover's fixed cost (one CREATE INDEX per deferred
    # index at the end) is test_first_handover.py's.
    settings.HELPDESK_HANDOVER_DEFER_INDEXES = False
    path = tmp_path / "f.jsonl"
    path.write_text(jsonl(*[_call(n) for n in range(200)], *[_inquiry(n) for n in range(200)]), encoding="utf-8")

    with django_assert_max_num_queries(40):  # line by line this is over 1,000 queries
        report = import_file(path)

    assert report == "400 read, 400 created, 0 updated, 0 unchanged, 0 rejected"
    assert Inquiry.objects.filter(call__isnull=False).count() == 200


def test_one_bad_line_in_a_batch_is_rejected_alone(tmp_path):
    lines = [_call(n) for n in range(50)]
    lines[25] = _call(25, outcome="answered")  # answered without answered_at: a constraint
    lines.append(_call(3, agent="op09"))  # the same call twice in one batch: the later line wins
    path = tmp_path / "f.jsonl"
    path.write_text(jsonl(*lines), encoding="utf-8")

    assert import_file(path) == "51 read, 49 created, 1 updated, 0 unchanged, 1 rejected"
    reject = ImportReject.objects.get()
    assert reject.line == 26 and "call_answered_has_answer_time" in reject.reason
    assert Call.objects.count() == 49
    assert Call.objects.get(call_id="c-3").agent == "op09"
