"""Allow-listed filters for the API lists (django-filter). Request parameters reach the
ORM only through these. Datetimes without an offset are read as Asia/Tokyo."""

import datetime as dt

import django_filters as df
from django import forms
from django.contrib.auth import get_user_model
from django_filters.fields import IsoDateTimeField

from helpdesk.inquiries.selectors import inquiry_search
from helpdesk.models import Call, Complaint, EmailMessage, Escalation, Inquiry, SecurityIncident


class BoundedIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 datetime the database can compare: an offset within ±15:59 (PostgreSQL's
    limit; real zones stay within ±14:00) and a moment that exists in UTC (0001-01-01+09:00
    and 9999-12-31-09:00 do not). Anything else is a 400 naming the parameter, never a 500."""

    MAX_OFFSET = dt.timedelta(hours=15, minutes=59)

    def to_python(self, value):
        moment = super().to_python(value)
        if moment is None:
            return None
        offset = moment.utcoffset()
        if offset is not None and abs(offset) > self.MAX_OFFSET:
            raise forms.ValidationError("時差は ±15:59 までです (offset beyond ±15:59)", code="invalid")
        try:
            moment.astimezone(dt.UTC)
        except OverflowError:
            raise forms.ValidationError("日時が扱える範囲の外です (datetime out of range)", code="invalid") from None
        return moment


class IsoDateTimeFilter(df.IsoDateTimeFilter):
    field_class = BoundedIsoDateTimeField


class InFilter(df.MultipleChoiceFilter):
    """`?status=a&status=b` → `status IN (a, b)`. django-filter's own MultipleChoiceFilter
    ORs one condition per value and adds SELECT DISTINCT, which on 1 M rows stops PostgreSQL
    from reading the newest-first index in order (it hashes every match, then sorts)."""

    def filter(self, qs, value):
        if not value:
            return qs
        return qs.filter(**{f"{self.field_name}__in": value})


class InquiryFilter(df.FilterSet):
    status = InFilter(choices=Inquiry.Status.choices, help_text="状態（複数指定可）")
    channel = InFilter(choices=Inquiry.Channel.choices, help_text="受付チャネル（複数指定可）")
    category = df.CharFilter(field_name="category", help_text="分類（完全一致）")
    assigned_to = df.ModelChoiceFilter(queryset=get_user_model().objects.all(), help_text="担当者のユーザーID")
    unassigned = df.BooleanFilter(field_name="assigned_to", lookup_expr="isnull", help_text="未割当のみ")
    received_after = IsoDateTimeFilter(
        field_name="received_at", lookup_expr="gte", help_text="受付日時がこの時刻以降（オフセットなしは日本時間）"
    )
    received_before = IsoDateTimeFilter(
        field_name="received_at", lookup_expr="lt", help_text="受付日時がこの時刻より前（オフセットなしは日本時間）"
    )
    q = df.CharFilter(
        method="filter_q",
        max_length=200,
        help_text="件名・本文の部分一致検索（NFKC正規化、空白区切りでAND）",
    )

    class Meta:
        model = Inquiry
        fields: list[str] = []

    def filter_q(self, queryset, name, value):
        return inquiry_search(queryset=queryset, q=value)


class EscalationFilter(df.FilterSet):
    target = InFilter(choices=Escalation.Target.choices)
    inquiry = df.CharFilter(field_name="inquiry__ref", help_text="問い合わせ番号 EG-…")
    returned = df.BooleanFilter(field_name="returned_at", lookup_expr="isnull", exclude=True, help_text="回答済みか")
    escalated_after = IsoDateTimeFilter(field_name="escalated_at", lookup_expr="gte")
    escalated_before = IsoDateTimeFilter(field_name="escalated_at", lookup_expr="lt")

    class Meta:
        model = Escalation
        fields: list[str] = []


class ComplaintFilter(df.FilterSet):
    cause = InFilter(choices=Complaint.Cause.choices)
    inquiry = df.CharFilter(field_name="inquiry__ref")
    received_after = IsoDateTimeFilter(field_name="received_at", lookup_expr="gte")
    received_before = IsoDateTimeFilter(field_name="received_at", lookup_expr="lt")

    class Meta:
        model = Complaint
        fields: list[str] = []


class SecurityIncidentFilter(df.FilterSet):
    severity = df.ChoiceFilter(choices=SecurityIncident.Severity.choices)
    kind = df.ChoiceFilter(choices=SecurityIncident.Kind.choices)
    occurred_after = IsoDateTimeFilter(field_name="occurred_at", lookup_expr="gte")
    occurred_before = IsoDateTimeFilter(field_name="occurred_at", lookup_expr="lt")

    class Meta:
        model = SecurityIncident
        fields: list[str] = []


class CallFilter(df.FilterSet):
    outcome = InFilter(choices=Call.Outcome.choices)
    agent = df.CharFilter(field_name="agent", help_text="PBXのエージェントログイン名")
    queue = df.CharFilter(field_name="queue")
    arrived_after = IsoDateTimeFilter(field_name="arrived_at", lookup_expr="gte")
    arrived_before = IsoDateTimeFilter(field_name="arrived_at", lookup_expr="lt")

    class Meta:
        model = Call
        fields: list[str] = []


class EmailMessageFilter(df.FilterSet):
    direction = df.ChoiceFilter(choices=EmailMessage.Direction.choices)
    inquiry = df.CharFilter(field_name="inquiry__ref")
    received_after = IsoDateTimeFilter(field_name="received_at", lookup_expr="gte")
    received_before = IsoDateTimeFilter(field_name="received_at", lookup_expr="lt")

    class Meta:
        model = EmailMessage
        fields: list[str] = []
