"""Who may do what. docs/permissions.md is the written matrix; tests/helpdesk/test_permissions.py
checks every cell. Roles are Django auth Groups; a superuser counts as every staff role."""

from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from helpdesk.models import Role

# Roles that handle citizens' inquiries and so may see their personal information.
PII_ROLES = frozenset({Role.AGENT, Role.SUPERVISOR, Role.ADMIN})


def user_roles(user: AbstractBaseUser | AnonymousUser | None) -> frozenset[str]:
    if user is None or not user.is_authenticated:
        return frozenset()
    cached = getattr(user, "_helpdesk_roles", None)
    if cached is not None:
        return cached
    if user.is_superuser:
        roles = frozenset(Role.values)
    else:
        roles = frozenset(user.groups.filter(name__in=Role.values).values_list("name", flat=True))
    user._helpdesk_roles = roles  # type: ignore[union-attr]
    return roles


def has_role(user, *roles: str | Role) -> bool:
    return bool(user_roles(user) & {str(r) for r in roles})


def is_staff_operator(user) -> bool:
    """Agents, supervisors and admins: the people who handle inquiries."""
    return has_role(user, Role.AGENT, Role.SUPERVISOR, Role.ADMIN)


def is_supervisor(user) -> bool:
    """Supervisors, and admins who stand in for them."""
    return has_role(user, Role.SUPERVISOR, Role.ADMIN)


def is_admin(user) -> bool:
    return has_role(user, Role.ADMIN)


def can_read_kpi(user) -> bool:
    return has_role(user, Role.REVIEWER, Role.SUPERVISOR, Role.ADMIN)


def can_see_pii(user) -> bool:
    return bool(user_roles(user) & PII_ROLES)


def assign_roles(user, roles: Iterable[str]) -> None:
    from django.contrib.auth.models import Group

    user.groups.set(Group.objects.filter(name__in=list(roles)))
    if hasattr(user, "_helpdesk_roles"):
        del user._helpdesk_roles
