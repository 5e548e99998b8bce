"""Reads for the phone desk: an agent's current/last call, calls answered but never
wrapped up (supervisors), the service calendar."""

import datetime as dt

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404

from helpdesk.errors import NotFoundError
from helpdesk.models import (
    AgentProfile,
    CalendarDay,
    Call,
    ServiceHours,
)


def call_by_call_id(*, call_id: str) -> Call:
    """A call by its PBX id; NotFoundError (404 naming the id) if it was never imported."""
    call = Call.objects.filter(call_id=call_id).first()
    if call is None:
        raise NotFoundError("通話が見つかりません。", extra={"call_id": call_id})
    return call


def call_latest_for_agent(*, user) -> Call:
    """ "My current/last call": the latest call the PBX gave to the user's PBX login."""
    login = AgentProfile.objects.filter(user=user).values_list("pbx_login", flat=True).first()
    if not login:
        raise NotFoundError("PBXログインが登録されていません。管理者に AgentProfile の登録を依頼してください。")
    call = (
        Call.objects.select_related("inquiry")
        .filter(agent=login, outcome=Call.Outcome.ANSWERED)
        .order_by("-answered_at", "-id")
        .first()
    )
    if call is None:
        raise NotFoundError("あなたが応答した通話はまだ取り込まれていません。", extra={"pbx_login": login})
    return call


def calls_missing_wrapup(
    *, start: dt.datetime | None = None, end: dt.datetime | None = None, agent: str | None = None
) -> QuerySet[Call]:
    """Answered calls with no PBX after-call work and no completed wrap-up: no inquiry
    logged for them, or one whose wrap-up was never completed (docs/kpi.md §2: not a free
    0 s — their ACW runs to the agent's next answered call or call end + the ACW limit —
    and they appear in `calls_missing_wrapup`)."""
    calls = Call.objects.filter(outcome=Call.Outcome.ANSWERED, acw_seconds__isnull=True).filter(
        Q(inquiry__isnull=True) | Q(inquiry__wrapup_completed_at__isnull=True)
    )
    if start is not None:
        calls = calls.filter(arrived_at__gte=start)
    if end is not None:
        calls = calls.filter(arrived_at__lt=end)
    if agent:
        calls = calls.filter(agent=agent)
    return calls.select_related("inquiry").order_by("-arrived_at", "-id")


def service_hours_list() -> QuerySet[ServiceHours]:
    return ServiceHours.objects.order_by("weekday")


def calendar_day_list(*, start: dt.date | None = None, end: dt.date | None = None) -> QuerySet[CalendarDay]:
    days = CalendarDay.objects.order_by("date")
    if start:
        days = days.filter(date__gte=start)
    if end:
        days = days.filter(date__lte=end)
    return days


def call_list() -> QuerySet[Call]:
    return Call.objects.select_related("inquiry").order_by("-arrived_at", "-id")


def call_get(*, call_id: str) -> Call:
    return get_object_or_404(Call.objects.select_related("inquiry"), call_id=call_id)
