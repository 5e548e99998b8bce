"""Reads of calls, mail, escalations, complaints and security incidents for the API."""

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from helpdesk.models import Call, Complaint, EmailMessage, Escalation, SecurityIncident


def call_list() -> QuerySet[Call]:
    return Call.objects.select_related("inquiry").order_by("-arrived_at", "-id")


def call_get(*, call_id: str) -> Call:
    return get_object_or_404(Call.objects.select_related("inquiry"), call_id=call_id)


def email_list() -> QuerySet[EmailMessage]:
    # `raw` can be megabytes per row: never loaded for a list.
    return (
        EmailMessage.objects.select_related("inquiry")
        .defer("raw", "body_text", "body_html", "references")
        .order_by("-received_at", "-id")
    )


def email_get(*, pk: int) -> EmailMessage:
    return get_object_or_404(
        EmailMessage.objects.select_related("inquiry").prefetch_related("attachments").defer("raw"), pk=pk
    )


def escalation_list() -> QuerySet[Escalation]:
    return Escalation.objects.select_related("inquiry", "escalated_by", "requested_by").order_by("-escalated_at", "-id")


def escalation_get(*, pk: int) -> Escalation:
    return get_object_or_404(escalation_list(), pk=pk)


def complaint_list() -> QuerySet[Complaint]:
    return Complaint.objects.select_related("inquiry", "recorded_by", "confirmed_by").order_by("-received_at", "-id")


def complaint_get(*, pk: int) -> Complaint:
    return get_object_or_404(complaint_list(), pk=pk)


def security_incident_list() -> QuerySet[SecurityIncident]:
    return SecurityIncident.objects.select_related("reported_by").order_by("-occurred_at", "-id")


def security_incident_get(*, pk: int) -> SecurityIncident:
    return get_object_or_404(security_incident_list(), pk=pk)
