"""Thin API views over kpi.selectors / kpi.services."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.db.models import Model, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.dateparse import parse_datetime
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from helpdesk.api.filters import BoundedIsoDateTimeField
from helpdesk.clock import MONTH_MAX, MONTH_MIN, TOKYO, Month, month_range
from helpdesk.models import Call, Complaint, Escalation, Inquiry, SecurityIncident
from kpi import selectors, services, today
from kpi.api import filters, serializers
from kpi.api.permissions import CanPublishKpi, CanReadKpi
from kpi.models import KpiSnapshot

MAX_RANGE_MONTHS = 60


def _month(value: str, field: str = "month") -> Month:
    """The month of a path or query parameter; a 400 naming `field` when it is no month."""
    try:
        return Month.parse(value)
    except ValueError as exc:
        raise ValidationError({field: [str(exc)]}) from exc


def _moment(value: str, field: str) -> dt.datetime:
    """An ISO 8601 moment of a query parameter (Tokyo time when it has no offset); a 400
    naming `field` when it is none or lies outside the months the KPI covers."""
    try:
        moment = parse_datetime(value.strip())
    except ValueError:
        moment = None
    if moment is None:
        raise ValidationError({field: [f"日時は ISO 8601 形式で指定してください: {value!r} (an ISO 8601 date-time)"]})
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=TOKYO)
    offset = moment.utcoffset()
    if offset is not None and abs(offset) > BoundedIsoDateTimeField.MAX_OFFSET:  # PostgreSQL's limit
        raise ValidationError({field: [f"時差は ±15:59 までです: {value!r} (offset beyond ±15:59)"]})
    if not (MONTH_MIN.start <= moment < MONTH_MAX.end):
        raise ValidationError(
            {field: [f"日時は {MONTH_MIN}〜{MONTH_MAX} の範囲で指定してください: {value!r} (out of range)"]}
        )
    return moment


def _fresh(request: Request) -> bool:
    return request.query_params.get("fresh", "").lower() in ("1", "true", "yes")


class KpiMonthView(APIView):
    """One month's KPI object (formats.md), current figures; against the published
    snapshot when the month was published (`restated`, `published`, `difference`)."""

    permission_classes = [CanReadKpi]

    @extend_schema(
        operation_id="kpi_month_retrieve",
        parameters=[OpenApiParameter("fresh", OpenApiTypes.BOOL, description="recompute instead of the cache")],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request: Request, month: str) -> Response:
        return Response(selectors.kpi_month_get(month=_month(month), fresh=_fresh(request)))


class KpiMonthRangeView(APIView):
    """`?from=YYYY-MM&to=YYYY-MM`: {"months": [object, …]} oldest first (≤ 60 months)."""

    permission_classes = [CanReadKpi]

    @extend_schema(
        operation_id="kpi_month_range",
        parameters=[
            OpenApiParameter("from", OpenApiTypes.STR, required=True),
            OpenApiParameter("to", OpenApiTypes.STR, required=True),
            OpenApiParameter("fresh", OpenApiTypes.BOOL),
        ],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request: Request) -> Response:
        first = _month(request.query_params.get("from", ""), "from")
        last = _month(request.query_params.get("to", ""), "to")
        if last < first:
            raise ValidationError({"to": ["to は from 以降の月にしてください。"]})
        if len(month_range(first, last)) > MAX_RANGE_MONTHS:
            raise ValidationError({"to": [f"一度に取得できるのは{MAX_RANGE_MONTHS}か月までです。"]})
        months = selectors.kpi_months_get(first=first, last=last, fresh=_fresh(request))
        return Response({"from": str(first), "to": str(last), "months": months})


class KpiPublishView(APIView):
    """Admin: publish the month's current figures as the next immutable snapshot."""

    permission_classes = [CanPublishKpi]

    @extend_schema(request=serializers.PublishRequestSerializer, responses={201: serializers.SnapshotSerializer})
    def post(self, request: Request, month: str) -> Response:
        # A body that is not an object (a JSON array, a bare string) is a 400 naming the
        # problem, not an AttributeError on `.get`.
        body = serializers.PublishRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        snap = services.kpi_snapshot_publish(month=_month(month), actor=request.user, note=body.validated_data["note"])
        return Response(
            {"month": snap.month, "version": snap.version, "published_at": snap.published_at, "note": snap.note},
            status=status.HTTP_201_CREATED,
        )


class KpiPublishedView(APIView):
    """The snapshot as published (latest version, or `?version=N`): served from one row."""

    permission_classes = [CanReadKpi]

    @extend_schema(parameters=[OpenApiParameter("version", OpenApiTypes.INT)], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, month: str) -> Response:
        qs = KpiSnapshot.objects.filter(month=str(_month(month)))
        version = request.query_params.get("version")
        snap: KpiSnapshot | None
        if version:
            if not version.isdigit():
                raise ValidationError({"version": ["整数で指定してください。"]})
            snap = get_object_or_404(qs, version=int(version))
        else:
            snap = qs.order_by("-version").first()
            if snap is None:
                raise Http404
        return Response(
            {"version": snap.version, "published_at": snap.published_at, "note": snap.note, "data": snap.data}
        )


