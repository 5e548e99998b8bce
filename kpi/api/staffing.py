"""GET /api/staffing/plans/YYYY-MM/ — the month's staffing plan (docs/staffing.md). Thin: parse
the query, call `kpi.staffing.plan.staffing_plan`, return its JSON. Supervisors and admins
only: the plan carries the contractor's roster and cost, which are not contract figures
(reviewers read the KPI, not the contractor's staffing)."""

from __future__ import annotations

import datetime as dt

from django.http import QueryDict
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from helpdesk.clock import Month
from helpdesk.roles import is_supervisor
from kpi.staffing.plan import BASES, PlanError, WhatIf, staffing_plan


class CanPlanStaffing(BasePermission):
    message = "要員計画はSV・管理者のみ閲覧できます。"

    def has_permission(self, request: Request, view: APIView) -> bool:
        return is_supervisor(request.user)


def _float(params: QueryDict, name: str) -> float | None:
    raw = params.get(name)
    if raw in (None, ""):
        return None
    try:
        return float(raw)
    except ValueError as exc:
        raise ValidationError({name: [f"{name} は数値にしてください。"]}) from exc


class StaffingPlanView(APIView):
    permission_classes = [CanPlanStaffing]

    @extend_schema(
        operation_id="staffing_plan_retrieve",
        parameters=[
            OpenApiParameter("target", OpenApiTypes.FLOAT, description="answer-rate target (default: the contract's)"),
            OpenApiParameter("basis", OpenApiTypes.STR, enum=list(BASES)),
            OpenApiParameter("what_if_agents", OpenApiTypes.INT, description="+N agents on every open half-hour"),
            OpenApiParameter("what_if_from", OpenApiTypes.DATE, description="the what-if starts that day"),
        ],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request: Request, month: str) -> Response:
        q = request.query_params
        try:
            m = Month.parse(month)
        except ValueError as exc:
            raise ValidationError({"month": [str(exc)]}) from exc
        what_if = None
        if q.get("what_if_agents") or q.get("what_if_from"):
            try:
                agents = int(q.get("what_if_agents") or 0)
            except ValueError as exc:
                raise ValidationError({"what_if_agents": ["what_if_agents は整数にしてください。"]}) from exc
            try:
                start = dt.date.fromisoformat(q["what_if_from"]) if q.get("what_if_from") else m.first_day
            except ValueError as exc:
                raise ValidationError({"what_if_from": ["what_if_from は YYYY-MM-DD にしてください。"]}) from exc
            what_if = WhatIf(agents=agents, from_date=start)
        try:
            plan = staffing_plan(month=m, target=_float(q, "target"), basis=q.get("basis") or "auto", what_if=what_if)
        except PlanError as exc:
            raise ValidationError({exc.field: [str(exc)]}) from exc
        return Response(plan)


urlpatterns = [path("plans/<str:month>/", StaffingPlanView.as_view(), name="staffing-plan")]
