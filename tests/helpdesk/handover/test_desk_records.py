"""Canned responses and internal notes travel in the handover file: exported with every field,
imported into an empty database as they were, a second import changes nothing, bad lines are
rejected with their line and reason, and a note's text never reaches the audit trail."""

import dataclasses
import datetime as dt
import json

import pytest
from django.contrib.auth import get_user_model

from helpdesk.handover import registry
from helpdesk.models import AuditEvent, CannedResponse, ImportReject, InquiryNote
from tests.factories import InquiryFactory, UserFactory, tokyo
from tests.helpdesk.handover.conftest import empty_database, export_text, import_file, jsonl, snapshot

pytestmark = pytest.mark.django_db

NOTE_TEXT = "申請者に電話で確認済み。\n送信エラーはブラウザの拡張機能が原因の可能性。"


def _lines(text: str, type_name: str) -> list[dict]:
    return [r for r in map(json.loads, text.splitlines()) if r["type"] == type_name]


def _write(tmp_path, text: str, name: str = "f.jsonl"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _rejects() -> list[tuple[int, str]]:
    return [(r.line, r.reason) for r in ImportReject.objects.order_by("line")]


INQUIRY = {
    "type": "inquiry",
    "ref": "EG-20261001-NOTE01",
    "channel": "form",
    "received_at": "2026-10-01T10:00:00+09:00",
}


def _note(**extra) -> dict:
    return {
        "type": "inquiry_note",
        "inquiry": {"ref": INQUIRY["ref"]},
        "created_at": "2026-10-01T10:30:00.250000+09:00",
        "author": "op.sato",
        "body": "折り返し希望（午後）",
        **extra,
    }


def _canned(**extra) -> dict:
    return {
        "type": "canned_response",
        "title": "受付のお礼",
        "created_at": "2026-09-01T09:00:00+09:00",
        "body": "{citizen_name} 様\nお問い合わせありがとうございます。",
        **extra,
    }


# --- export -----------------------------------------------------------------------------------


def test_export_writes_every_note_and_canned_response_with_every_field_in_order(full_dataset):
    text = export_text()
    header = json.loads(text.splitlines()[0])
    assert header["counts"]["inquiry_note"] == 3 and header["counts"]["canned_response"] == 2

    notes = _lines(text, "inquiry_note")
    first = next(n for n in notes if n["author"] == "op.sato")
    assert first == {
        "type": "inquiry_note",
        "inquiry": {"ref": "EG-20261003-BBBBBB"},
        "created_at": "2026-10-03T09:30:00+09:00",
        "author": "op.sato",
        "body": NOTE_TEXT,
    }
    orphan = next(n for n in notes if n["author"] is None)  # its author's account is gone
    assert orphan["created_at"] == "2026-10-01T10:07:00.654321+09:00"

    canned = {c["title"]: c for c in _lines(text, "canned_response")}
    assert canned["ログインできない（GビズID）"] == {
        "type": "canned_response",
        "title": "ログインできない（GビズID）",
        "created_at": "2026-09-01T09:00:00+09:00",
        "body": "{citizen_name} 様\n\nお問い合わせ（{inquiry_ref}）ありがとうございます。",
        "category": "login",
        "active": True,
        "order": 3,
        "created_by": "adm.tanaka",
        "updated_at": "2026-09-08T09:00:00+09:00",
    }
    assert canned["旧案内（使わない）"]["active"] is False and canned["旧案内（使わない）"]["created_by"] is None

    # after what they refer to: users before canned responses, inquiries before notes
    order = [json.loads(line)["type"] for line in text.splitlines()[1:]]
    assert order.index("user") < order.index("canned_response") < order.index("call")
    assert max(i for i, t in enumerate(order) if t == "inquiry") < order.index("inquiry_note")
    assert order.index("inquiry_note") < order.index("escalation")


# --- round trip and idempotency -----------------------------------------------------------


def test_round_trip_keeps_every_field_of_notes_and_canned_responses(full_dataset, tmp_path):
    before = snapshot()
    path = _write(tmp_path, export_text())
    empty_database()
    assert not InquiryNote.objects.exists() and not CannedResponse.objects.exists()

    import_file(path)

    after = snapshot()
    assert after["inquiry_note"] == before["inquiry_note"]
    assert after["canned_response"] == before["canned_response"]
    # spelled out: the text, its author, its inquiry, its time
    note = InquiryNote.objects.get(body=NOTE_TEXT)
    assert note.inquiry.ref == "EG-20261003-BBBBBB" and note.author.username == "op.sato"
    assert note.created_at == tokyo(2026, 10, 3, 9, 30)
    assert InquiryNote.objects.get(inquiry__ref="EG-20261001-AAAAAA").author is None
    canned = CannedResponse.objects.get(title="ログインできない（GビズID）")
    assert (canned.category, canned.active, canned.order, canned.created_by.username) == (
        "login",
        True,
        3,
        "adm.tanaka",
    )
    assert canned.created_at == tokyo(2026, 9, 1, 9, 0) and canned.updated_at == tokyo(2026, 9, 8, 9, 0)
    assert not CannedResponse.objects.get(title="旧案内（使わない）").active


def test_a_second_import_of_notes_and_canned_responses_changes_nothing(tmp_path):
    UserFactory(username="op.sato")
    path = _write(tmp_path, jsonl(INQUIRY, _canned(order=2, active=False), _note(), _note(author=None, body="二件目")))

    assert import_file(path) == "4 read, 4 created, 0 updated, 0 unchanged, 0 rejected"
    before = snapshot()
    events = AuditEvent.objects.count()

    assert import_file(path) == "4 read, 0 created, 0 updated, 4 unchanged, 0 rejected"
    assert snapshot() == before
    assert InquiryNote.objects.count() == 2 and CannedResponse.objects.count() == 1
    assert AuditEvent.objects.count() == events + 1  # the run's IMPORT only


def test_notes_and_canned_responses_alike_but_for_one_field_are_all_kept(tmp_path):
    # Nothing may be lost: the same text twice on one inquiry (at two times), the same text on
    # another inquiry, the same canned title written twice.
    other = {**INQUIRY, "ref": "EG-20261001-NOTE02"}
    lines = [
        INQUIRY,
        other,
        _note(),
        _note(created_at="2026-10-01T10:30:00.250001+09:00"),
        _note(inquiry={"ref": other["ref"]}),
        _note(body="別のメモ"),
        _canned(),
        _canned(created_at="2026-09-01T09:00:00.000001+09:00"),
        _canned(title="受付のお礼（英語）"),
    ]
    path = _write(tmp_path, jsonl(*lines))

    assert import_file(path) == "9 read, 9 created, 0 updated, 0 unchanged, 0 rejected"
    assert InquiryNote.objects.count() == 4 and CannedResponse.objects.count() == 3


# --- rejects ----------------------------------------------------------------------------------


def test_bad_note_and_canned_lines_are_rejected_with_their_line_and_reason(tmp_path):
    path = _write(
        tmp_path,
        jsonl(
            INQUIRY,  # 1
            _note(inquiry={"ref": "EG-NOWHERE"}, author="ghost.user"),  # 2 unknown inquiry
            _note(body=""),  # 3 empty text
            {k: v for k, v in _note().items() if k != "created_at"},  # 4 no time
            _note(created_at="2026-10-32T10:00"),  # 5 bad time
            {k: v for k, v in _note().items() if k != "inquiry"},  # 6 no inquiry
            _canned(order=-1),  # 7 not a positive order
            _canned(title="長" * 101),  # 8 title too long
            {k: v for k, v in _canned().items() if k != "title"},  # 9 no title
            _canned(active="yes"),  # 10 not a boolean
            _note(),  # 11 good
            _canned(),  # 12 good
        ),
    )

    assert import_file(path) == "12 read, 3 created, 0 updated, 0 unchanged, 9 rejected"
    rejects = dict(_rejects())
    assert rejects[2] == "inquiry_note: reference to unknown inquiry ref=EG-NOWHERE"
    assert rejects[3] == "inquiry_note: field 'body' must be a non-empty string"
    assert rejects[4] == "inquiry_note: missing field 'created_at'"
    assert rejects[5].startswith("inquiry_note: bad time in field 'created_at'")
    assert rejects[6] == "inquiry_note: missing field 'inquiry'"
    assert rejects[7].startswith("canned_response: invalid value: order")
    assert rejects[8].startswith("canned_response: invalid value: title")
    assert rejects[9] == "canned_response: missing field 'title'"
    assert rejects[10] == "canned_response: field 'active' must be true or false"
    assert sorted(rejects) == [2, 3, 4, 5, 6, 7, 8, 9, 10]
    assert InquiryNote.objects.get().body == "折り返し希望（午後）"
    assert CannedResponse.objects.get().title == "受付のお礼"
    # A reason never quotes a note's text (it is shown to staff who may not read it).
    assert not [r for r in ImportReject.objects.all() if "折り返し" in r.reason]
    # A user named by a deferred and finally rejected note is not created.
    assert not get_user_model().objects.filter(username="ghost.user").exists()


def test_a_note_before_its_inquiry_is_imported_after_it(tmp_path):
    path = _write(tmp_path, jsonl(_note(inquiry={"call_id": "c-7"}), _note(body="二件目"), INQUIRY))

    # The second note waits for its inquiry; the first one's never comes: rejected on the last pass.
    assert import_file(path) == "3 read, 2 created, 0 updated, 0 unchanged, 1 rejected"
    assert _rejects() == [(1, "inquiry_note: reference to unknown inquiry call_id=c-7")]
    assert InquiryNote.objects.get().body == "二件目"


# --- changes and the audit trail -------------------------------------------------------------


def test_reimport_after_local_changes_updates_and_audits_without_the_notes_text(full_dataset, tmp_path):
    path = _write(tmp_path, export_text())
    lines = len(path.read_text(encoding="utf-8").splitlines()) - 1
    note = InquiryNote.objects.get(body=NOTE_TEXT)
    InquiryNote.objects.filter(pk=note.pk).update(author=None)  # as when the account is deleted here
    canned = CannedResponse.objects.get(title="ログインできない（GビズID）")
    CannedResponse.objects.filter(pk=canned.pk).update(body="書き換え", active=False, order=9)

    report = import_file(path)

    assert report == f"{lines} read, 0 created, 2 updated, {lines - 2} unchanged, 0 rejected"
    assert InquiryNote.objects.get(pk=note.pk).author.username == "op.sato"
    canned.refresh_from_db()
    assert (canned.active, canned.order) == (True, 3) and canned.body.startswith("{citizen_name} 様")
    note_event = AuditEvent.objects.get(action=AuditEvent.Action.UPDATE, object_type="helpdesk.inquirynote")
    assert note_event.object_id == str(note.pk)
    assert note_event.changes == {"author": {"new": get_user_model().objects.get(username="op.sato").pk}}
    canned_event = AuditEvent.objects.get(action=AuditEvent.Action.UPDATE, object_type="helpdesk.cannedresponse")
    assert canned_event.changes == {"body": {"changed": True}, "active": {"new": True}, "order": {"new": 3}}
    for event in AuditEvent.objects.all():
        assert "確認済み" not in json.dumps(event.changes, ensure_ascii=False) + event.note


# --- the bulk importers --------------------------------------------------------------------


def test_runs_of_notes_and_canned_responses_go_through_their_bulk_importers(
    tmp_path, monkeypatch, django_assert_max_num_queries, settings
):
    settings.HELPDESK_HANDOVER_DEFER_INDEXES = False
    settings.HELPDESK_HANDOVER_PARSE_PROCESS = False  # the spies count in this process
    runs: list[tuple[str, int]] = []
    for type_name in ("inquiry_note", "canned_response"):
        record_type = registry.get_record_type(type_name)
        assert record_type is not None and record_type.bulk_importer is not None

        def spy(items, priors, ctx, _name=type_name, _bulk=record_type.bulk_importer):
            runs.append((_name, len(items)))
            return _bulk(items, priors, ctx)

        monkeypatch.setitem(registry._registry, type_name, dataclasses.replace(record_type, bulk_importer=spy))
    inquiries = [{**INQUIRY, "ref": f"EG-20261001-N{n:05d}"} for n in range(100)]
    notes = [
        _note(inquiry={"ref": i["ref"]}, author=f"op.{n % 5}", created_at=f"2026-10-01T10:{n % 60:02d}:00+09:00")
        for n, i in enumerate(inquiries)
    ]
    canned = [_canned(title=f"定型文{n}") for n in range(50)]
    path = _write(tmp_path, jsonl(*canned, *inquiries, *notes))

    with django_assert_max_num_queries(80):  # line by line, well over 1,000
        assert import_file(path) == "250 read, 250 created, 0 updated, 0 unchanged, 0 rejected"
    assert sorted(runs) == [("canned_response", 50), ("inquiry_note", 100)]
    assert InquiryNote.objects.count() == 100 and CannedResponse.objects.count() == 50
    assert {n.created_at.minute for n in InquiryNote.objects.all()} == set(range(60))
    with django_assert_max_num_queries(40):
        assert import_file(path) == "250 read, 0 created, 0 updated, 250 unchanged, 0 rejected"


def test_a_note_line_repeated_in_one_run_is_imported_as_the_row_path_does(tmp_path):
    InquiryFactory(ref=INQUIRY["ref"], received_at=tokyo(2026, 10, 1, 10))
    path = _write(tmp_path, jsonl(_note(), _note(author="sv.suzuki"), _canned(), _canned(order=4)))

    assert import_file(path) == "4 read, 2 created, 2 updated, 0 unchanged, 0 rejected"
    assert InquiryNote.objects.get().author.username == "sv.suzuki"  # the later line wins
    assert CannedResponse.objects.get().order == 4
    assert InquiryNote.objects.get().created_at == tokyo(2026, 10, 1, 10, 30) + dt.timedelta(microseconds=250000)