class KpiChangesView(APIView):
    """Records of the month written after its latest publication: what a restatement is
    made of (ids and inquiry refs only, no personal information)."""

    permission_classes = [CanReadKpi]
    LIMIT = 200

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, month: str) -> Response:
        m = _month(month)
        snap = selectors.kpi_snapshot_latest(month=m)
        if snap is None:
            raise Http404
        records: dict[str, object] = {}
        out = {
            "month": str(m),
            "published_version": snap.version,
            "published_at": snap.published_at,
            "records": records,
        }
        for name, qs in selectors.kpi_changed_records(month=m, since=snap.published_at).items():
            fields = ("id", "ref") if name == "inquiries" else ("id",)
            rows = list(qs.order_by("id").values(*fields)[: self.LIMIT])
            records[name] = {"count": qs.count(), "items": rows}
        return Response(out)


# --- drill-down lists --------------------------------------------------------------------


class _Cursor(CursorPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


def cursor(*ordering: str) -> type[CursorPagination]:
    return type("Cursor", (_Cursor,), {"ordering": ordering})


class _DrillView(generics.ListAPIView):
    permission_classes = [CanReadKpi]
    filter_backends = [DjangoFilterBackend]
    model: type[Model] = KpiSnapshot  # the listed model, for the schema generator
    drill: Callable[..., QuerySet[Any]]  # each view sets its selector

    def month(self) -> Month:
        return _month(self.kwargs["month"])

    def get_queryset(self) -> QuerySet[Any]:
        if getattr(self, "swagger_fake_view", False):  # schema generation: no month
            return self.model._default_manager.none()
        return self.drill(month=self.month())

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        with selectors.kpi_transaction():  # (JIT off: each page's query runs once)
            return super().list(request, *args, **kwargs)


class AbandonedCallsView(_DrillView):
    """Abandoned in-hours calls (IVR and queue, by reason), latest first."""

    serializer_class = serializers.AbandonedCallSerializer
    filterset_class = filters.AbandonedCallFilter
    pagination_class = cursor("-arrived_at", "-id")

    model = Call
    drill = staticmethod(selectors.drill_abandoned_calls)


class AnsweredCallsView(_DrillView):
    """Answered in-hours calls with their handle time, longest first."""

    serializer_class = serializers.AnsweredCallSerializer
    filterset_class = filters.AnsweredCallFilter
    pagination_class = cursor("-handle_s", "-id")

    model = Call
    drill = staticmethod(selectors.drill_answered_calls)


class EmailsView(_DrillView):
    """The email metric's inquiries. `state=answered` (default), slowest first;
    `state=unanswered`, oldest first; `state=excluded`: handed to the responsible section."""

    serializer_class = serializers.EmailInquirySerializer
    filterset_class = filters.EmailDrillFilter

    model = Inquiry
    drill = staticmethod(selectors.drill_emails)

    def filter_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        params = self.request.query_params.copy()
        params.setdefault("state", "answered")
        fs = self.filterset_class(params, queryset=queryset, request=self.request)
        if not fs.is_valid():
            raise ValidationError(fs.errors)
        return fs.qs

    @property
    def paginator(self) -> CursorPagination:
        if not hasattr(self, "_paginator"):
            state = self.request.query_params.get("state", "answered")
            ordering = ("-response_s", "-id") if state == "answered" else ("received_at", "id")
            self._paginator = cursor(*ordering)()
        return self._paginator


class HandoversView(_DrillView):
    """External handovers of the month's inquiries, and to whom (an inquiry handed over
    twice appears twice here and once in `handed_over`)."""

    serializer_class = serializers.HandoverSerializer
    filterset_class = filters.HandoverFilter
    pagination_class = cursor("-escalated_at", "-id")

    model = Escalation
    drill = staticmethod(selectors.drill_handovers)


class ComplaintsView(_DrillView):
    """Complaints received in the month; `counted=true` for those the metric counts."""

    serializer_class = serializers.ComplaintDrillSerializer
    filterset_class = filters.ComplaintDrillFilter
    pagination_class = cursor("-received_at", "-id")

    model = Complaint
    drill = staticmethod(selectors.drill_complaints)


class IncidentsView(_DrillView):
    """Security incidents that occurred in the month; `severity=major` for the metric."""

    serializer_class = serializers.IncidentDrillSerializer
    filterset_class = filters.IncidentDrillFilter
    pagination_class = cursor("-occurred_at", "-id")

    model = SecurityIncident
    drill = staticmethod(selectors.drill_incidents)


class MailWaitingView(generics.ListAPIView):
    """Mail inquiries waiting for their first answer at the moment `as_of` (ISO 8601; without
    an offset, Tokyo time): exactly the set the supervisor's board counts as 未回答メール
    (`kpi.today.mail_waiting_at` — the §3 population received in the 62 days before, not
    handed to the responsible section by then, whose answer is missing or came later).
    Oldest first."""

    permission_classes = [CanReadKpi]
    serializer_class = serializers.MailWaitingSerializer
    pagination_class = cursor("received_at", "id")

    def as_of(self) -> dt.datetime:
        if not hasattr(self, "_as_of"):
            self._as_of = _moment(self.request.query_params.get("as_of", ""), "as_of")
        return self._as_of

    def get_queryset(self) -> QuerySet[Any]:
        if getattr(self, "swagger_fake_view", False):
            return Inquiry.objects.none()
        return today.mail_waiting_at(as_of=self.as_of()).only("id", "ref", "channel", "status", "received_at")

    def get_serializer_context(self) -> dict[str, Any]:
        context = dict(super().get_serializer_context())
        if not getattr(self, "swagger_fake_view", False):
            context["as_of"] = self.as_of()
        return context

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "as_of", OpenApiTypes.DATETIME, required=True, description="the moment (the board's figure's)"
            )
        ]
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        self.as_of()  # a bad moment is a 400 before anything is read
        with selectors.kpi_transaction():
            return super().get(request, *args, **kwargs)
