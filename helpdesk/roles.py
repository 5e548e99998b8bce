"""Who may do what. docs/permissions.md is the written matrix; tests/helpdesk/test_permissions.py
checks every cell. Roles are Django auth Groups; a superuser counts as every staff role."""

from collections.abc import Iterable

from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import AbstractUser, AnonymousUser, Group, Permission
from django.db import connection
from django.db.models import BooleanField
from django.db.models.expressions import RawSQL

from helpdesk.models import Role

# Roles that handle citizens' inquiries and so may see their personal information.
PII_ROLES = frozenset({Role.AGENT, Role.SUPERVISOR, Role.ADMIN})


def user_roles(user: AbstractUser | AnonymousUser | None) -> frozenset[str]:
    if user is None or not user.is_authenticated:
        return frozenset()
    cached = getattr(user, "_helpdesk_roles", None)
    if cached is not None:
        return cached
    if user.is_superuser:
        roles = frozenset(Role.values)
    else:
        roles = frozenset(user.groups.filter(name__in=Role.values).values_list("name", flat=True))
    setattr(user, "_helpdesk_roles", roles)  # a per-request cache on the user object  # noqa: B010
    return roles


def role_annotations() -> dict[str, RawSQL]:
    """One EXISTS per role — whether the user row of the query is in that role's group — so
    the query that loads a user reads its roles too, instead of one more query per request
    (the API's token lookup, helpdesk.accounts.auth; `user_roles_remember` takes the row).
    For a query of the user model, or one that joins it once (select_related): the user's
    table is referred to by its name. Plain SQL on purpose: Django compiles four Exists()
    subqueries at more CPU than the extra query costs (bench/profile_load.py)."""
    user_model = get_user_model()
    user = connection.ops.quote_name(user_model._meta.db_table)
    membership = connection.ops.quote_name(user_model.groups.through._meta.db_table)
    group = connection.ops.quote_name(Group._meta.db_table)
    sql = (
        f"EXISTS (SELECT 1 FROM {membership} m JOIN {group} g ON g.id = m.group_id "
        f"WHERE m.user_id = {user}.id AND g.name = %s)"
    )
    return {_ROLE_FLAG + role: RawSQL(sql, (role,), output_field=BooleanField()) for role in Role.values}


def user_roles_remember(user: AbstractUser, row: object) -> None:
    """Cache on `user` the roles read by a query annotated with `role_annotations()` (`row`
    is the annotated instance); user_roles() then needs no query of its own."""
    if user.is_superuser:
        roles = frozenset(Role.values)
    else:
        roles = frozenset(role for role in Role.values if getattr(row, _ROLE_FLAG + role))
    setattr(user, "_helpdesk_roles", roles)  # noqa: B010 — the per-request cache user_roles() reads


_ROLE_FLAG = "_role_"


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
    user.groups.set(Group.objects.filter(name__in=list(roles)))
    if hasattr(user, "_helpdesk_roles"):
        del user._helpdesk_roles


# --- Django permissions of each role -------------------------------------------------------
#
# The ONE declared mapping role → Django model permissions. `sync_role_permissions` writes it
# into each role's Group after every `migrate` (post_migrate, helpdesk.apps): permissions do
# not exist yet while the migrations of a fresh database run. The Django admin reads these
# permissions (`user.has_perm`), so a user needs no superuser flag to use the pages their role
# is documented to have (docs/permissions.md). A model label ending in `.*` means every model
# of that app. Deleting KPI records is never granted: the admin offers corrections instead.

VIEW = ("view",)
EDIT = ("view", "add", "change")
MANAGE = ("view", "add", "change", "delete")

# What an agent handles in the admin (read-only; writes go through the API and pages).
_OPERATOR_RECORDS = {
    "helpdesk.inquiry": VIEW,
    "helpdesk.call": VIEW,
    "helpdesk.emailmessage": VIEW,
    "helpdesk.attachment": VIEW,
    "helpdesk.escalation": VIEW,
    "helpdesk.complaint": VIEW,
    "helpdesk.agentprofile": VIEW,
    "helpdesk.importrun": VIEW,
    "helpdesk.importreject": VIEW,
    "helpdesk.servicehours": VIEW,
    "helpdesk.calendarday": VIEW,
}
# The contract settings and published figures, readable by everyone who reads KPI.
_KPI_READ = {"kpi.kpitarget": VIEW, "kpi.fiscalmonthperiod": VIEW, "kpi.kpisnapshot": VIEW}

ROLE_PERMISSIONS: dict[str, dict[str, tuple[str, ...]]] = {
    Role.AGENT: dict(_OPERATOR_RECORDS),
    Role.SUPERVISOR: {**_OPERATOR_RECORDS, "helpdesk.auditevent": VIEW, **_KPI_READ},
    Role.ADMIN: {
        "helpdesk.*": VIEW,
        "helpdesk.inquiry": EDIT,
        "helpdesk.call": ("view", "change"),
        "helpdesk.emailmessage": ("view", "change"),
        "helpdesk.escalation": EDIT,
        "helpdesk.complaint": EDIT,
        "helpdesk.securityincident": EDIT,
        "helpdesk.agentprofile": MANAGE,
        "helpdesk.cannedresponse": MANAGE,  # reply texts for the desk (docs/desk-notifications.md)
        "helpdesk.servicehours": MANAGE,
        "helpdesk.calendarday": MANAGE,
        "auth.user": MANAGE,
        "auth.group": VIEW,  # a role's permissions are this table, not edited by hand
        "kpi.kpitarget": MANAGE,
        "kpi.fiscalmonthperiod": MANAGE,
        "kpi.kpisnapshot": VIEW,
        "kpi.rosterslot": MANAGE,  # staffing: agents on shift, the hourly cost (docs/staffing.md)
        "kpi.staffingcost": MANAGE,
        "faq.*": VIEW,
        "faq.faqsettings": ("view", "change"),
        "faq.faqcategory": EDIT,
        "faq.faqentry": EDIT,
    },
    Role.REVIEWER: {
        "helpdesk.servicehours": VIEW,
        "helpdesk.calendarday": VIEW,
        "helpdesk.securityincident": VIEW,
        **_KPI_READ,
    },
}


def role_permission_codenames(role: str) -> set[tuple[str, str]]:
    """(app_label, codename) pairs the role's Group holds, `.*` entries expanded."""
    pairs: set[tuple[str, str]] = set()
    for label, actions in ROLE_PERMISSIONS.get(role, {}).items():
        app_label, model_name = label.split(".")
        models = (
            [m._meta.model_name for m in apps.get_app_config(app_label).get_models()]
            if model_name == "*"
            else [model_name]
        )
        pairs.update((app_label, f"{action}_{model}") for model in models for action in actions)
    return pairs


def sync_role_permissions(*, using: str = "default") -> None:
    """Make each role's Group hold exactly the permissions of ROLE_PERMISSIONS (idempotent;
    creates a missing Group). Permissions of apps not migrated yet are created first."""
    for app_label in {label.split(".")[0] for table in ROLE_PERMISSIONS.values() for label in table}:
        create_permissions(apps.get_app_config(app_label), verbosity=0, using=using)
    for role in Role.values:
        wanted = role_permission_codenames(role)
        perms = Permission.objects.using(using).filter(
            content_type__app_label__in={a for a, _ in wanted}, codename__in={c for _, c in wanted}
        )
        chosen = [
            p.pk for p in perms.select_related("content_type") if (p.content_type.app_label, p.codename) in wanted
        ]
        group, _ = Group.objects.using(using).get_or_create(name=role)
        group.permissions.set(chosen)
