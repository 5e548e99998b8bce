"""Allow-listed filters of the drill-down endpoints (never raw request parameters)."""

import datetime as dt
from typing import Any

import django_filters as df
from django.db.models import QuerySet

from helpdesk.clock import TOKYO
from helpdesk.models import Call, Complaint, Escalation, Inquiry, SecurityIncident
from kpi import metrics


def _tokyo_day(queryset: QuerySet[Any], field: str, day: dt.date) -> QuerySet[Any]:
    start = dt.datetime.combine(day, dt.time(0), TOKYO)
    return queryset.filter(**{f"{field}__gte": start, f"{field}__lt": start + dt.timedelta(days=1)})


class AbandonedCallFilter(df.FilterSet):
    reason = df.ChoiceFilter(
        field_name="outcome",
        choices=[(o.value, o.label) for o in (Call.Outcome.IVR_ABANDONED, *Call.QUEUE_ABANDON_OUTCOMES)],
    )
    kind = df.ChoiceFilter(choices=[("ivr", "IVR放棄"), ("queue", "応答待ち放棄")], method="filter_kind")
    date = df.DateFilter(method="filter_date", help_text="Tokyo date of arrival")
    queue = df.CharFilter(field_name="queue")

    class Meta:
        model = Call
        fields: list[str] = []

    def filter_kind(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        if value == "ivr":
            return queryset.filter(outcome=Call.Outcome.IVR_ABANDONED)
        return queryset.filter(outcome__in=Call.QUEUE_ABANDON_OUTCOMES)

    def filter_date(self, queryset: QuerySet[Any], name: str, value: dt.date) -> QuerySet[Any]:
        return _tokyo_day(queryset, "arrived_at", value)


class AnsweredCallFilter(df.FilterSet):
    missing_wrapup = df.BooleanFilter(field_name="missing_wrapup", help_text="wrap-up never completed")
    acw_capped = df.BooleanFilter(field_name="acw_capped", help_text="wrap-up later than the next call / the limit")
    acw_source = df.ChoiceFilter(
        field_name="acw_end_s",
        choices=[
            ("pbx", "PBX"),
            ("wrapup", "ラップアップ"),
            ("next_call", "次の応答"),
            ("limit", "上限"),
        ],
    )
    min_handle_seconds = df.NumberFilter(field_name="handle_s", lookup_expr="gte")
    agent = df.CharFilter(field_name="agent")
    date = df.DateFilter(method="filter_date")

    class Meta:
        model = Call
        fields: list[str] = []

    def filter_date(self, queryset: QuerySet[Any], name: str, value: dt.date) -> QuerySet[Any]:
        return _tokyo_day(queryset, "arrived_at", value)


class EmailDrillFilter(df.FilterSet):
    state = df.ChoiceFilter(
        choices=[("answered", "回答済"), ("unanswered", "未回答"), ("excluded", "主管係へ引継ぎ（対象外）")],
        method="filter_state",
    )
    channel = df.ChoiceFilter(choices=[(Inquiry.Channel.EMAIL, "メール"), (Inquiry.Channel.FORM, "フォーム")])
    min_response_seconds = df.NumberFilter(field_name="response_s", lookup_expr="gte")

    class Meta:
        model = Inquiry
        fields: list[str] = []

    def filter_state(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        if value == "excluded":
            return queryset.filter(handed_to_section=True)
        queryset = queryset.filter(handed_to_section=False)
        return queryset.filter(answered=(value == "answered"))


class HandoverFilter(df.FilterSet):
    target = df.ChoiceFilter(choices=[(t.value, t.label) for t in Escalation.EXTERNAL_TARGETS])

    class Meta:
        model = Escalation
        fields: list[str] = []


class ComplaintDrillFilter(df.FilterSet):
    cause = df.ChoiceFilter(choices=Complaint.Cause.choices)
    counted = df.BooleanFilter(method="filter_counted")

    class Meta:
        model = Complaint
        fields: list[str] = []

    def filter_counted(self, queryset: QuerySet[Any], name: str, value: bool | None) -> QuerySet[Any]:
        # The metric's own condition: a confirmed operator error (kpi.metrics).
        if value:
            return queryset.filter(metrics.COUNTED_COMPLAINTS)
        return queryset.exclude(metrics.COUNTED_COMPLAINTS)


class IncidentDrillFilter(df.FilterSet):
    severity = df.ChoiceFilter(choices=SecurityIncident.Severity.choices)

    class Meta:
        model = SecurityIncident
        fields: list[str] = []
