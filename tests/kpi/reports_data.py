"""A realistic half-year for report tests: calls, mail, handovers, complaints, incidents."""

import datetime as dt

from helpdesk.models import Call, Complaint, Escalation, Inquiry, SecurityIncident
from tests.factories import CallFactory, ComplaintFactory, EscalationFactory, SecurityIncidentFactory, tokyo
from tests.factories.kpi import email_inquiry

# month → (answered, abandoned, email answer hours, complaints, major incidents)
PLAN = {
    (2026, 4): (8, 2, 5, 0, 0),  # semi-busy: 80 % meets 70 %
    (2026, 5): (7, 3, 30, 1, 0),  # semi-busy: 70 % meets; email 30 h fails
    (2026, 6): (6, 4, 3, 15, 0),  # busy: 60 % fails; 15 complaints fail (and AHT with them)
    (2026, 7): (9, 1, 2, 0, 1),  # a major incident
    (2026, 8): (9, 1, 4, 0, 0),
    (2026, 9): (8, 2, 6, 0, 0),  # normal: 80 % fails 90 %
    (2026, 10): (19, 1, 4.15, 1, 0),
}


def build_report_months():
    for (y, m), (answered, abandoned, hours, complaints, incidents) in PLAN.items():
        day = tokyo(y, m, 8, 10)
        CallFactory.create_batch(answered, arrived_at=day, acw_seconds=60)
        CallFactory.create_batch(abandoned, arrived_at=day, outcome=Call.Outcome.QUEUE_TIMEOUT)
        inq = email_inquiry(day, dt.timedelta(hours=hours))
        email_inquiry(day, dt.timedelta(hours=hours), channel=Inquiry.Channel.FORM)
        EscalationFactory(inquiry=inq, target=Escalation.Target.OPERATIONS_VENDOR)
        for _ in range(complaints):
            ComplaintFactory(inquiry=inq, received_at=day, cause=Complaint.Cause.OPERATOR_ERROR)
        for _ in range(incidents):
            SecurityIncidentFactory(occurred_at=day, severity=SecurityIncident.Severity.MAJOR)
