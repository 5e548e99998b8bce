"""Allow-listed filters of the security incident list."""

import django_filters as df

from helpdesk.api.filters import IsoDateTimeFilter
from helpdesk.models import SecurityIncident


class SecurityIncidentFilter(df.FilterSet):
    severity = df.ChoiceFilter(choices=SecurityIncident.Severity.choices)
    kind = df.ChoiceFilter(choices=SecurityIncident.Kind.choices)
    occurred_after = IsoDateTimeFilter(field_name="occurred_at", lookup_expr="gte")
    occurred_before = IsoDateTimeFilter(field_name="occurred_at", lookup_expr="lt")

    class Meta:
        model = SecurityIncident
        fields: list[str] = []
