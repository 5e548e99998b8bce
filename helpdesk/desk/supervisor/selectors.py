"""Reads of the supervisor's board (docs/desk-supervisor.md). The contract's figures come
from the KPI app (`kpi.today`, `kpi.metrics`, `kpi.selectors`): nothing here re-defines a
metric. Every read is a constant number of queries, however many rows the day holds."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone

from faq.models import IvrAnnouncement, SurgeAlert
from helpdesk.models import AgentProfile, Complaint, Escalation, Inquiry, Role
from kpi import display, metrics
from kpi import today as kpi_today
from kpi.models import PeriodType
from kpi.selectors import drill_answered_calls, kpi_target_for
from kpi.today import Day

# An agent's request waits for a supervisor; a handover waits for the other party. Past these
# ages the board highlights them (the mail target is 24 h, so a handover older than a
# working day puts the citizen's answer at risk).
INTERNAL_OVERDUE = dt.timedelta(minutes=30)
EXTERNAL_OVERDUE = dt.timedelta(hours=24)
WRAPUP_CALLS_SHOWN = 50
ESCALATIONS_SHOWN = 20
COMPLAINTS_SHOWN = 30
OPEN_STATUSES = kpi_today.OPEN_STATUSES  # an agent's open load: one definition with the stored figures


@dataclass(frozen=True)
class AgentRow:
    username: str
    user_id: int | None
    pbx_login: str
    open_inquiries: int
    calls_answered: int


def board_live(*, day: Day, figures: dict[str, Any] | None = None, now: dt.datetime | None = None) -> dict[str, Any]:
    """The live panel: the day's phone figures (KPI definitions), mail waiting, the longest
    recent queue wait, the day's inquiries by status and each agent's load. `figures` are
    the day's stored KPI figures (`kpi.services.kpi_day_figures`: phone, counts, the latest
    wait, the open load, and a past day's mail); computed here when not given. Only a running
    day's mail figure is read per request: it moves with the clock, not with the records."""
    now = now or timezone.now()
    as_of, live = kpi_today.day_bounds(day, now)
    figures = figures or kpi_today.day_figures_decode(kpi_today.day_figures_compute(day=day, as_of=as_of))
    phone = figures["phone"]
    mail = figures["mail"]
    if mail is None or as_of != day.end:
        mail = kpi_today.waiting_mail(as_of=as_of, email_max_seconds=phone["email_max_seconds"])
    wait = figures["wait"]
    by_status = figures["inquiries_by_status"]
    statuses = [(s.value, s.label, by_status.get(s.value, 0)) for s in Inquiry.Status]
    ar = phone["answer_rate"]
    return {
        "display": {
            "answer_rate": display.rate_display(ar["value"]),
            "target": display.rate_display(ar["target"]),
            "period": PeriodType(phone["period_type"]).label,
            "wait": display.aht_display(wait["seconds"]),
            "oldest_mail": display.email_time_display(mail["oldest_age_seconds"]),
        },
        "day": day,
        "live": live,
        "as_of": as_of,
        "phone": phone,
        "mail": mail,
        "wait": wait,
        "statuses": statuses,
        "inquiries_total": sum(by_status.values()),
        "agents": agent_rows(
            day=day, calls_by_login=figures["calls_answered_by_agent"], open_by_user=figures["open_by_assignee"]
        ),
    }


def agent_rows(
    *, day: Day, calls_by_login: dict[str, int] | None = None, open_by_user: dict[int, int] | None = None
) -> list[AgentRow]:
    """Every active agent (the agent role, or a PBX login seen in the day's calls): open
    inquiries assigned now (`open_by_user`, stored with the day's figures, or
    `kpi.today.open_inquiries_by_assignee`) and calls answered that day (`calls_by_login`, the
    day's stored figure, or `kpi.today.calls_answered_by_agent`). Five queries at most."""
    User = get_user_model()
    users = list(
        User.objects.filter(is_active=True, groups__name=Role.AGENT)
        .order_by("username")
        .values_list("id", "username")
        .distinct()
    )
    logins = dict(AgentProfile.objects.values_list("pbx_login", "user_id"))
    user_login = {uid: login for login, uid in logins.items()}
    if open_by_user is None:
        open_by_user = kpi_today.open_inquiries_by_assignee(statuses=OPEN_STATUSES)
    if calls_by_login is None:
        calls_by_login = kpi_today.calls_answered_by_agent(day=day)
    rows = []
    seen_logins = set()
    for uid, username in users:
        login = user_login.get(uid, "")
        seen_logins.add(login)
        rows.append(AgentRow(username, uid, login, open_by_user.get(uid, 0), calls_by_login.get(login, 0)))
    names = dict(
        User.objects.filter(id__in=[logins[x] for x in calls_by_login if x in logins]).values_list("id", "username")
    )
    for login, n in sorted(calls_by_login.items()):
        if login in seen_logins:
            continue
        uid = logins.get(login)
        rows.append(AgentRow(names.get(uid, login), uid, login, open_by_user.get(uid, 0) if uid else 0, n))
    return rows


# --- escalations ----------------------------------------------------------------------------


