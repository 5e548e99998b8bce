"""Allow-listed filters of the email list."""

import django_filters as df

from helpdesk.api.filters import IsoDateTimeFilter
from helpdesk.models import EmailMessage


class EmailMessageFilter(df.FilterSet):
    direction = df.ChoiceFilter(choices=EmailMessage.Direction.choices)
    inquiry = df.CharFilter(field_name="inquiry__ref")
    received_after = IsoDateTimeFilter(field_name="received_at", lookup_expr="gte")
    received_before = IsoDateTimeFilter(field_name="received_at", lookup_expr="lt")

    class Meta:
        model = EmailMessage
        fields: list[str] = []
