"""Escalation, complaint and incident rules enforced by the services themselves (not only
by the API): time ordering, and reasons for changes to what a contract figure counts."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from helpdesk.complaints.services import complaint_classify
from helpdesk.errors import PermissionDeniedError
from helpdesk.escalations.services import escalation_record_return
from helpdesk.incidents.services import security_incident_create, security_incident_update
from helpdesk.mail.uploads import mail_import_enqueue
from helpdesk.models import AuditEvent, Complaint, SecurityIncident
from tests.factories import ComplaintFactory, EscalationFactory, SecurityIncidentFactory, tokyo

pytestmark = pytest.mark.django_db


def test_escalation_answer_cannot_come_back_before_it_was_sent(supervisor):
    escalation = EscalationFactory()

    with pytest.raises(ValidationError) as err:
        escalation_record_return(
            escalation=escalation,
            actor=supervisor,
            answer="回答",
            returned_at=escalation.escalated_at - dt.timedelta(minutes=1),
        )

    assert "returned_at" in err.value.message_dict


def test_escalation_answer_must_not_be_blank(supervisor):
    with pytest.raises(ValidationError) as err:
        escalation_record_return(escalation=EscalationFactory(), actor=supervisor, answer="  ")

    assert "answer" in err.value.message_dict


def test_reclassifying_a_confirmed_complaint_needs_a_reason(supervisor):
    complaint = ComplaintFactory()
    complaint = complaint_classify(complaint=complaint, actor=supervisor, cause=Complaint.Cause.OPERATOR_ERROR)

    with pytest.raises(ValidationError) as err:
        complaint_classify(complaint=complaint, actor=supervisor, cause=Complaint.Cause.SYSTEM)
    assert "reason" in err.value.message_dict
    complaint.refresh_from_db()
    assert complaint.cause == Complaint.Cause.OPERATOR_ERROR

    complaint = complaint_classify(
        complaint=complaint, actor=supervisor, cause=Complaint.Cause.SYSTEM, reason="障害が原因と判明"
    )
    assert complaint.cause == Complaint.Cause.SYSTEM
    event = AuditEvent.objects.filter(object_type="helpdesk.complaint", action="update").latest("id")
    assert event.changes["cause"] == {"old": "operator_error", "new": "system"}
    assert event.changes["reason"] == "障害が原因と判明"


def test_confirming_the_same_cause_again_changes_nothing(supervisor):
    complaint = complaint_classify(complaint=ComplaintFactory(), actor=supervisor, cause=Complaint.Cause.POLICY)

    again = complaint_classify(complaint=complaint, actor=supervisor, cause=Complaint.Cause.POLICY)

    assert again.confirmed_at == complaint.confirmed_at
    assert AuditEvent.objects.filter(object_type="helpdesk.complaint", action="update").count() == 1


def test_incident_detected_before_it_occurred_is_refused_naming_the_field(admin_user):
    with pytest.raises(ValidationError) as err:
        security_incident_create(
            actor=admin_user,
            occurred_at=tokyo(2026, 10, 5, 14, 0),
            detected_at=tokyo(2026, 10, 5, 13, 0),
            severity=SecurityIncident.Severity.MINOR,
        )

    assert "detected_at" in err.value.message_dict


def test_incident_figures_change_only_with_a_reason(admin_user):
    incident = SecurityIncidentFactory()

    with pytest.raises(ValidationError) as err:
        security_incident_update(incident=incident, actor=admin_user, data={"severity": "major"})
    assert "reason" in err.value.message_dict
    with pytest.raises(ValidationError) as err:
        security_incident_update(
            incident=incident,
            actor=admin_user,
            data={"detected_at": incident.occurred_at - dt.timedelta(hours=1)},
            reason="検知時刻の訂正",
        )
    assert "detected_at" in err.value.message_dict

    security_incident_update(incident=incident, actor=admin_user, data={"severity": "major"}, reason="重大と判定")

    incident.refresh_from_db()
    assert incident.severity == "major"
    event = AuditEvent.objects.get(object_type="helpdesk.securityincident", action="update")
    assert event.changes == {"severity": {"old": "minor", "new": "major"}, "reason": "重大と判定"}


def test_mail_upload_is_for_supervisors(agent):
    with pytest.raises(PermissionDeniedError):
        mail_import_enqueue(uploads=[], created_by=agent)
