"""Reads on complaints."""

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from helpdesk.models import Complaint


def complaint_list() -> QuerySet[Complaint]:
    return Complaint.objects.select_related("inquiry", "recorded_by", "confirmed_by").order_by("-received_at", "-id")


def complaint_get(*, pk: int) -> Complaint:
    return get_object_or_404(complaint_list(), pk=pk)
