"""Allow-listed filters of the escalation list."""

import django_filters as df

from helpdesk.api.filters import InFilter, IsoDateTimeFilter
from helpdesk.models import Escalation


class EscalationFilter(df.FilterSet):
    target = InFilter(choices=Escalation.Target.choices)
    inquiry = df.CharFilter(field_name="inquiry__ref", help_text="問い合わせ番号 EG-…")
    returned = df.BooleanFilter(field_name="returned_at", lookup_expr="isnull", exclude=True, help_text="回答済みか")
    escalated_after = IsoDateTimeFilter(field_name="escalated_at", lookup_expr="gte")
    escalated_before = IsoDateTimeFilter(field_name="escalated_at", lookup_expr="lt")

    class Meta:
        model = Escalation
        fields: list[str] = []
