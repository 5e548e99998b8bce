"""DRF permission classes over helpdesk.roles. docs/permissions.md is the matrix;
tests/helpdesk/api/test_permissions.py checks each cell. Services check again (defence in
depth), so a view wired with the wrong class still cannot do what the role may not."""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from helpdesk.models import Role
from helpdesk.roles import has_role, is_admin, is_staff_operator, is_supervisor


class IsStaffOperator(BasePermission):
    """Agents, supervisors, admins: they handle inquiries and see personal information.
    Reviewers get 403 here: they read KPI and aggregate reports only."""

    message = "この操作はオペレーター・SV・管理者のみ行えます。"

    def has_permission(self, request, view) -> bool:
        return is_staff_operator(request.user)


class IsSupervisor(BasePermission):
    message = "この操作はSV（または管理者）のみ行えます。"

    def has_permission(self, request, view) -> bool:
        return is_supervisor(request.user)


class IsAdmin(BasePermission):
    message = "この操作は管理者のみ行えます。"

    def has_permission(self, request, view) -> bool:
        return is_admin(request.user)


class SecurityIncidentPermission(BasePermission):
    """Admins read and write; reviewers read (without the description, which may describe
    the leaked information itself) because incidents are a contract metric."""

    message = "セキュリティインシデントは管理者のみ扱えます。"

    def has_permission(self, request, view) -> bool:
        if is_admin(request.user):
            return True
        return request.method in SAFE_METHODS and has_role(request.user, Role.REVIEWER)
