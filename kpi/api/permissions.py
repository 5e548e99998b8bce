from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from helpdesk.roles import can_read_kpi, is_admin


class CanReadKpi(BasePermission):
    """Reviewers, supervisors and admins read KPI figures and drill-downs; agents get 403
    (docs/kpi.md: the figures judge the contractor, agents work from the help desk)."""

    message = "KPIは審査担当・SV・管理者のみ閲覧できます。"

    def has_permission(self, request: Request, view: APIView) -> bool:
        return can_read_kpi(request.user)


class CanPublishKpi(BasePermission):
    message = "KPIの公表は管理者のみ行えます。"

    def has_permission(self, request: Request, view: APIView) -> bool:
        return is_admin(request.user)
