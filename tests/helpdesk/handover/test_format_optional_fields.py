"""A file written exactly per the handover format — optional fields left out, any incident
kind — imports without a reject, and what it carries survives a round trip."""

import datetime as dt
import json

import pytest

from helpdesk.clock import Month
from helpdesk.complaints.services import complaint_classify
from helpdesk.models import Complaint, ImportReject, SecurityIncident, ServiceHours
from kpi.selectors import kpi_month_compute
from tests.helpdesk.handover.conftest import empty_database, export_text, import_file, jsonl

pytestmark = pytest.mark.django_db

FREE_KIND = "標的型メールによる端末のマルウェア感染"

# Only the fields the format shows for each type (and a call as the PBX writes it): no
# `confirmed_at`, no keys, no users, no status.
FORMAT_FILE = [
    {"type": "header", "format_version": 1},
    {
        "type": "call",
        "call_id": "pbx-1",
        "arrived_at": "2026-10-06T10:00:00+09:00",
        "caller": "0312345678",
        "outcome": "answered",
        "queue": "egov",
        "queued_at": "2026-10-06T10:00:05+09:00",
        "answered_at": "2026-10-06T10:00:25+09:00",
        "ended_at": "2026-10-06T10:05:25+09:00",
        "agent": "op01",
    },
    {
        "type": "inquiry",
        "ref": "EG-20261006-PHONE1",
        "channel": "phone",
        "received_at": "2026-10-06T10:00:00+09:00",
        "call_id": "pbx-1",
        "category": "login",
        "subject": "GビズIDでログインできない",
        "body": "パスワードを忘れた",
        "wrapup_completed_at": "2026-10-06T10:07:00+09:00",
        "resolved_at": "2026-10-06T10:05:25+09:00",
    },
    {
        "type": "inquiry",
        "ref": "EG-20261007-FORM01",
        "channel": "form",
        "received_at": "2026-10-07T09:00:00+09:00",
        "subject": "届出の様式",
        "body": "様式はどこにありますか",
    },
    {
        "type": "escalation",
        "inquiry": {"ref": "EG-20261007-FORM01"},
        "target": "responsible_section",
        "escalated_at": "2026-10-07T10:00:00+09:00",
        "returned_at": "2026-10-08T15:00:00+09:00",
        "note": "制度の解釈",
    },
    {
        "type": "complaint",
        "inquiry": {"call_id": "pbx-1"},
        "received_at": "2026-10-06T11:00:00+09:00",
        "cause": "operator_error",
        "description": "案内が誤っていた",
    },
    {
        "type": "complaint",
        "inquiry": {"ref": "EG-20261007-FORM01"},
        "received_at": "2026-10-07T12:00:00+09:00",
        "cause": "policy",
        "description": "制度への不満",
    },
    {
        "type": "security_incident",
        "occurred_at": "2026-10-09T14:00:00+09:00",
        "detected_at": "2026-10-09T16:00:00+09:00",
        "severity": "major",
        "kind": FREE_KIND,
        "description": "端末を隔離",
    },
]


def _write(tmp_path, objects, name="format.jsonl"):
    path = tmp_path / name
    path.write_text(jsonl(*objects), encoding="utf-8")
    return path


def test_file_per_format_with_optional_fields_omitted_imports_without_rejects(tmp_path):
    path = _write(tmp_path, FORMAT_FILE)

    assert import_file(path) == "7 read, 7 created, 0 updated, 0 unchanged, 0 rejected"
    assert not ImportReject.objects.exists()
    error = Complaint.objects.get(cause="operator_error")
    assert error.confirmed_at is None and error.confirmed_by is None
    assert Complaint.objects.get(cause="policy").confirmed_at is None
    assert SecurityIncident.objects.get().kind == FREE_KIND
    # Idempotent as every import: the same file again changes nothing.
    assert import_file(path) == "7 read, 0 created, 0 updated, 7 unchanged, 0 rejected"


def test_a_cause_without_confirmation_is_recorded_but_counted_only_once_confirmed(tmp_path, supervisor):
    import_file(_write(tmp_path, FORMAT_FILE))
    october = Month.parse("2026-10")

    complaints = kpi_month_compute(month=october)["complaints"]
    assert (complaints["count"], complaints["recorded"]) == (0, 2)

    error = Complaint.objects.get(cause="operator_error")
    complaint_classify(complaint=error, actor=supervisor, cause="operator_error")
    assert kpi_month_compute(month=october)["complaints"]["count"] == 1


def test_free_text_incident_kind_round_trips(tmp_path):
    import_file(_write(tmp_path, FORMAT_FILE))
    incident = SecurityIncident.objects.get()
    assert incident.get_kind_display() == FREE_KIND  # shown as written
    assert SecurityIncident(kind="personal_information").get_kind_display() == "個人情報の漏えい"

    exported = export_text()
    line = next(json.loads(x) for x in exported.splitlines() if x.startswith('{"type":"security_incident"'))
    assert line["kind"] == FREE_KIND and line["key"] == str(incident.handover_key)

    empty_database()
    assert not SecurityIncident.objects.exists()
    path = tmp_path / "again.jsonl"
    path.write_text(exported, encoding="utf-8")
    assert import_file(path).endswith(" 0 rejected")
    again = SecurityIncident.objects.get()
    assert (again.kind, again.handover_key, again.severity) == (FREE_KIND, incident.handover_key, "major")


def test_unconfirmed_cause_with_a_confirmation_time_is_rejected_as_contradictory(tmp_path):
    lines = [*FORMAT_FILE[:3], {**FORMAT_FILE[5], "cause": "unconfirmed", "confirmed_at": "2026-10-08T10:00:00+09:00"}]

    assert import_file(_write(tmp_path, lines)).endswith(" 1 rejected")
    reason = ImportReject.objects.get().reason
    assert reason.startswith("complaint: constraint violated") and "complaint_unconfirmed_has_no_confirmation" in reason


def test_a_closed_weekday_stays_closed_after_a_round_trip(db, tmp_path):
    ServiceHours.objects.filter(weekday=2).delete()  # the center closes on Wednesdays
    ServiceHours.objects.create(weekday=5, opens_at=dt.time(10), closes_at=dt.time(12))
    exported = export_text()
    week = [json.loads(x) for x in exported.splitlines() if x.startswith('{"type":"service_hours"')]
    assert [w["weekday"] for w in week] == list(range(7))
    assert week[2] == {"type": "service_hours", "weekday": 2, "opens_at": None, "closes_at": None}

    empty_database()  # a fresh instance: Monday to Friday, 9:00-17:00
    ServiceHours.objects.get_or_create(weekday=2, defaults={"opens_at": dt.time(9), "closes_at": dt.time(17)})
    path = tmp_path / "week.jsonl"
    path.write_text(exported, encoding="utf-8")
    import_file(path)

    assert sorted(ServiceHours.objects.values_list("weekday", flat=True)) == [0, 1, 3, 4, 5]
    # again: nothing left to close
    assert import_file(path).endswith("0 updated, 7 unchanged, 0 rejected")


def test_service_hours_line_with_one_of_its_hours_missing_is_rejected(tmp_path):
    path = _write(tmp_path, [{"type": "service_hours", "weekday": 2, "opens_at": "09:00:00", "closes_at": None}])

    assert import_file(path).endswith(" 1 rejected")
    assert "both set (open) or both null (closed)" in ImportReject.objects.get().reason
    assert ServiceHours.objects.filter(weekday=2).exists()
