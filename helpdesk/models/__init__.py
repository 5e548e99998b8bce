from helpdesk.models.agents import AgentProfile, Role
from helpdesk.models.asterisk import AsteriskCdr, AsteriskQueueEvent
from helpdesk.models.audit import AuditEvent
from helpdesk.models.calendar import CalendarDay, ServiceHours
from helpdesk.models.calls import Call
from helpdesk.models.complaints import Complaint
from helpdesk.models.escalations import Escalation
from helpdesk.models.imports import ImportReject, ImportRun
from helpdesk.models.incidents import SecurityIncident
from helpdesk.models.inquiries import Inquiry
from helpdesk.models.mail import Attachment, EmailMessage, ImapMailbox, ImapReceipt, MailReference
from helpdesk.models.notes import InquiryNote

__all__ = [
    "AgentProfile",
    "AsteriskCdr",
    "AsteriskQueueEvent",
    "Attachment",
    "AuditEvent",
    "CalendarDay",
    "Call",
    "Complaint",
    "EmailMessage",
    "ImapMailbox",
    "ImapReceipt",
    "Escalation",
    "ImportReject",
    "ImportRun",
    "Inquiry",
    "InquiryNote",
    "MailReference",
    "Role",
    "SecurityIncident",
    "ServiceHours",
]
