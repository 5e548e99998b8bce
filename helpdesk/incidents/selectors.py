"""Reads on security incidents."""

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from helpdesk.models import SecurityIncident


def security_incident_list() -> QuerySet[SecurityIncident]:
    return SecurityIncident.objects.select_related("reported_by").order_by("-occurred_at", "-id")


def security_incident_get(*, pk: int) -> SecurityIncident:
    return get_object_or_404(security_incident_list(), pk=pk)
