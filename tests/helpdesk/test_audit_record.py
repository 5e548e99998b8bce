"""What one audit row says of a correction: its reason in the changes and as the note."""

import pytest

from helpdesk.audit import audit_record
from helpdesk.models import AuditEvent
from tests.factories import ComplaintFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_a_corrections_reason_is_kept_in_the_changes_and_as_the_note():
    complaint = ComplaintFactory()
    event = audit_record(
        actor=UserFactory(),
        action=AuditEvent.Action.UPDATE,
        obj=complaint,
        changes={"cause": {"old": "operator_error", "new": "system"}},
        reason="  録音を確認  ",
    )
    event.refresh_from_db()
    assert event.changes == {"cause": {"old": "operator_error", "new": "system"}, "reason": "録音を確認"}
    assert event.note == "訂正: 録音を確認"


def test_a_given_note_is_kept_beside_the_reason_and_no_reason_adds_nothing():
    complaint = ComplaintFactory()
    with_note = audit_record(
        actor=None, action=AuditEvent.Action.UPDATE, obj=complaint, changes={}, reason="誤登録", note="一括訂正"
    )
    plain = audit_record(actor=None, action=AuditEvent.Action.UPDATE, obj=complaint, changes={"x": 1}, reason=" ")
    assert (with_note.note, with_note.changes) == ("一括訂正", {"reason": "誤登録"})
    assert (plain.note, plain.changes) == ("", {"x": 1})
