"""escalation_forward: a supervisor takes an agent's request outside the contractor."""

import pytest
from django.core.exceptions import ValidationError

from helpdesk.errors import ApplicationError, PermissionDeniedError
from helpdesk.escalations.services import escalation_forward
from helpdesk.models import AuditEvent, Escalation, Inquiry
from tests.factories import EscalationFactory, InquiryFactory, tokyo

pytestmark = pytest.mark.django_db


@pytest.fixture
def request_(agent):
    inquiry = InquiryFactory(received_at=tokyo(2026, 10, 1, 9), status=Inquiry.Status.ESCALATED)
    return EscalationFactory(
        inquiry=inquiry, target=Escalation.Target.INTERNAL, requested_by=agent, escalated_at=tokyo(2026, 10, 1, 10)
    )


def test_the_handover_is_created_and_the_request_answered_with_where_it_went(request_, supervisor):
    handover = escalation_forward(
        request=request_, actor=supervisor, target="responsible_section_designee", organization="委託先B"
    )
    assert handover.target == "responsible_section_designee" and handover.escalated_by == supervisor
    request_.refresh_from_db()
    assert request_.returned_at is not None
    assert request_.answer == "主管係が指定する者（委託先B）へエスカレーションしました。"
    request_.inquiry.refresh_from_db()
    assert request_.inquiry.status == Inquiry.Status.ESCALATED  # waits for the outside answer
    assert AuditEvent.objects.filter(object_type__icontains="escalation").count() >= 2


def test_only_a_supervisor_forwards(request_, agent):
    with pytest.raises(PermissionDeniedError):
        escalation_forward(request=request_, actor=agent, target="responsible_section")
    assert Escalation.objects.count() == 1


def test_forwarding_inside_or_forwarding_a_handover_is_refused(request_, supervisor):
    with pytest.raises(ValidationError):
        escalation_forward(request=request_, actor=supervisor, target="internal")
    handover = EscalationFactory(inquiry=request_.inquiry)
    with pytest.raises(ApplicationError):
        escalation_forward(request=handover, actor=supervisor, target="operations_vendor")
