"""The supervisor's board (docs/desk-supervisor.md). Thin: parse, call a selector or a
service, render. Each panel is a fragment the page includes and htmx refreshes in place
(`?date=` picks the day; bad input is a 400 naming the field, never a 500)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html_join
from django.views.decorators.http import require_GET, require_POST

from helpdesk.clock import TOKYO
from helpdesk.complaints.services import complaint_classify, complaint_record
from helpdesk.desk.htmx import HtmxHttpRequest
from helpdesk.desk.permissions import supervisor_required
from helpdesk.desk.supervisor import selectors
from helpdesk.desk.supervisor.cache import cached, data_version, invalidate
from helpdesk.desk.supervisor.services import board_live_display
from helpdesk.desk.supervisor.staffing import staffing_panel
from helpdesk.errors import ApplicationError
from helpdesk.escalations.services import escalation_create, escalation_forward, escalation_record_return
from helpdesk.models import Complaint, Escalation, Inquiry
from kpi.today import Day

EXTERNAL_TARGETS = [(t.value, t.label) for t in Escalation.EXTERNAL_TARGETS]


class BadInput(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


def _day(request: HtmxHttpRequest) -> Day:
    raw = request.GET.get("date") or request.POST.get("date")
    if not raw:
        return Day.today()
    try:
        return Day.parse(raw)
    except ValueError as exc:
        raise BadInput("date", str(exc)) from exc


def _bad_request(exc: BadInput) -> HttpResponse:
    return HttpResponse(f"{exc.field}: {exc.message}", status=400, content_type="text/plain; charset=utf-8")


def _q(name: str, **params: Any) -> str:
    return f"{reverse(name)}?{urlencode(params, doseq=True)}"


def _links(day: Day) -> dict[str, Any]:
    """Where each figure's records are: the KPI drill-down (filtered to the day) and the
    record lists of the API."""
    month = str(day.month)
    span = {"arrived_after": day.start.isoformat(), "arrived_before": day.end.isoformat()}
    received = {"received_after": day.start.isoformat(), "received_before": day.end.isoformat()}

    def drill(endpoint: str, **params: Any) -> str:
        base = reverse(f"kpi-drill-{endpoint}", kwargs={"month": month})
        return f"{base}?{urlencode(params, doseq=True)}" if params else base

    # the per-row links of the agents' table: the list URL and its fixed query once per
    # page, not a `{% url %}` and four filters per agent (a national center has ~100 agents)
    open_status_qs = urlencode([("status", s) for s in selectors.OPEN_STATUSES])
    return {
        "calls": _q("api-call-list", **span),
        "inquiry_list": reverse("api-inquiry-list"),
        "call_list": reverse("api-call-list"),
        "open_status_qs": open_status_qs,
        "answered_span_qs": urlencode({"outcome": "answered", **span}),
        "received_qs": urlencode(received),
        "in_hours": drill("answered-calls", date=str(day)),
        "answered": drill("answered-calls", date=str(day)),
        "ivr": drill("abandoned-calls", date=str(day), kind="ivr"),
        "queue": drill("abandoned-calls", date=str(day), kind="queue"),
        "complaints": drill("complaints", counted="true"),
        "status": {s.value: _q("api-inquiry-list", status=s.value, **received) for s in Inquiry.Status},
        "inquiries": _q("api-inquiry-list", **received),
        "surges": reverse("api-faq-surge-list"),
        "ivr_admin": reverse("desk:admin:home"),
        "escalations": _q("api-escalation-list", returned="false"),
        "open_statuses": list(selectors.OPEN_STATUSES),
        "span": span,
        "month": month,
    }


def _context(day: Day, **extra: Any) -> dict[str, Any]:
    today = Day.today()
    return {
        "day": day,
        "is_today": day == today,
        "today": today,
        "poll_seconds": settings.DESK_SUPERVISOR_POLL_SECONDS,
        "links": _links(day),
        "external_targets": EXTERNAL_TARGETS,
        # the same <option>s under each of the 20 agents' requests: rendered once per page
        "target_options": format_html_join("", '<option value="{}">{}</option>', EXTERNAL_TARGETS),
        **extra,
    }


def _live_context(day: Day, version: str | None = None) -> dict[str, Any]:
    live = Day.today() == day
    if version is None and settings.DESK_SUPERVISOR_CACHE_SECONDS > 0:
        version = data_version()  # read once: the cache key and the stored figures' freshness
    board = cached(
        "live",
        day,
        live=live,
        # the version this page read (if any): not read a second time
        compute=lambda: board_live_display(day, version=int(version) if version is not None else None),
        version=version,
        keep=lambda b: b["stale_as_of"] is None,
    )
    ctx = _context(day, board=board)
    # the mail figure is a moment's: its link lists exactly the set counted at that moment
    ctx["links"]["mail"] = _q("kpi-mail-waiting", as_of=board["as_of"].astimezone(TOKYO).isoformat())
    return ctx


def _wrapups_context(day: Day) -> dict[str, Any]:
    live = Day.today() == day
    return _context(day, wrapups=cached("wrapups", day, live=live, compute=lambda: selectors.wrapup_problems(day=day)))


def _escalations(day: Day, version: str | None = None) -> dict[str, Any]:
    # not per day: what is open now; cached under today's key
    return cached("escalations", Day.today(), live=True, compute=selectors.open_escalations, version=version)


def _complaints(day: Day, version: str | None = None) -> dict[str, Any]:
    compute = lambda: selectors.complaints_panel(day=day)  # noqa: E731
    return cached("complaints", day, live=True, compute=compute, version=version)


def _escalations_context(day: Day, **extra: Any) -> dict[str, Any]:
    return _context(day, escalations=_escalations(day), **extra)


def _complaints_context(day: Day, **extra: Any) -> dict[str, Any]:
    return _context(day, complaints=_complaints(day), **extra)


@supervisor_required
@require_GET
def board(request: HtmxHttpRequest) -> HttpResponse:
    try:
        day = _day(request)
    except BadInput as exc:
        return _bad_request(exc)
    version = data_version() if settings.DESK_SUPERVISOR_CACHE_SECONDS > 0 else None
    ctx = _live_context(day, version)
    ctx.update(escalations=_escalations(day, version), complaints=_complaints(day, version))
    ctx.update(surges=selectors.surges_panel(day=day))
    return render(request, "desk/supervisor/board.html", ctx)


def _fragment(template: str, build):
    @supervisor_required
    @require_GET
    def view(request: HtmxHttpRequest) -> HttpResponse:
        try:
            day = _day(request)
        except BadInput as exc:
            return _bad_request(exc)
        return render(request, template, build(day))

    return view


live = _fragment("desk/supervisor/_live.html", _live_context)
escalations = _fragment("desk/supervisor/_escalations.html", _escalations_context)
complaints = _fragment("desk/supervisor/_complaints.html", _complaints_context)
wrapups = _fragment("desk/supervisor/_wrapups.html", _wrapups_context)
surges = _fragment("desk/supervisor/_surges.html", lambda day: _context(day, surges=selectors.surges_panel(day=day)))
staffing = _fragment("desk/supervisor/_staffing.html", lambda day: _context(day, staffing=staffing_panel(day=day)))


# --- writes ---------------------------------------------------------------------------------


def _answer(request: HtmxHttpRequest, day: Day, template: str, build, *, error: BadInput | None = None) -> HttpResponse:
    """After a write: the refreshed panel for htmx (400 with the error named when the input
    was refused), a redirect to the board otherwise."""
    if error is None:
        invalidate()
    if error is None and not request.htmx:
        return HttpResponseRedirect(f"{reverse('desk:supervisor:board')}?date={day}")
    ctx = build(day, error=error, values=request.POST) if error else build(day)
    if error is None:
        ctx["done"] = True
    return render(request, template, ctx, status=400 if error else 200)


def _service_error(exc: Exception, default_field: str) -> BadInput:
    if isinstance(exc, ValidationError):
        if hasattr(exc, "message_dict"):
            field, messages = next(iter(exc.message_dict.items()))
            return BadInput(default_field if field == "__all__" else field, "".join(messages))
        return BadInput(default_field, "".join(exc.messages))
    if isinstance(exc, ApplicationError):
        return BadInput(exc.extra.get("field", default_field), exc.message)
    raise exc


def _post_day(request: HtmxHttpRequest) -> Day:
    try:
        return _day(request)
    except BadInput:
        return Day.today()


@supervisor_required
@require_POST
def escalate(request: HtmxHttpRequest) -> HttpResponse:
    """Escalate outside the contractor: an agent's request (`request` = its id) or any
    inquiry by its reference (`inquiry`)."""
    day = _post_day(request)
    p = request.POST
    target = p.get("target", "")
    error = None
    if target not in dict(EXTERNAL_TARGETS):
        error = BadInput("target", "エスカレーション先を選んでください。")
    else:
        try:
            if p.get("request"):
                req = Escalation.objects.filter(pk=_int(p["request"], "request")).select_related("inquiry").first()
                if req is None:
                    raise BadInput("request", "依頼が見つかりません。")
                escalation_forward(
                    request=req,
                    actor=request.user,
                    target=target,
                    organization=p.get("organization", "").strip(),
                    note=p.get("note", "").strip(),
                )
            else:
                inquiry = selectors.inquiry_by_ref(p.get("inquiry", ""))
                if inquiry is None:
                    raise BadInput("inquiry", "問い合わせ番号が見つかりません。")
                escalation_create(
                    inquiry=inquiry,
                    actor=request.user,
                    target=target,
                    organization=p.get("organization", "").strip(),
                    note=p.get("note", "").strip(),
                )
        except BadInput as exc:
            error = exc
        except (ValidationError, ApplicationError) as exc:
            error = _service_error(exc, "target")
    return _answer(request, day, "desk/supervisor/_escalations.html", _escalations_context, error=error)


@supervisor_required
@require_POST
def record_return(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """The other party's answer came back (or the supervisor answers an agent's request):
    `escalation_record_return` moves the inquiry on; the agent's notification hangs off
    that service (issue 13's notifications), nothing extra is called here."""
    day = _post_day(request)
    error = None
    escalation = Escalation.objects.filter(pk=pk).select_related("inquiry").first()
    if escalation is None:
        error = BadInput("escalation", "エスカレーションが見つかりません。")
    else:
        try:
            escalation_record_return(escalation=escalation, actor=request.user, answer=request.POST.get("answer", ""))
        except (ValidationError, ApplicationError) as exc:
            error = _service_error(exc, "answer")
    if error is not None:
        error.pk = pk  # type: ignore[attr-defined]
    return _answer(request, day, "desk/supervisor/_escalations.html", _escalations_context, error=error)


@supervisor_required
@require_POST
def complaint_new(request: HtmxHttpRequest) -> HttpResponse:
    day = _post_day(request)
    error = None
    inquiry = selectors.inquiry_by_ref(request.POST.get("inquiry", ""))
    if inquiry is None:
        error = BadInput("inquiry", "問い合わせ番号が見つかりません。")
    else:
        try:
            complaint_record(
                inquiry=inquiry,
                actor=request.user,
                description=request.POST.get("description", "").strip(),
                received_at=timezone.now(),
            )
        except (ValidationError, ApplicationError) as exc:
            error = _service_error(exc, "description")
    return _answer(request, day, "desk/supervisor/_complaints.html", _complaints_context, error=error)


@supervisor_required
@require_POST
def complaint_confirm(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Classify and confirm a complaint's cause (only a confirmed operator error counts)."""
    day = _post_day(request)
    error = None
    complaint = Complaint.objects.filter(pk=pk).first()
    if complaint is None:
        error = BadInput("complaint", "苦情が見つかりません。")
    else:
        try:
            complaint_classify(
                complaint=complaint,
                actor=request.user,
                cause=request.POST.get("cause", ""),
                reason=request.POST.get("reason", ""),
            )
        except (ValidationError, ApplicationError) as exc:
            error = _service_error(exc, "cause")
    if error is not None:
        error.pk = pk  # type: ignore[attr-defined]
    return _answer(request, day, "desk/supervisor/_complaints.html", _complaints_context, error=error)


def _int(value: str, field: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise BadInput(field, f"{field} は整数にしてください。") from None
