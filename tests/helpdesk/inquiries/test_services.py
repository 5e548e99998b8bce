import pytest
from django.utils import timezone

from helpdesk.errors import ConflictError, InvalidTransitionError, PermissionDeniedError
from helpdesk.inquiries.services import (
    inquiry_assign,
    inquiry_complete_wrapup,
    inquiry_create,
    inquiry_mark_first_answer,
    inquiry_transition,
    inquiry_update,
)
from helpdesk.models import AuditEvent, Inquiry
from tests.factories import CallFactory, InquiryFactory, tokyo

pytestmark = pytest.mark.django_db


def test_create_gives_a_reference_and_an_audit_row(agent):
    inquiry = inquiry_create(
        channel="email", subject="申請方法", created_by=agent, received_at=tokyo(2026, 10, 1, 9, 0)
    )
    assert inquiry.ref.startswith("EG-20261001-") and len(inquiry.ref) == len("EG-20261001-") + 6
    event = AuditEvent.objects.get(object_id=inquiry.ref)
    assert event.action == AuditEvent.Action.CREATE and event.actor == agent


def test_phone_inquiry_takes_the_call_arrival_as_received_time(agent):
    call = CallFactory(arrived_at=tokyo(2026, 10, 2, 11, 0))
    inquiry = inquiry_create(channel="phone", call=call, created_by=agent)
    assert inquiry.received_at == call.arrived_at


def test_stale_update_is_a_conflict_not_an_overwrite(agent, other_agent):
    inquiry = InquiryFactory(subject="original")
    inquiry_update(inquiry=inquiry, actor=agent, data={"subject": "first"}, expected_version=1)
    with pytest.raises(ConflictError) as err:
        inquiry_update(inquiry=inquiry, actor=other_agent, data={"subject": "second"}, expected_version=1)
    assert err.value.extra == {"current_version": 2, "your_version": 1}
    inquiry.refresh_from_db()
    assert (inquiry.subject, inquiry.version) == ("first", 2)


def test_update_audit_row_never_copies_personal_information(agent):
    inquiry = InquiryFactory(requester_name="山田 太郎")
    inquiry_update(
        inquiry=inquiry, actor=agent, data={"requester_name": "山田 花子", "category": "gbizid"}, expected_version=1
    )
    event = AuditEvent.objects.filter(action=AuditEvent.Action.UPDATE).get()
    assert event.changes["requester_name"] == {"changed": True}
    assert event.changes["category"] == {"old": "send_error", "new": "gbizid"}
    assert "花子" not in str(event.changes)


def test_reviewer_cannot_update(reviewer):
    with pytest.raises(PermissionDeniedError):
        inquiry_update(inquiry=InquiryFactory(), actor=reviewer, data={"subject": "x"}, expected_version=None)


def test_transitions_follow_the_workflow(agent):
    inquiry = InquiryFactory()
    inquiry = inquiry_transition(inquiry=inquiry, actor=agent, status=Inquiry.Status.RESOLVED)
    assert inquiry.resolved_at is not None
    with pytest.raises(InvalidTransitionError):
        inquiry_transition(inquiry=inquiry, actor=agent, status=Inquiry.Status.NEW)
    reopened = inquiry_transition(inquiry=inquiry, actor=agent, status=Inquiry.Status.IN_PROGRESS)
    assert reopened.resolved_at is None and reopened.version == 3


def test_agents_take_inquiries_only_for_themselves(agent, other_agent, supervisor):
    inquiry = InquiryFactory()
    inquiry = inquiry_assign(inquiry=inquiry, actor=agent, assignee=agent)
    with pytest.raises(PermissionDeniedError):
        inquiry_assign(inquiry=inquiry, actor=agent, assignee=other_agent)
    inquiry = inquiry_assign(inquiry=inquiry, actor=supervisor, assignee=other_agent)
    assert inquiry.assigned_to == other_agent


def test_wrapup_completes_once(agent):
    inquiry = InquiryFactory(channel="phone", call=CallFactory())
    first = inquiry_complete_wrapup(inquiry=inquiry, actor=agent, at=tokyo(2026, 10, 1, 10, 10))
    again = inquiry_complete_wrapup(inquiry=inquiry, actor=agent, at=tokyo(2026, 10, 1, 11, 0))
    assert first.wrapup_completed_at == again.wrapup_completed_at == tokyo(2026, 10, 1, 10, 10)


def test_first_answer_keeps_the_earliest():
    inquiry = InquiryFactory()
    assert inquiry_mark_first_answer(inquiry=inquiry, at=tokyo(2026, 10, 1, 15, 0))
    assert inquiry_mark_first_answer(inquiry=inquiry, at=tokyo(2026, 10, 1, 12, 0))
    assert not inquiry_mark_first_answer(inquiry=inquiry, at=tokyo(2026, 10, 1, 13, 0))
    inquiry.refresh_from_db()
    assert inquiry.first_answered_at == tokyo(2026, 10, 1, 12, 0)
    assert timezone.is_aware(inquiry.first_answered_at)


def test_create_refuses_times_out_of_order_naming_the_field(agent, django_assert_max_num_queries):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as err:
        inquiry_create(
            channel="email",
            received_at=tokyo(2026, 10, 1, 9, 0),
            first_answered_at=tokyo(2026, 10, 1, 8, 59),
            created_by=agent,
        )
    assert set(err.value.message_dict) == {"first_answered_at"}
    with pytest.raises(ValidationError) as err:
        inquiry_create(channel="email", call=CallFactory(), created_by=agent)
    assert set(err.value.message_dict) == {"call"}
    # The constraints are checked without a SELECT each: insert + audit row (+ savepoints; the
    # audit chain's lock and head).
    with django_assert_max_num_queries(7):
        inquiry_create(channel="email", received_at=tokyo(2026, 10, 1, 9, 0), created_by=agent)
