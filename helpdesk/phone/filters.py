"""Allow-listed filters of the call list."""

import django_filters as df

from helpdesk.api.filters import InFilter, IsoDateTimeFilter
from helpdesk.models import Call


class CallFilter(df.FilterSet):
    outcome = InFilter(choices=Call.Outcome.choices)
    agent = df.CharFilter(field_name="agent", help_text="PBXのエージェントログイン名")
    queue = df.CharFilter(field_name="queue")
    arrived_after = IsoDateTimeFilter(field_name="arrived_at", lookup_expr="gte")
    arrived_before = IsoDateTimeFilter(field_name="arrived_at", lookup_expr="lt")

    class Meta:
        model = Call
        fields: list[str] = []
