"""Invariants live in the database: each is checked through full_clean() and a raw write."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from helpdesk.audit import audit_record
from helpdesk.models import AuditEvent, Call, Complaint, Escalation, Inquiry, SecurityIncident
from tests.factories import (
    CallFactory,
    ComplaintFactory,
    EmailMessageFactory,
    EscalationFactory,
    InquiryFactory,
    SecurityIncidentFactory,
    tokyo,
)

pytestmark = pytest.mark.django_db


def _both_paths(instance, **changes):
    for field, value in changes.items():
        setattr(instance, field, value)
    with pytest.raises(ValidationError):
        instance.full_clean()
    with pytest.raises(IntegrityError), transaction.atomic():
        instance.save()


def test_call_id_is_unique():
    CallFactory(call_id="1658129428.1048")
    with pytest.raises(IntegrityError), transaction.atomic():
        CallFactory(call_id="1658129428.1048")


def test_call_cannot_end_before_it_arrived():
    call = CallFactory()
    _both_paths(call, ended_at=call.arrived_at - dt.timedelta(seconds=1))


def test_answered_call_needs_answer_time():
    call = CallFactory()
    _both_paths(call, answered_at=None)


def test_unanswered_call_cannot_have_answer_time():
    call = CallFactory(outcome=Call.Outcome.QUEUE_ABANDONED)
    _both_paths(call, answered_at=call.arrived_at + dt.timedelta(seconds=3))


def test_out_of_hours_call_is_never_in_service_hours():
    call = CallFactory(outcome=Call.Outcome.OUT_OF_HOURS)
    assert call.in_service_hours is False
    _both_paths(call, in_service_hours=True)


def test_unknown_call_outcome_is_refused():
    call = CallFactory()
    _both_paths(call, outcome="transferred")


def test_message_id_is_unique():
    EmailMessageFactory(message_id="<a@b>")
    with pytest.raises(IntegrityError), transaction.atomic():
        EmailMessageFactory(message_id="<a@b>")


def test_inquiry_answer_cannot_precede_receipt():
    inquiry = InquiryFactory()
    _both_paths(inquiry, first_answered_at=inquiry.received_at - dt.timedelta(minutes=1))


def test_inquiry_ref_is_unique():
    InquiryFactory(ref="EG-20261001-AAAAAA")
    with pytest.raises(IntegrityError), transaction.atomic():
        InquiryFactory(ref="EG-20261001-AAAAAA")


def test_only_phone_inquiries_link_a_call():
    inquiry = InquiryFactory(channel=Inquiry.Channel.EMAIL)
    _both_paths(inquiry, call=CallFactory())


def test_escalation_target_is_a_closed_set():
    escalation = EscalationFactory()
    _both_paths(escalation, target="ministry")


def test_escalation_cannot_return_before_it_left():
    escalation = EscalationFactory()
    _both_paths(escalation, returned_at=escalation.escalated_at - dt.timedelta(minutes=1))
    assert Escalation.Target.INTERNAL not in Escalation.EXTERNAL_TARGETS


def test_unconfirmed_complaint_carries_no_confirmation_time():
    complaint = ComplaintFactory(cause=Complaint.Cause.UNCONFIRMED)
    _both_paths(complaint, confirmed_at=tokyo(2026, 10, 2, 10, 0))


def test_a_cause_without_confirmation_time_is_allowed():
    # A handover file may carry a cause that was never confirmed (docs/handover.md); the KPI
    # does not count it until it is (kpi.metrics.complaint_count).
    complaint = ComplaintFactory(cause=Complaint.Cause.OPERATOR_ERROR, confirmed_at=None)
    complaint.full_clean()
    assert Complaint.objects.get(pk=complaint.pk).confirmed_at is None


def test_incident_detected_after_it_occurred():
    incident = SecurityIncidentFactory()
    _both_paths(incident, detected_at=tokyo(2026, 10, 1, 0, 0))
    assert SecurityIncident.Severity.MAJOR == "major"


@pytest.mark.db_owner  # the trigger holds even for the owner (the application role may not even try)
def test_audit_trail_is_append_only():
    event = audit_record(actor=None, action=AuditEvent.Action.CREATE, object_type="x", object_id="1")
    # IntegrityError on SQLite, InternalError on PostgreSQL: both refuse.
    with pytest.raises(Exception), transaction.atomic(), connection.cursor() as cursor:  # noqa: B017
        cursor.execute("UPDATE helpdesk_auditevent SET note = 'rewritten' WHERE id = %s", [event.pk])
    with pytest.raises(Exception), transaction.atomic(), connection.cursor() as cursor:  # noqa: B017
        cursor.execute("DELETE FROM helpdesk_auditevent WHERE id = %s", [event.pk])
    event.refresh_from_db()
    assert event.note == ""


def test_an_audit_row_without_its_chain_hash_is_refused():
    # Only audit_record writes the trail: a row inserted around it has no hash to chain.
    with pytest.raises(IntegrityError), transaction.atomic():
        AuditEvent.objects.create(action=AuditEvent.Action.CREATE, object_type="x", object_id="1")
