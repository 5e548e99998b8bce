"""The rules that used to live in API serializers and views, enforced by the services when
called directly — as the admin, pages, commands and tasks call them."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from helpdesk.errors import InvalidTransitionError, PermissionDeniedError
from helpdesk.inquiries.services import (
    inquiry_assign,
    inquiry_complete_wrapup,
    inquiry_correct,
    inquiry_create,
    inquiry_create_idempotent,
    inquiry_mark_first_answer,
    inquiry_update,
)
from helpdesk.models import AuditEvent, Inquiry
from tests.factories import CallFactory, InquiryFactory, PhoneInquiryFactory, tokyo

pytestmark = pytest.mark.django_db


# --- creation ------------------------------------------------------------------------------


def test_a_call_carries_one_inquiry_only(agent):
    logged = PhoneInquiryFactory()

    with pytest.raises(ValidationError) as err:
        inquiry_create(channel="phone", call=logged.call, created_by=agent)

    assert "call" in err.value.message_dict
    assert Inquiry.objects.count() == 1


def test_a_call_is_only_for_a_phone_inquiry(agent):
    with pytest.raises(ValidationError) as err:
        inquiry_create(channel="email", call=CallFactory(), created_by=agent)

    assert "call" in err.value.message_dict


def test_only_staff_operators_can_be_assignees_of_a_new_inquiry(agent, reviewer):
    with pytest.raises(ValidationError) as err:
        inquiry_create(channel="form", created_by=agent, assigned_to=reviewer)

    assert "assigned_to" in err.value.message_dict
    assert not Inquiry.objects.exists()


def test_idempotent_create_returns_the_stored_inquiry_for_a_retry(agent, other_agent):
    first, replayed_first = inquiry_create_idempotent(created_by=agent, idempotency_key="k-1", channel="form")
    again, replayed_again = inquiry_create_idempotent(
        created_by=agent, idempotency_key="k-1", channel="email", subject="違う内容"
    )
    theirs, _ = inquiry_create_idempotent(created_by=other_agent, idempotency_key="k-1", channel="form")

    assert (replayed_first, replayed_again) == (False, True)
    assert again.pk == first.pk and again.channel == "form"
    assert theirs.pk != first.pk  # keys are scoped to the user


def test_idempotency_key_longer_than_128_characters_is_refused(agent):
    with pytest.raises(ValidationError) as err:
        inquiry_create_idempotent(created_by=agent, idempotency_key="k" * 129, channel="form")

    assert "Idempotency-Key" in err.value.message_dict


# --- assignment and wrap-up -------------------------------------------------------------------


def test_a_reviewer_cannot_be_assigned_even_by_a_supervisor(supervisor, reviewer):
    inquiry = InquiryFactory()

    with pytest.raises(ValidationError) as err:
        inquiry_assign(inquiry=inquiry, actor=supervisor, assignee=reviewer)

    assert "assignee" in err.value.message_dict
    inquiry.refresh_from_db()
    assert inquiry.assigned_to is None and inquiry.version == 1


def test_wrapup_only_for_a_phone_inquiry_with_a_call(agent):
    inquiry = InquiryFactory(channel="email")

    with pytest.raises(InvalidTransitionError):
        inquiry_complete_wrapup(inquiry=inquiry, actor=agent)

    inquiry.refresh_from_db()
    assert inquiry.wrapup_completed_at is None and inquiry.version == 1


def test_assign_audit_row_names_old_and_new_assignee(agent):
    inquiry = inquiry_assign(inquiry=InquiryFactory(), actor=agent, assignee=agent)

    event = AuditEvent.objects.get(action="update", object_id=inquiry.ref)
    assert event.changes == {"assigned_to": {"old": None, "new": agent.pk}}
    assert inquiry.version == 2


# --- every write bumps the version and leaves an audit row ------------------------------------


def test_first_answer_bumps_the_version_and_is_audited():
    inquiry = InquiryFactory(received_at=tokyo(2026, 10, 1, 10, 0))

    assert inquiry_mark_first_answer(inquiry=inquiry, at=tokyo(2026, 10, 1, 12, 0)) is True
    assert inquiry_mark_first_answer(inquiry=inquiry, at=tokyo(2026, 10, 1, 13, 0)) is False  # later: kept
    assert inquiry_mark_first_answer(inquiry=inquiry, at=tokyo(2026, 10, 1, 11, 0)) is True  # earlier: wins

    inquiry.refresh_from_db()
    assert inquiry.first_answered_at == tokyo(2026, 10, 1, 11, 0)
    assert inquiry.version == 3
    events = AuditEvent.objects.filter(action="update", object_id=inquiry.ref).order_by("id")
    assert [e.changes["first_answered_at"]["new"] for e in events] == [
        tokyo(2026, 10, 1, 12, 0).isoformat(),
        tokyo(2026, 10, 1, 11, 0).isoformat(),
    ]


# --- fields that feed a contract figure -------------------------------------------------------


def test_ministry_guidance_changes_only_with_a_reason(agent):
    inquiry = InquiryFactory()

    with pytest.raises(ValidationError) as err:
        inquiry_update(inquiry=inquiry, actor=agent, data={"ministry_guidance": True}, expected_version=1)
    assert "reason" in err.value.message_dict

    updated = inquiry_update(
        inquiry=inquiry,
        actor=agent,
        data={"ministry_guidance": True},
        expected_version=1,
        reason="所管府省の窓口を案内した記録漏れ",
    )
    assert updated.ministry_guidance is True and updated.version == 2
    event = AuditEvent.objects.get(action="update", object_id=inquiry.ref)
    assert event.changes["ministry_guidance"] == {"old": False, "new": True}
    assert event.changes["reason"] == "所管府省の窓口を案内した記録漏れ"
    assert "記録漏れ" in event.note


def test_correction_is_for_supervisors_needs_a_reason_and_is_audited(agent, supervisor):
    inquiry = PhoneInquiryFactory()
    inquiry_complete_wrapup(inquiry=inquiry, actor=agent, at=inquiry.received_at + dt.timedelta(minutes=5))
    later = inquiry.received_at + dt.timedelta(minutes=12)

    with pytest.raises(PermissionDeniedError):
        inquiry_correct(inquiry=inquiry, actor=agent, data={"wrapup_completed_at": later}, reason="訂正")
    with pytest.raises(ValidationError) as err:
        inquiry_correct(inquiry=inquiry, actor=supervisor, data={"wrapup_completed_at": later}, reason="  ")
    assert "reason" in err.value.message_dict

    corrected = inquiry_correct(
        inquiry=inquiry, actor=supervisor, data={"wrapup_completed_at": later}, reason="後処理の打刻漏れ"
    )

    assert corrected.wrapup_completed_at == later and corrected.version == 3
    event = AuditEvent.objects.filter(action="update", object_id=inquiry.ref).latest("id")
    assert event.actor == supervisor
    assert event.changes["wrapup_completed_at"]["new"] == later.isoformat()
    assert event.changes["reason"] == "後処理の打刻漏れ"


def test_correction_keeps_the_model_rules(supervisor):
    inquiry = InquiryFactory(received_at=tokyo(2026, 10, 1, 10, 0))

    with pytest.raises(ValidationError) as err:
        inquiry_correct(
            inquiry=inquiry,
            actor=supervisor,
            data={"first_answered_at": tokyo(2026, 10, 1, 9, 0)},
            reason="回答時刻の訂正",
        )
    assert "first_answered_at" in err.value.message_dict
    with pytest.raises(ValidationError) as err:
        inquiry_correct(inquiry=inquiry, actor=supervisor, data={"subject": "件名"}, reason="訂正")
    assert "subject" in err.value.message_dict
    inquiry.refresh_from_db()
    assert inquiry.version == 1
