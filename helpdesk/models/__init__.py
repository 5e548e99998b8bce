from helpdesk.models.agents import AgentProfile, Role
from helpdesk.models.asterisk import AsteriskCdr, AsteriskQueueEvent
from helpdesk.models.audit import AuditEvent
from helpdesk.models.calendar import CalendarDay, ServiceHours
from helpdesk.models.calls import Call
from helpdesk.models.canned import CannedResponse
from helpdesk.models.complaints import Complaint
from helpdesk.models.escalations import Escalation
from helpdesk.models.imports import DeferredIndex, ImportReject, ImportRun
from helpdesk.models.incidents import SecurityIncident
from helpdesk.models.inquiries import Inquiry
from helpdesk.models.mail import Attachment, EmailMessage, ImapMailbox, ImapReceipt, MailReference
from helpdesk.models.notes import InquiryNote
from helpdesk.models.notifications import Notification, NotificationPreference

__all__ = [
    "AgentProfile",
    "AsteriskCdr",
    "AsteriskQueueEvent",
    "Attachment",
    "AuditEvent",
    "CalendarDay",
    "Call",
    "CannedResponse",
    "Complaint",
    "DeferredIndex",
    "EmailMessage",
    "ImapMailbox",
    "ImapReceipt",
    "Escalation",
    "ImportReject",
    "ImportRun",
    "Inquiry",
    "InquiryNote",
    "MailReference",
    "Notification",
    "NotificationPreference",
    "Role",
    "SecurityIncident",
    "ServiceHours",
]
