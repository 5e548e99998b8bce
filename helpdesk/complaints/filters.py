"""Allow-listed filters of the complaint list."""

import django_filters as df

from helpdesk.api.filters import InFilter, IsoDateTimeFilter
from helpdesk.models import Complaint


class ComplaintFilter(df.FilterSet):
    cause = InFilter(choices=Complaint.Cause.choices)
    inquiry = df.CharFilter(field_name="inquiry__ref")
    received_after = IsoDateTimeFilter(field_name="received_at", lookup_expr="gte")
    received_before = IsoDateTimeFilter(field_name="received_at", lookup_expr="lt")

    class Meta:
        model = Complaint
        fields: list[str] = []
