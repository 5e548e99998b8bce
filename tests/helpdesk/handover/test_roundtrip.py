"""Export → import into an empty database reproduces every record; importing twice changes nothing."""

import json

import pytest

from helpdesk.models import AuditEvent, EmailMessage, ImportRun, Inquiry
from tests.helpdesk.handover.conftest import empty_database, export_text, import_file, snapshot

# Not transactional: the audit trail is append-only (a SQLite trigger refuses the DELETE a
# transactional flush would run); each test empties the records itself inside its transaction.
pytestmark = pytest.mark.django_db


def test_export_starts_with_header_and_writes_one_json_object_per_line(full_dataset):
    lines = export_text().splitlines()
    header = json.loads(lines[0])
    assert header["type"] == "header"
    assert header["format_version"] == 1
    assert header["exported_at"].endswith("+09:00")
    records = [json.loads(line) for line in lines[1:]]
    by_type = {}
    for r in records:
        by_type.setdefault(r["type"], []).append(r)
    for type_name, count in header["counts"].items():
        assert len(by_type.get(type_name, [])) == count, type_name
    assert header["counts"]["call"] == 4 and header["counts"]["email"] == 4 and header["counts"]["inquiry"] == 3
    # the order: calls, emails, inquiries, escalations, complaints, incidents
    order = [r["type"] for r in records]
    assert order.index("call") < order.index("email") < order.index("inquiry") < order.index("escalation")
    assert order.index("escalation") < order.index("complaint") < order.index("security_incident")
    # field names as formats.md shows them
    inquiry = next(r for r in by_type["inquiry"] if r["ref"] == "EG-20261001-AAAAAA")
    assert inquiry["call_id"] == "1727740800.101" and inquiry["message_id"] is None
    assert inquiry["received_at"] == "2026-10-01T10:00:00.123456+09:00"
    escalation = next(r for r in by_type["escalation"] if r["target"] == "responsible_section")
    assert escalation["inquiry"] == {"ref": "EG-20261003-BBBBBB"}
    assert escalation["returned_at"] == "2026-10-06T15:30:00+09:00"
    assert {"received_at", "cause", "description", "inquiry"} <= set(by_type["complaint"][0])
    assert {"occurred_at", "detected_at", "severity", "kind", "description"} <= set(by_type["security_incident"][0])
    email = next(r for r in by_type["email"] if r["message_id"] == "<q1@citizen.example.jp>")
    assert email["inquiry"] == {"ref": "EG-20261003-BBBBBB"}
    assert email["raw"].startswith("TWVzc2FnZS1JRDog")  # base64 of "Message-ID: "


def test_export_is_audit_logged(full_dataset):
    export_text()
    event = AuditEvent.objects.get(action=AuditEvent.Action.EXPORT)
    assert event.object_type == "handover"
    assert event.actor_label.startswith("manage.py export_records")


def test_round_trip_into_empty_database_reproduces_every_record(full_dataset, tmp_path):
    before = snapshot()
    path = tmp_path / "handover.jsonl"
    path.write_text(export_text(), encoding="utf-8")
    lines = len(path.read_text(encoding="utf-8").splitlines()) - 1

    empty_database()
    assert Inquiry.objects.count() == 0 and EmailMessage.objects.count() == 0
    report = import_file(path)

    # The export writes all 7 weekdays; weekdays 0-4 are already in a fresh instance
    # (0 with other hours: updated; 1-4 identical: unchanged); Saturday is created; Sunday is
    # closed on both sides (unchanged).
    assert report == f"{lines} read, {lines - 6} created, 1 updated, 5 unchanged, 0 rejected"
    after = snapshot()
    for key in before:
        assert after[key] == before[key], key
    # KPI inputs, spelled out
    email = EmailMessage.objects.get(message_id="<ack1@egov-help.example.jp>")
    assert email.is_auto_acknowledgement and email.inquiry.ref == "EG-20261003-BBBBBB"


def test_importing_the_same_file_twice_changes_nothing(full_dataset, tmp_path):
    path = tmp_path / "handover.jsonl"
    path.write_text(export_text(), encoding="utf-8")
    lines = len(path.read_text(encoding="utf-8").splitlines()) - 1
    before = snapshot()

    first = import_file(path)
    second = import_file(path)

    assert first == f"{lines} read, 0 created, 0 updated, {lines} unchanged, 0 rejected"
    assert second == first
    assert snapshot() == before
    runs = ImportRun.objects.filter(kind=ImportRun.Kind.RECORDS)
    assert runs.count() == 2 and all(r.status == ImportRun.Status.DONE for r in runs)
    assert AuditEvent.objects.filter(action=AuditEvent.Action.IMPORT).count() == 2
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.UPDATE).exists()


def test_reimport_after_a_change_updates_only_that_record_and_audits_it(full_dataset, tmp_path):
    path = tmp_path / "handover.jsonl"
    path.write_text(export_text(), encoding="utf-8")
    lines = len(path.read_text(encoding="utf-8").splitlines()) - 1
    Inquiry.objects.filter(ref="EG-20261004-CCCCCC").update(category="changed-here", requester_name="別人")

    report = import_file(path)

    assert report == f"{lines} read, 0 created, 1 updated, {lines - 1} unchanged, 0 rejected"
    form = Inquiry.objects.get(ref="EG-20261004-CCCCCC")
    assert form.category == "send_error" and form.requester_name == "山田 太郎"
    event = AuditEvent.objects.get(action=AuditEvent.Action.UPDATE, object_id="EG-20261004-CCCCCC")
    assert event.changes["category"] == {"new": "send_error"}
    assert event.changes["requester_name"] == {"changed": True}  # personal information: no value


def test_missing_users_are_created_inactive_without_password(full_dataset, tmp_path):
    from django.contrib.auth import get_user_model

    path = tmp_path / "handover.jsonl"
    path.write_text(export_text(), encoding="utf-8")
    empty_database()
    import_file(path)
    op = get_user_model().objects.get(username="op.sato")
    assert not op.is_active and not op.has_usable_password() and not op.groups.exists()
    assert op.first_name == "花子" and op.agent_profile.pbx_login == "op01"
    assert Inquiry.objects.get(ref="EG-20261001-AAAAAA").assigned_to == op