def open_escalations(*, now: dt.datetime | None = None) -> dict[str, Any]:
    """Escalations without an answer: the agents' requests (internal) and the handovers
    outside the contractor, oldest first (ESCALATIONS_SHOWN of each), each with `overdue`
    set, and how many there are and how many are overdue. Seven queries at most."""
    now = now or timezone.now()
    internal = Q(target=Escalation.Target.INTERNAL)
    open_ = Escalation.objects.filter(returned_at__isnull=True)
    counts = open_.order_by().aggregate(
        requests=Count("id", filter=internal),
        handovers=Count("id", filter=~internal),
        requests_overdue=Count("id", filter=internal & Q(escalated_at__lt=now - INTERNAL_OVERDUE)),
        handovers_overdue=Count("id", filter=~internal & Q(escalated_at__lt=now - EXTERNAL_OVERDUE)),
    )

    def oldest(which: Q, limit: dt.timedelta) -> list[Escalation]:
        rows = list(
            open_.filter(which)
            .only("id", "target", "organization", "escalated_at", "note", "inquiry_id", "requested_by_id")
            .order_by("escalated_at", "id")[:ESCALATIONS_SHOWN]
            # the page's inquiries and users by id afterwards: a join would make PostgreSQL
            # hash the whole inquiry table before the LIMIT
            .prefetch_related(
                Prefetch("inquiry", queryset=Inquiry.objects.only("id", "ref", "status")),
                Prefetch("requested_by", queryset=get_user_model().objects.only("id", "username")),
            )
        )
        for e in rows:
            e.overdue = now - e.escalated_at > limit
        return rows

    return {
        "requests": oldest(internal, INTERNAL_OVERDUE),
        "handovers": oldest(~internal, EXTERNAL_OVERDUE),
        "counts": counts,
        "shown": ESCALATIONS_SHOWN,
    }


# --- wrap-ups -------------------------------------------------------------------------------


def wrapup_problems(*, day: Day) -> dict[str, Any]:
    """The day's answered calls without a wrap-up and those whose ACW was capped, by agent:
    the KPI drill-down's own queryset (`kpi.selectors.drill_answered_calls`, its
    `missing_wrapup` / `acw_capped` flags from `HandleParts`) narrowed to the day. Two queries."""
    month = day.month
    qs = drill_answered_calls(month=month).filter(arrived_at__gte=day.start, arrived_at__lt=day.end)
    problems = qs.filter(Q(missing_wrapup=True) | Q(acw_capped=True))
    by_agent = list(
        problems.order_by()
        .values("agent")
        .annotate(
            missing=Count("id", filter=Q(missing_wrapup=True)),
            capped=Count("id", filter=Q(acw_capped=True)),
        )
        .order_by("agent")
    )
    calls = list(
        problems.order_by("-arrived_at", "-id").values(
            "call_id", "agent", "arrived_at", "missing_wrapup", "acw_capped", "acw_end_s", "inquiry_ref"
        )[:WRAPUP_CALLS_SHOWN]
    )
    return {
        "by_agent": by_agent,
        "calls": calls,
        "missing": sum(r["missing"] for r in by_agent),
        "capped": sum(r["capped"] for r in by_agent),
        "shown": WRAPUP_CALLS_SHOWN,
    }


# --- complaints -----------------------------------------------------------------------------


def complaints_panel(*, day: Day) -> dict[str, Any]:
    """The month's §5 count (kpi.metrics.complaint_count) against the target, and the
    complaints still waiting for a confirmed cause (the oldest COMPLAINTS_SHOWN). Four queries at most."""
    month = day.month
    count = metrics.complaint_count(month)
    limit = kpi_target_for(month=month).complaints_limit
    unconfirmed = Complaint.objects.filter(confirmed_at__isnull=True)
    pending = list(
        unconfirmed.select_related("inquiry")
        .only("id", "received_at", "cause", "description", "inquiry__id", "inquiry__ref")
        .order_by("received_at", "id")[:COMPLAINTS_SHOWN]
    )
    return {
        "month": month,
        "count": count["count"],
        "recorded": count["recorded"],
        "limit": limit,
        "met": count["count"] < limit,
        "pending": pending,
        "pending_count": unconfirmed.count() if len(pending) >= COMPLAINTS_SHOWN else len(pending),
        "causes": Complaint.Cause.choices,
    }


# --- surges ---------------------------------------------------------------------------------


def surges_panel(*, day: Day) -> dict[str, Any]:
    """The FAQ app's surge alerts of the last four weeks up to the day, and the IVR
    announcements proposed and not yet decided (the admin approves them). Two queries."""
    since = day.date - dt.timedelta(days=28)
    alerts = list(
        SurgeAlert.objects.filter(period_end__gte=since, period_start__lte=day.date)
        .select_related("cluster")
        .order_by("-period_start", "cluster__cluster_id")[:20]
    )
    proposals = list(
        IvrAnnouncement.objects.filter(status=IvrAnnouncement.Status.PROPOSED).order_by("-created_at")[:20]
    )
    return {"alerts": alerts, "proposals": proposals}


def inquiry_by_ref(ref: str) -> Inquiry | None:
    return Inquiry.objects.filter(ref=(ref or "").strip()).first()


def escalation_open(pk: int) -> QuerySet[Escalation]:
    return Escalation.objects.filter(pk=pk)
