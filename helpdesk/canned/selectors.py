"""Reads of canned responses for the desk's reply box."""

from django.db.models import Case, IntegerField, QuerySet, Value, When

from helpdesk.models import CannedResponse, Inquiry


def canned_responses_for(*, inquiry: Inquiry | None) -> QuerySet[CannedResponse]:
    """Active canned responses, those of the inquiry's category first (one query)."""
    rows = CannedResponse.objects.filter(active=True)
    category = getattr(inquiry, "category", "") or ""
    if category:
        rows = rows.annotate(
            _fit=Case(When(category=category, then=Value(0)), default=Value(1), output_field=IntegerField())
        ).order_by("_fit", "order", "title", "id")
    return rows
