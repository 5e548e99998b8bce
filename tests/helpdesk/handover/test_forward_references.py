"""Records may refer to inquiries, calls and emails that come later in the file."""

import pytest

from helpdesk.models import Complaint, EmailMessage, Escalation, ImportReject, Inquiry
from tests.helpdesk.handover.conftest import import_file, jsonl

pytestmark = pytest.mark.django_db

RAW = "TWVzc2FnZS1JRDogPG0xQHguanA+DQoNCmJvZHkNCg=="


def test_records_before_what_they_refer_to_are_imported(tmp_path):
    path = tmp_path / "f.jsonl"
    path.write_text(
        jsonl(
            {  # refers by call_id to an inquiry whose line and call come later
                "type": "escalation",
                "inquiry": {"call_id": "c-9"},
                "target": "operations_vendor",
                "escalated_at": "2026-10-01T10:10:00+09:00",
            },
            {  # refers by message_id to the email inquiry opened by a later message
                "type": "complaint",
                "inquiry": {"message_id": "<m1@x.jp>"},
                "received_at": "2026-10-02T10:00:00+09:00",
            },
            {  # a reply linked to an inquiry that comes later
                "type": "email",
                "message_id": "<r1@center.jp>",
                "direction": "outbound",
                "inquiry": {"ref": "EG-20261001-MAIL01"},
                "sent_at": "2026-10-01T12:00:00+09:00",
                "raw": RAW,
            },
            {
                "type": "inquiry",
                "ref": "EG-20261001-PHON01",
                "channel": "phone",
                "received_at": "2026-10-01T10:00:00+09:00",
                "call_id": "c-9",
            },
            {
                "type": "inquiry",
                "ref": "EG-20261001-MAIL01",
                "channel": "email",
                "received_at": "2026-10-01T11:00:00+09:00",
                "message_id": "<m1@x.jp>",
            },
            {
                "type": "call",
                "call_id": "c-9",
                "arrived_at": "2026-10-01T10:00:00+09:00",
                "outcome": "answered",
                "answered_at": "2026-10-01T10:00:10+09:00",
                "ended_at": "2026-10-01T10:08:00+09:00",
            },
            {
                "type": "email",
                "message_id": "<m1@x.jp>",
                "direction": "inbound",
                "received_at": "2026-10-01T11:00:00+09:00",
                "raw": RAW,
            },
        ),
        encoding="utf-8",
    )

    assert import_file(path) == "7 read, 7 created, 0 updated, 0 unchanged, 0 rejected"
    assert Escalation.objects.get().inquiry.ref == "EG-20261001-PHON01"
    assert Complaint.objects.get().inquiry.ref == "EG-20261001-MAIL01"
    mail = Inquiry.objects.get(ref="EG-20261001-MAIL01")
    assert mail.source_message.message_id == "<m1@x.jp>"
    assert set(mail.messages.values_list("message_id", flat=True)) == {"<m1@x.jp>", "<r1@center.jp>"}
    assert Inquiry.objects.get(ref="EG-20261001-PHON01").call.call_id == "c-9"

    assert import_file(path) == "7 read, 0 created, 0 updated, 7 unchanged, 0 rejected"


def test_reference_that_never_resolves_is_rejected_after_the_rest(tmp_path):
    path = tmp_path / "f.jsonl"
    path.write_text(
        jsonl(
            {
                "type": "email",
                "message_id": "<r2@center.jp>",
                "direction": "outbound",
                "inquiry": {"ref": "EG-GONE"},
                "raw": RAW,
            },
            {
                "type": "inquiry",
                "ref": "EG-20261001-PHON02",
                "channel": "phone",
                "received_at": "2026-10-01T10:00:00+09:00",
                "call_id": "c-missing",
            },
            {
                "type": "escalation",
                "inquiry": {"ref": "EG-20261001-PHON02"},
                "target": "internal",
                "escalated_at": "2026-10-01T10:10:00+09:00",
            },
        ),
        encoding="utf-8",
    )

    assert import_file(path) == "3 read, 0 created, 0 updated, 0 unchanged, 3 rejected"
    assert [(r.line, r.reason) for r in ImportReject.objects.order_by("line")] == [
        (1, "email: reference to unknown inquiry ref=EG-GONE"),
        (2, "inquiry: reference to unknown call call_id=c-missing"),
        (3, "escalation: reference to unknown inquiry ref=EG-20261001-PHON02"),
    ]
    # the message itself is kept (lossless), only its link to the inquiry is rejected
    assert EmailMessage.objects.get().inquiry is None
    assert not Inquiry.objects.exists()


def test_the_spool_gives_back_each_deferred_line_as_it_was_read(db):
    import tempfile

    from helpdesk.handover.services import _Importer, _spool_entries
    from helpdesk.imports.services import import_run_start
    from helpdesk.models import ImportRun

    # Given lines deferred with and without a prior outcome, one holding a carriage return
    # and non-ASCII text, one empty-looking
    importer = _Importer(run=import_run_start(kind=ImportRun.Kind.RECORDS, source_name="x"), source_name="x")
    lines = [
        (3, 120, '{"type":"email","subject":"受付\\r 12 34"}'.encode(), None),
        (7, 4096, b'{"type":"escalation","note":"a\rb"}', "created"),
        (9, 5000, b"{}", "updated"),
    ]
    for line, offset, raw, prior in lines:
        importer.defer(line=line, offset=offset, prior=prior, raw=raw)

    # When they are spooled and read back
    with tempfile.TemporaryFile() as spool:
        for record in importer.stage.defers:
            spool.write(record)
        spool.seek(0)
        back = list(_spool_entries(spool))

    # Then each comes back with its number, offset, bytes and prior outcome
    assert back == lines
