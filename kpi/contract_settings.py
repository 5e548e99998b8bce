"""Writes on the contract settings the KPI reads: targets per contract period (KpiTarget) and
the busy-month calendar (FiscalMonthPeriod). Every field of both feeds a figure, so each
add, change or removal is an audited correction with a required reason
(helpdesk.corrections); the cached figures of the months it affects are dropped
after commit, so the next read recomputes them."""

from __future__ import annotations

import datetime as dt
from typing import Any, TypeVar

from django.core.cache import cache
from django.db import models, transaction
from django.utils import timezone

from helpdesk.clock import Month
from helpdesk.corrections import record_correct, record_create, record_delete
from kpi import selectors
from kpi.models import FiscalMonthPeriod, KpiTarget

M = TypeVar("M", bound=models.Model)

SETTINGS_MODELS = (KpiTarget, FiscalMonthPeriod)


def _months_of(obj: models.Model) -> set[Month]:
    """The months whose figures the row decides (up to the current month)."""
    now = timezone.localtime(timezone.now())
    current = Month(now.year, now.month)
    if isinstance(obj, FiscalMonthPeriod):
        return {Month(obj.fiscal_year if obj.month >= 4 else obj.fiscal_year + 1, obj.month)}
    if isinstance(obj, KpiTarget):
        months, m = set(), Month(obj.valid_from.year, obj.valid_from.month)
        last = current
        if obj.valid_to is not None:
            end = obj.valid_to - dt.timedelta(days=1)
            last = min(current, Month(end.year, end.month))
        while m <= last:
            months.add(m)
            m = m.next()
        return months
    return set()


def kpi_setting_months(obj: models.Model) -> set[Month]:
    """The months (up to the current one) whose figures a target period or a month's period
    type decides: what a change to it restates (the desk lists them before saving)."""
    return _months_of(obj)


def _forget_later(months: set[Month]) -> None:
    keys = [selectors.cache_key(m) for m in months]
    if keys:
        transaction.on_commit(lambda: cache.delete_many(keys))


def _check(model: type[models.Model]) -> None:
    if model not in SETTINGS_MODELS:
        raise TypeError(f"{model.__name__} is not a KPI contract setting")


@transaction.atomic
def kpi_setting_create(*, model: type[M], actor, data: dict[str, Any], reason: str) -> M:
    """Add a target period or a month's period type."""
    _check(model)
    obj = record_create(model=model, actor=actor, data=data, reason=reason)
    _forget_later(_months_of(obj))
    return obj


@transaction.atomic
def kpi_setting_correct(*, obj: M, actor, data: dict[str, Any], reason: str) -> M:
    """Change a target period or a month's period type; every field may be changed."""
    _check(type(obj))
    before = _months_of(type(obj)._default_manager.get(pk=obj.pk))
    updated = record_correct(obj=obj, actor=actor, data=data, reason=reason)
    _forget_later(before | _months_of(updated))
    return updated


@transaction.atomic
def kpi_setting_delete(*, obj: models.Model, actor, reason: str) -> None:
    """Remove a target period (months fall back to the defaults) or a month's override."""
    _check(type(obj))
    months = _months_of(obj)
    record_delete(obj=obj, actor=actor, reason=reason)
    _forget_later(months)
