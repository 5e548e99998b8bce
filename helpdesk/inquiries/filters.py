"""Allow-listed filters of the inquiry list."""

import django_filters as df
from django.contrib.auth import get_user_model

from helpdesk.api.filters import FilterSet, InFilter, IsoDateTimeFilter, UserChoiceFilter
from helpdesk.inquiries.selectors import inquiry_search
from helpdesk.models import Inquiry


class InquiryFilter(FilterSet):
    status = InFilter(choices=Inquiry.Status.choices, help_text="状態（複数指定可）")
    channel = InFilter(choices=Inquiry.Channel.choices, help_text="受付チャネル（複数指定可）")
    category = df.CharFilter(field_name="category", help_text="分類（完全一致）")
    assigned_to = UserChoiceFilter(queryset=get_user_model().objects.all(), help_text="担当者のユーザーID")
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
