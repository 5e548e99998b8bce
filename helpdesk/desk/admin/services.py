"""Desk-only writes of the admin's pages. Each one calls the owning app's audited service
(staff_users, kpi.contract_settings, service_hours); what is here is only what the desk adds:
one role per account, the guards that keep an admin from locking themselves out, and the
"apply" steps a restatement preview runs in a rolled-back savepoint before the real save."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction

from helpdesk.accounts import staff_users
from helpdesk.clock import TOKYO
from helpdesk.errors import PermissionDeniedError
from helpdesk.models import CalendarDay, Role, ServiceHours
from helpdesk.phone import service_hours
from helpdesk.phone.reclassify import calls_reclassify_service_hours
from helpdesk.roles import is_admin
from kpi import contract_settings
from kpi.models import FiscalMonthPeriod, KpiTarget

# --- users and roles --------------------------------------------------------------------------


def _require_admin(actor) -> None:
    if not is_admin(actor):
        raise PermissionDeniedError("ユーザーの管理は管理者のみ行えます。")


def _not_a_superuser(user) -> None:
    # Superuser accounts are the operators' break-glass; only a superuser changes them.
    if user.is_superuser:
        raise PermissionDeniedError("スーパーユーザーのアカウントは変更できません。")


@transaction.atomic
def desk_user_create(*, actor, username: str, email: str, password: str, role: str):
    """A staff account with one role. Admins are is_staff too (they reach /admin/); the
    role's Group carries the Django permissions (helpdesk.roles.ROLE_PERMISSIONS)."""
    _require_admin(actor)
    if role not in Role.values:
        raise ValidationError({"role": "役割を選んでください。"})
    user_model = get_user_model()
    if user_model._default_manager.filter(username=username).exists():
        raise ValidationError({"username": "このユーザー名は既に使われています。"})
    user = user_model(username=username, email=email, is_staff=role == Role.ADMIN)
    user.set_password(password)
    user.full_clean(exclude=["password"])
    staff_users.staff_user_save(actor=actor, user=user, fields=["username", "email", "is_staff", "password"])
    group, _ = Group.objects.get_or_create(name=role)
    staff_users.staff_user_set_access(actor=actor, user=user, groups=[group])
    return user


@transaction.atomic
def desk_user_set_role(*, actor, user, role: str) -> None:
    _require_admin(actor)
    _not_a_superuser(user)
    if role not in Role.values:
        raise ValidationError({"role": "役割を選んでください。"})
    if user.pk == actor.pk and role != Role.ADMIN:
        raise ValidationError({"role": "自分自身の管理者権限は外せません（他の管理者に依頼してください）。"})
    group, _ = Group.objects.get_or_create(name=role)
    staff_users.staff_user_set_access(actor=actor, user=user, groups=[group])
    if user.is_staff != (role == Role.ADMIN):
        user.is_staff = role == Role.ADMIN
        staff_users.staff_user_save(actor=actor, user=user, fields=["is_staff"])


@transaction.atomic
def desk_user_set_active(*, actor, user, active: bool) -> None:
    _require_admin(actor)
    _not_a_superuser(user)
    if user.pk == actor.pk and not active:
        raise ValidationError({"is_active": "自分自身のアカウントは無効にできません。"})
    if user.is_active != active:
        user.is_active = active
        staff_users.staff_user_save(actor=actor, user=user, fields=["is_active"])


# --- contract settings: the month's period type, a contract period's targets ----------------

TARGET_FIELDS = (
    "name",
    "valid_from",
    "valid_to",
    "answer_rate_normal",
    "answer_rate_busy",
    "aht_max_seconds",
    "email_max_seconds",
    "fcr_min",
    "complaints_limit",
    "incidents_max",
    "acw_limit_seconds",
    "email_use_business_hours",
)


def month_period_apply(*, fiscal_year: int, month: int, period_type: str) -> FiscalMonthPeriod:
    """The raw write a preview runs in its rolled-back savepoint."""
    obj, _ = FiscalMonthPeriod.objects.update_or_create(
        fiscal_year=fiscal_year, month=month, defaults={"period_type": period_type}
    )
    return obj


def month_period_save(*, actor, fiscal_year: int, month: int, period_type: str, reason: str) -> FiscalMonthPeriod:
    row = FiscalMonthPeriod.objects.filter(fiscal_year=fiscal_year, month=month).first()
    if row is None:
        return contract_settings.kpi_setting_create(
            model=FiscalMonthPeriod,
            actor=actor,
            data={"fiscal_year": fiscal_year, "month": month, "period_type": period_type},
            reason=reason,
        )
    return contract_settings.kpi_setting_correct(obj=row, actor=actor, data={"period_type": period_type}, reason=reason)


def target_apply(*, target: KpiTarget | None, data: dict[str, Any]) -> KpiTarget:
    obj = KpiTarget() if target is None else KpiTarget.objects.get(pk=target.pk)
    for name, value in data.items():
        setattr(obj, name, value)
    obj.save()
    return obj


def target_save(*, actor, target: KpiTarget | None, data: dict[str, Any], reason: str) -> KpiTarget:
    data = {k: v for k, v in data.items() if k in TARGET_FIELDS}
    if target is None:
        return contract_settings.kpi_setting_create(model=KpiTarget, actor=actor, data=data, reason=reason)
    return contract_settings.kpi_setting_correct(obj=target, actor=actor, data=data, reason=reason)


# --- the service calendar ---------------------------------------------------------------------


def _day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(day, dt.time(0), TOKYO)
    return start, start + dt.timedelta(days=1)


def calendar_day_apply(*, date: dt.date, kind: str, opens_at=None, closes_at=None, note: str = "") -> None:
    if kind == CalendarDay.Kind.CLOSED:
        opens_at = closes_at = None
    CalendarDay.objects.update_or_create(
        date=date, defaults={"kind": kind, "opens_at": opens_at, "closes_at": closes_at, "note": note}
    )
    calls_reclassify_service_hours(start=_day_bounds(date)[0], end=_day_bounds(date)[1])


def calendar_day_remove_apply(*, date: dt.date) -> None:
    CalendarDay.objects.filter(date=date).delete()
    calls_reclassify_service_hours(start=_day_bounds(date)[0], end=_day_bounds(date)[1])


def service_hours_apply(*, weekly: list[dict[str, Any]], start: dt.datetime | None, end: dt.datetime | None) -> None:
    ServiceHours.objects.all().delete()
    ServiceHours.objects.bulk_create(ServiceHours(**w) for w in weekly)
    if start is not None and end is not None:
        calls_reclassify_service_hours(start=start, end=end)


calendar_day_save = service_hours.calendar_day_set
calendar_day_remove = service_hours.calendar_day_delete
service_hours_save = service_hours.service_hours_set
