"""Writes on staff accounts from the Django admin: who may do what is a role (Group), so
every account change and every role grant or removal is audit-logged. Passwords and
contact details are recorded as changed, never their values."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import Group, Permission
from django.db import transaction

from helpdesk.audit import audit_record, audit_value
from helpdesk.errors import PermissionDeniedError
from helpdesk.models import AuditEvent
from helpdesk.roles import is_admin

# Compared and logged as values; anything else (password, names, e-mail) only as changed.
_LOGGED_VALUES = ("username", "is_active", "is_staff", "is_superuser")


def _require_admin(actor) -> None:
    if not is_admin(actor):
        raise PermissionDeniedError("ユーザーの管理は管理者のみ行えます。")


@transaction.atomic
def staff_user_save(*, actor, user, fields: Iterable[str]) -> Any:
    """Save `user` as the admin form filled it in; `fields` are the form fields that changed."""
    _require_admin(actor)
    adding = user._state.adding
    before = None if adding else type(user)._default_manager.select_for_update().get(pk=user.pk)
    concrete = {f.name for f in user._meta.concrete_fields}
    changes: dict[str, Any] = {}
    for name in sorted(set(fields) | ({"password"} if adding else set())):
        field = "password" if name.startswith("password") else name
        if field not in concrete or field in changes:
            continue
        old = None if before is None else getattr(before, field)
        if field in _LOGGED_VALUES:
            if old != getattr(user, field):
                changes[field] = {"old": audit_value(old), "new": audit_value(getattr(user, field))}
        elif adding or old != getattr(user, field):
            changes[field] = {"changed": True}
    user.save()
    if changes or adding:
        audit_record(
            actor=actor,
            action=AuditEvent.Action.CREATE if adding else AuditEvent.Action.UPDATE,
            object_type=user._meta.label_lower,
            object_id=str(user.pk),
            changes=changes,
            note=user.get_username(),
        )
    return user


@transaction.atomic
def staff_user_set_access(
    *, actor, user, groups: Iterable[Group] | None = None, permissions: Iterable[Permission] | None = None
) -> None:
    """Set a user's roles (groups) and, for a superuser's form, ad hoc permissions."""
    _require_admin(actor)
    changes: dict[str, Any] = {}
    for name, new in (("groups", groups), ("user_permissions", permissions)):
        if new is None:
            continue
        manager = getattr(user, name)
        old_names = sorted(str(x) for x in manager.all())
        new_list = list(new)
        manager.set(new_list)
        new_names = sorted(str(x) for x in new_list)
        if old_names != new_names:
            changes[name] = {"old": old_names, "new": new_names}
    if hasattr(user, "_helpdesk_roles"):
        del user._helpdesk_roles
    if changes:
        audit_record(
            actor=actor,
            action=AuditEvent.Action.UPDATE,
            object_type=user._meta.label_lower,
            object_id=str(user.pk),
            changes=changes,
            note=user.get_username(),
        )


@transaction.atomic
def staff_user_delete(*, actor, user: AbstractBaseUser) -> None:
    _require_admin(actor)
    object_id, username = str(user.pk), user.get_username()
    user.delete()
    audit_record(
        actor=actor,
        action=AuditEvent.Action.DELETE,
        object_type=user._meta.label_lower,
        object_id=object_id,
        note=username,
    )


def staff_user_password_changed(*, actor, user) -> None:
    """Django's own password form set the password (hashing, validation); the trail says who
    changed whose, never the password."""
    _require_admin(actor)
    audit_record(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        object_type=user._meta.label_lower,
        object_id=str(user.pk),
        changes={"password": {"changed": True}},
        note=user.get_username(),
    )
