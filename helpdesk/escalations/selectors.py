"""Reads on escalations."""

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from helpdesk.models import Escalation


def escalation_list() -> QuerySet[Escalation]:
    return Escalation.objects.select_related("inquiry", "escalated_by", "requested_by").order_by("-escalated_at", "-id")


def escalation_get(*, pk: int) -> Escalation:
    return get_object_or_404(escalation_list(), pk=pk)
