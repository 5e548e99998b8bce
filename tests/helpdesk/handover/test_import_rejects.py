"""Each kind of bad line is rejected with its line number and reason; the rest imports."""

import pytest
from django.core.management.base import CommandError

from helpdesk.models import Call, Complaint, ImportReject, ImportRun, Inquiry, SecurityIncident
from tests.helpdesk.handover.conftest import import_file, jsonl

pytestmark = pytest.mark.django_db

HEADER = {"type": "header", "format_version": 1, "exported_at": "2026-11-01T00:00:00+09:00", "counts": {}}
INQUIRY = {
    "type": "inquiry",
    "ref": "EG-20261001-GOOD01",
    "channel": "form",
    "received_at": "2026-10-01T10:00:00",
    "subject": "ログインできない",
}
CALL = {
    "type": "call",
    "call_id": "c-1",
    "arrived_at": "2026-10-01T10:00:00+09:00",
    "outcome": "answered",
    "answered_at": "2026-10-01T10:00:20+09:00",
    "ended_at": "2026-10-01T10:05:00+09:00",
}


def _rejects():
    return [(r.line, r.reason) for r in ImportReject.objects.order_by("line")]


def test_each_bad_line_is_rejected_with_its_line_and_reason_and_the_rest_imports(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(
        jsonl(
            HEADER,  # 1
            '{"type": "inquiry", "ref": ',  # 2 invalid JSON
            {"type": "ticket", "id": 1},  # 3 unknown type
            {"type": "inquiry", "channel": "phone", "received_at": "2026-10-01T10:00:00+09:00"},  # 4 no ref
            {**INQUIRY, "ref": "EG-X-BADTIME", "received_at": "2026-13-45T99:00"},  # 5 bad time
            {
                "type": "complaint",
                "inquiry": {"ref": "EG-NOWHERE"},
                "received_at": "2026-10-01T10:00:00+09:00",
            },  # 6 unknown inquiry
            {**CALL, "call_id": "c-bad", "ended_at": "2026-10-01T09:00:00+09:00"},  # 7 ends before it arrived
            INQUIRY,  # 8 good
            {**INQUIRY, "ref": "EG-X-CHANNEL", "channel": "fax"},  # 9 not a valid choice
            "[1, 2]",  # 10 not an object
            {"ref": "EG-NOTYPE"},  # 11 no type
            CALL,  # 12 good
        ),
        encoding="utf-8",
    )

    report = import_file(path)

    assert report == "11 read, 2 created, 0 updated, 0 unchanged, 9 rejected"
    rejects = dict(_rejects())
    assert sorted(rejects) == [2, 3, 4, 5, 6, 7, 9, 10, 11]
    assert rejects[2].startswith("invalid JSON")
    assert rejects[3] == "unknown record type 'ticket'"
    assert rejects[4] == "inquiry: missing field 'ref'"
    assert rejects[5].startswith("inquiry: bad time in field 'received_at'")
    assert rejects[6] == "complaint: reference to unknown inquiry ref=EG-NOWHERE"
    assert rejects[7].startswith("call: constraint violated") and "call_ends_after_arrival" in rejects[7]
    assert rejects[9].startswith("inquiry: invalid value: channel")
    assert rejects[10] == "line is not a JSON object"
    assert rejects[11] == "missing field 'type'"
    assert Inquiry.objects.get().ref == "EG-20261001-GOOD01"
    assert Call.objects.get().call_id == "c-1"
    assert not Complaint.objects.exists()


def test_reject_keeps_offset_and_raw_bytes(tmp_path):
    bad = '{"type": "call", "call_id": "x"}'
    path = tmp_path / "f.jsonl"
    first = jsonl(HEADER)
    path.write_text(first + bad + "\n", encoding="utf-8")

    import_file(path)

    reject = ImportReject.objects.get()
    assert reject.line == 2
    assert reject.offset == len(first.encode())
    assert bytes(reject.raw) == bad.encode()
    assert reject.source_name == "f.jsonl"
    assert reject.reason == "call: missing field 'outcome'"


def test_naive_times_are_tokyo_time(tmp_path):
    path = tmp_path / "f.jsonl"
    path.write_text(jsonl(INQUIRY), encoding="utf-8")  # no header line: still read as version 1

    assert import_file(path) == "1 read, 1 created, 0 updated, 0 unchanged, 0 rejected"
    received = Inquiry.objects.get().received_at
    assert received.isoformat() in ("2026-10-01T01:00:00+00:00", "2026-10-01T10:00:00+09:00")
    assert received.utcoffset() is not None


def test_invalid_utf8_and_blank_lines(tmp_path):
    path = tmp_path / "f.jsonl"
    path.write_bytes(b"\n" + jsonl(INQUIRY).encode() + b"\n\xff\xfe{}\n")

    assert import_file(path) == "2 read, 1 created, 0 updated, 0 unchanged, 1 rejected"
    assert _rejects() == [(4, "not valid UTF-8 (byte 0)")]


def test_unsupported_format_version_fails_the_run(tmp_path):
    path = tmp_path / "f.jsonl"
    path.write_text(jsonl({**HEADER, "format_version": 2}, INQUIRY), encoding="utf-8")

    with pytest.raises(CommandError, match="unsupported format_version 2"):
        import_file(path)
    run = ImportRun.objects.get()
    assert run.status == ImportRun.Status.FAILED
    assert not Inquiry.objects.exists()


def test_incident_without_key_gets_a_content_key_so_reimport_is_idempotent(tmp_path):
    path = tmp_path / "f.jsonl"
    incident = {
        "type": "security_incident",
        "occurred_at": "2026-10-05T14:00:00+09:00",
        "detected_at": "2026-10-05T17:00:00+09:00",
        "severity": "major",
        "kind": "personal_information",
        "description": "誤送信",
    }
    path.write_text(jsonl(incident), encoding="utf-8")

    assert import_file(path) == "1 read, 1 created, 0 updated, 0 unchanged, 0 rejected"
    path.write_text(jsonl({**incident, "severity": "minor"}), encoding="utf-8")
    assert import_file(path) == "1 read, 0 created, 1 updated, 0 unchanged, 0 rejected"
    assert SecurityIncident.objects.get().severity == "minor"


def test_constraint_violation_on_detected_before_occurred(tmp_path):
    path = tmp_path / "f.jsonl"
    path.write_text(
        jsonl(
            {
                "type": "security_incident",
                "occurred_at": "2026-10-05T14:00:00+09:00",
                "detected_at": "2026-10-05T13:00:00+09:00",
                "severity": "major",
            }
        ),
        encoding="utf-8",
    )

    assert import_file(path).endswith("1 rejected")
    assert "incident_detected_after_occurred" in ImportReject.objects.get().reason
    assert not SecurityIncident.objects.exists()
