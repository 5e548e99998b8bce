"""Reads of inquiries. The list query joins what every row shows (assignee) so an API
page costs the same number of queries whatever its size."""

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from helpdesk.models import Inquiry
from helpdesk.search import text_search_q

SEARCH_FIELDS = ("search_text",)


# The columns a row of the list shows (helpdesk.inquiries.serializers.InquiryListSerializer)
# and its cursor orders by: not the body, the search text and the rest of the record, nor the
# assignee's password hash — a third less to read, decode and build per row.
LIST_COLUMNS = (
    "id",
    "ref",
    "channel",
    "status",
    "category",
    "subject",
    "requester_name",
    "requester_email",
    "requester_phone",
    "assigned_to__id",
    "assigned_to__username",
    "received_at",
    "first_answered_at",
    "wrapup_completed_at",
    "resolved_at",
    "version",
)


def inquiry_list(*, user=None) -> QuerySet[Inquiry]:
    """Base queryset of the inquiry list; filtering is the FilterSet's job (helpdesk.api.filters).
    Staff operators see every inquiry: the center works one shared queue."""
    return Inquiry.objects.select_related("assigned_to").only(*LIST_COLUMNS).order_by("-received_at", "-id")


# What one row of the list is read as (`inquiry_list_rows`): the same columns as plain values —
# building 50 model instances (and their assignees) cost more CPU than reading the rows. The
# assignee's id is the row's own column, not the joined user's.
LIST_VALUES = tuple("assigned_to_id" if column == "assigned_to__id" else column for column in LIST_COLUMNS)


def inquiry_list_rows(*, queryset: QuerySet[Inquiry]) -> QuerySet:
    """The (filtered) list queryset read as dicts of LIST_VALUES, which
    InquiryListSerializer turns into the API's rows; the cursor paginator orders and slices it
    as it would the model queryset."""
    return queryset.values(*LIST_VALUES)


def inquiry_search(*, queryset: QuerySet[Inquiry], q: str) -> QuerySet[Inquiry]:
    return queryset.filter(text_search_q(q, SEARCH_FIELDS))


def inquiry_get(*, ref: str) -> Inquiry:
    """One inquiry with what its detail shows (assignee, call); 404 if there is none."""
    return get_object_or_404(Inquiry.objects.select_related("assigned_to", "call"), ref=ref)


def inquiry_get_or_none(*, ref: str) -> Inquiry | None:
    return Inquiry.objects.select_related("call").filter(ref=ref).first()


def inquiry_by_idempotency_key(*, user, key: str) -> Inquiry | None:
    return (
        # What the detail record shows beside the row (the source mail only by its id: its
        # raw message is never read here — every create looks its key up first).
        Inquiry.objects.select_related("assigned_to", "call").filter(created_by=user, idempotency_key=key).first()
    )
