"""The agent's desk: the queue, the inquiry page with its thread and actions, "my call now".
Views parse a form, call one selector or service and render; a bad value is a form error
answered 400, a stale version a 409 that shows what changed and keeps the agent's text.
Every page that shows personal information in full leaves a VIEW_PII audit row, as the
API's detail views do; lists show it masked (helpdesk.pii). docs/desk.md."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.forms import ChoiceField
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from faq.selectors import faq_entry_suggestions
from helpdesk import pii
from helpdesk.audit import audit_pii_view
from helpdesk.desk.agent import forms as f
from helpdesk.desk.agent import selectors as sel
from helpdesk.desk.agent.services import desk_reply, desk_wrapup
from helpdesk.desk.htmx import HtmxHttpRequest
from helpdesk.desk.permissions import operator_required
from helpdesk.errors import (
    ApplicationError,
    ConflictError,
    InvalidTransitionError,
    NotFoundError,
    PermissionDeniedError,
)
from helpdesk.escalations.services import escalation_create
from helpdesk.inquiries.notes import inquiry_note_add
from helpdesk.inquiries.serializers import INQUIRY_PII_FIELDS
from helpdesk.inquiries.services import inquiry_assign, inquiry_transition
from helpdesk.models import Call, Inquiry
from helpdesk.phone.linking import call_log_inquiry
from helpdesk.phone.selectors import call_by_call_id, call_latest_for_agent
from helpdesk.roles import is_supervisor


def _render(request: HtmxHttpRequest, template: str, context: dict, status: int = 200) -> HttpResponse:
    # Every page here is for staff operators (the decorators checked): the navigation shows
    # the agent's links without asking the permission tables again (two queries a page).
    return render(request, template, {**context, "desk_operator": True}, status=status)


# --- the queue ------------------------------------------------------------------------------------


@require_GET
@operator_required
def queue(request: HtmxHttpRequest) -> HttpResponse:
    """/desk/: my open inquiries, unassigned ones, the ones near or past the mail target —
    filtered, searched, paged by cursor. Requesters' names are masked, as in every list."""
    form = f.QueueFilterForm(request.GET)
    page, status = None, 200
    if form.is_valid():
        try:
            page = sel.queue_page(user=request.user, filters=form.filters(), cursor=form.cleaned_data["cursor"])
        except sel.BadCursor:
            form.add_error("cursor", _("ページの指定が正しくありません。最初のページから開いてください。"))
    if page is None:
        status = 400
    filters = form.filters() if form.is_valid() else sel.QueueFilters()
    rows = []
    if page is not None:
        base = reverse("desk:inquiry", args=["REF"]).replace("REF/", "")  # one reverse, not one per row
        rows = [
            {
                "row": row,
                "url": f"{base}{row.inquiry.ref}/",
                "name": pii.mask_name(row.inquiry.requester_name),
                "left": _left_display(row.seconds_left),
            }
            for row in page.rows
        ]
    context = {
        "form": form,
        "filters": filters,
        "views": [(v, f.VIEW_LABELS[v]) for v in sel.QUEUE_VIEWS],
        "page": page,
        "rows": rows,
        "next_query": _next_query(request, page.next_cursor) if page and page.next_cursor else "",
        "target_hours": (page.target_seconds // 3600) if page else 24,
    }
    return _render(request, "desk/agent/queue.html", context, status=status)


def _next_query(request: HtmxHttpRequest, cursor: str) -> str:
    params = request.GET.copy()
    params["cursor"] = cursor
    return params.urlencode()


def _left_display(seconds: float | None) -> str:
    if seconds is None:
        return ""
    minutes = int(abs(seconds) // 60)
    hours, minutes = divmod(minutes, 60)
    span = _("%(h)d時間%(m)02d分") % {"h": hours, "m": minutes}
    return (_("超過 %(span)s") if seconds < 0 else _("残り %(span)s")) % {"span": span}


# --- the inquiry page -----------------------------------------------------------------------------


def _pii_fields(inquiry: Inquiry, thread) -> list[str]:
    fields = [name for name in INQUIRY_PII_FIELDS if getattr(inquiry, name)]
    if any(item.kind == "mail" for item in thread):
        fields.append("messages")
    if inquiry.call and inquiry.call.caller:
        fields.append("caller")
    return fields


def _page_context(request: HtmxHttpRequest, inquiry: Inquiry, **forms) -> dict:
    user = request.user
    thread = sel.inquiry_thread(inquiry=inquiry)
    has_mail = any(item.kind == "mail" for item in thread)
    if inquiry.body and not has_mail:
        # The question as the agent noted it (a mail inquiry's question is its first mail):
        # after the call it was asked on.
        at = 1 if thread and thread[0].kind == "call" else 0
        thread.insert(at, sel.ThreadItem("question", inquiry.received_at, inquiry))
    history = [
        {
            "inquiry": other,
            "email": pii.mask_email(other.requester_email),
            "phone": pii.mask_phone(other.requester_phone),
        }
        for other in sel.requester_history(inquiry=inquiry)
    ]
    due = sel.inquiry_due(inquiry)
    version = {"version": inquiry.version}
    allowed = [(s, Inquiry.Status(s).label) for s in Inquiry.TRANSITIONS.get(inquiry.status, ())]
    transition_form = forms.get("transition_form") or f.TransitionForm(initial=version)
    status_field = transition_form.fields["status"]
    assert isinstance(status_field, ChoiceField)
    status_field.choices = allowed
    can_reply = inquiry.channel in (Inquiry.Channel.EMAIL, Inquiry.Channel.FORM)
    can_wrapup = inquiry.call_id is not None and inquiry.wrapup_completed_at is None
    context = {
        "inquiry": inquiry,
        "due": due,
        "due_left": _left_display(due.seconds_left),
        "thread": thread,
        "history": history,
        "can_reply": can_reply,
        "can_wrapup": can_wrapup,
        "is_supervisor": is_supervisor(user),
        "is_mine": inquiry.assigned_to_id == user.pk,
        "assignable": list(sel.assignable_users()) if is_supervisor(user) else [],
        "reply_form": forms.get("reply_form") or f.ReplyForm(initial=version),
        "note_form": forms.get("note_form") or f.NoteForm(),
        "transition_form": transition_form,
        "allowed_transitions": allowed,
        "assign_form": forms.get("assign_form") or f.AssignForm(initial=version),
        "escalation_form": forms.get("escalation_form") or f.EscalationForm(user=user),
        "wrapup_form": forms.get("wrapup_form")
        or f.WrapupForm(
            initial={
                **version,
                "category": inquiry.category,
                "subject": inquiry.subject,
                "resolution": inquiry.resolution,
            }
        ),
    }
    return context


@require_GET
@operator_required
def inquiry_detail(request: HtmxHttpRequest, ref: str) -> HttpResponse:
    """/desk/inquiries/<ref>/: header, thread, the requester's history, the actions. Shows
    personal information in full: one VIEW_PII audit row per view."""
    inquiry = sel.desk_inquiry_get(ref=ref)
    context = _page_context(request, inquiry)
    fields = _pii_fields(inquiry, context["thread"])
    if fields:
        audit_pii_view(actor=request.user, obj=inquiry, fields=fields, note="desk inquiry page")
    return _render(request, "desk/agent/inquiry.html", context)


@require_GET
@operator_required
def faq_suggestions(request: HtmxHttpRequest, ref: str) -> HttpResponse:
    """Published FAQ entries nearest to the inquiry, loaded after the page (htmx): each one
    a button that inserts its answer into the reply box (static/desk/agent.js)."""
    inquiry = get_object_or_404(Inquiry.objects.only("id", "ref", "subject", "body"), ref=ref.upper())
    found = [entry for entry, _score in faq_entry_suggestions(inquiry=inquiry, limit=5)]
    return _render(request, "desk/agent/_faq_suggestions.html", {"entries": found, "inquiry": inquiry})


# --- actions --------------------------------------------------------------------------------------

# Each action: its form's partial template and the form's context name.
_PARTIALS = {
    "reply_form": "desk/agent/_reply_form.html",
    "note_form": "desk/agent/_note_form.html",
    "transition_form": "desk/agent/_transition_form.html",
    "assign_form": "desk/agent/_assign_form.html",
    "escalation_form": "desk/agent/_escalation_form.html",
    "wrapup_form": "desk/agent/_wrapup_form.html",
}


def _done(request: HtmxHttpRequest, inquiry: Inquiry, message: str) -> HttpResponse:
    """After a write: back to the inquiry page (a fresh read, a fresh version)."""
    messages.success(request, message)
    url = reverse("desk:inquiry", args=[inquiry.ref])
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return redirect(url)


def _failed(
    request: HtmxHttpRequest,
    inquiry: Inquiry,
    name: str,
    form,
    *,
    status: int,
    error: str = "",
    conflict: list | None = None,
) -> HttpResponse:
    """The form again, as the agent typed it, with the reason; for a stale version, what
    changed meanwhile and the form re-armed with the current version."""
    current = Inquiry.objects.select_related("assigned_to").get(pk=inquiry.pk)
    context = _page_context(request, current, **{name: form})
    context.update(
        {
            "form": form,
            "failed": name,
            "action_error": error,
            "conflict": conflict,
            "current": current,
        }
    )
    if request.htmx:
        return _render(request, _PARTIALS[name], context, status=status)
    context["focus_form"] = _PARTIALS[name]
    return _render(request, "desk/agent/action_failed.html", context, status=status)


def _run(request: HtmxHttpRequest, inquiry: Inquiry, name: str, form, action, success: str) -> HttpResponse:
    """Validate `form`, run `action(form.cleaned_data)`, and answer: the page on success,
    the form with its error otherwise (400 bad input, 403, 404, 409 conflict/transition)."""
    if not form.is_valid():
        return _failed(request, inquiry, name, form, status=400)
    try:
        action(form.cleaned_data)
    except ConflictError as exc:
        version = exc.extra.get("your_version") or form.cleaned_data.get("version") or inquiry.version
        current = Inquiry.objects.get(pk=inquiry.pk)
        changes = sel.describe_changes(sel.changes_since(inquiry=current, your_version=int(version)))
        if "version" in form.fields:
            data = form.data.copy()
            data["version"] = str(current.version)  # sending again now applies on top of the change
            form = form.__class__(data, **_form_kwargs(form))
            form.is_valid()
        return _failed(request, inquiry, name, form, status=409, error=exc.message, conflict=changes)
    except InvalidTransitionError as exc:
        return _failed(request, inquiry, name, form, status=409, error=exc.message)
    except PermissionDeniedError as exc:
        return _failed(request, inquiry, name, form, status=403, error=exc.message)
    except NotFoundError as exc:
        return _failed(request, inquiry, name, form, status=404, error=exc.message)
    except ApplicationError as exc:
        return _failed(request, inquiry, name, form, status=400, error=exc.message)
    except ValidationError as exc:
        _add_errors(form, exc)
        return _failed(request, inquiry, name, form, status=400)
    return _done(request, inquiry, success)


def _form_kwargs(form) -> dict:
    return {"user": form.user} if hasattr(form, "user") else {}


def _add_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, [e.message % (e.params or {}) for e in errors])
    else:
        form.add_error(None, exc.messages)


def _inquiry_for_action(ref: str) -> Inquiry:
    return get_object_or_404(Inquiry.objects.select_related("call"), ref=ref.upper())


@require_POST
@operator_required
def inquiry_reply(request: HtmxHttpRequest, ref: str) -> HttpResponse:
    inquiry = _inquiry_for_action(ref)
    form = f.ReplyForm(request.POST)
    return _run(
        request,
        inquiry,
        "reply_form",
        form,
        lambda d: desk_reply(
            inquiry=inquiry,
            actor=request.user,
            body=d["body"],
            subject=d.get("subject") or "",
            expected_version=d["version"],
            faq_entries=list(d.get("faq_entry") or []),
        ),
        _("返信を送信待ちに登録しました。"),
    )


@require_POST
@operator_required
def inquiry_note(request: HtmxHttpRequest, ref: str) -> HttpResponse:
    inquiry = _inquiry_for_action(ref)
    form = f.NoteForm(request.POST)
    return _run(
        request,
        inquiry,
        "note_form",
        form,
        lambda d: inquiry_note_add(inquiry=inquiry, actor=request.user, body=d["body"]),
        _("内部メモを追加しました。"),
    )


@require_POST
@operator_required
def inquiry_status(request: HtmxHttpRequest, ref: str) -> HttpResponse:
    inquiry = _inquiry_for_action(ref)
    form = f.TransitionForm(request.POST)
    return _run(
        request,
        inquiry,
        "transition_form",
        form,
        lambda d: inquiry_transition(
            inquiry=inquiry, actor=request.user, status=d["status"], expected_version=d["version"]
        ),
        _("状態を変更しました。"),
    )


@require_POST
@operator_required
def inquiry_assign_view(request: HtmxHttpRequest, ref: str) -> HttpResponse:
    inquiry = _inquiry_for_action(ref)
    form = f.AssignForm(request.POST)

    def assign(d: dict) -> None:
        value = d["assignee"]
        if value == "me":
            assignee = request.user
        elif value == "none":
            assignee = None
        else:
            assignee = sel.assignable_users().filter(pk=int(value)).first()
            if assignee is None:
                raise ValidationError({"assignee": _("担当者にできるのはオペレーター・SV・管理者です。")})
        inquiry_assign(inquiry=inquiry, actor=request.user, assignee=assignee, expected_version=d["version"])

    return _run(request, inquiry, "assign_form", form, assign, _("担当者を変更しました。"))


@require_POST
@operator_required
def inquiry_escalate(request: HtmxHttpRequest, ref: str) -> HttpResponse:
    inquiry = _inquiry_for_action(ref)
    form = f.EscalationForm(request.POST, user=request.user)
    form.user = request.user
    return _run(
        request,
        inquiry,
        "escalation_form",
        form,
        lambda d: escalation_create(
            inquiry=inquiry,
            actor=request.user,
            target=d["target"],
            note=d["note"],
            organization=d.get("organization") or "",
        ),
        _("エスカレーションを依頼しました。"),
    )


@require_POST
@operator_required
def inquiry_wrapup(request: HtmxHttpRequest, ref: str) -> HttpResponse:
    inquiry = _inquiry_for_action(ref)
    form = f.WrapupForm(request.POST)

    def wrapup(d: dict) -> None:
        data = {k: d.get(k) or "" for k in ("category", "subject", "resolution")}
        desk_wrapup(
            inquiry=inquiry, actor=request.user, data=data, expected_version=d["version"], resolve=d.get("resolve")
        )

    return _run(request, inquiry, "wrapup_form", form, wrapup, _("後処理を完了しました。"))


# --- my call now ----------------------------------------------------------------------------------


@operator_required
def my_call(request: HtmxHttpRequest) -> HttpResponse:
    """Log the inquiry for the latest call this agent answered (by their PBX login),
    prefilled from the PBX record. A call already logged opens its inquiry."""
    try:
        call = call_latest_for_agent(user=request.user)
    except NotFoundError as exc:
        return _render(request, "desk/agent/my_call.html", {"missing": exc.message}, status=404)
    logged = _logged_inquiry(call)
    if request.method == "GET" and logged is not None:
        messages.info(request, _("この通話の問い合わせは記録済みです。"))
        return redirect("desk:inquiry", logged.ref)
    status, error = 200, ""
    if request.method == "POST":
        form = f.CallLogForm(request.POST)
        if form.is_valid():
            try:
                target = call_by_call_id(call_id=form.cleaned_data["call_id"])
                inquiry = call_log_inquiry(call=target, actor=request.user, data=form.service_data())
            except ConflictError as exc:
                messages.info(request, exc.message)
                return redirect("desk:inquiry", exc.extra["ref"])
            except ApplicationError as exc:
                status, error = exc.status_code, exc.message
            except ValidationError as exc:
                _add_errors(form, exc)
                status = 400
            else:
                messages.success(request, _("問い合わせ %(ref)s を記録しました。") % {"ref": inquiry.ref})
                return redirect("desk:inquiry", inquiry.ref)
        else:
            status = 400
    elif request.method == "GET":
        form = f.CallLogForm(initial={"call_id": call.call_id, "requester_phone": call.caller})
    else:
        return HttpResponse(status=405)
    if call.caller:
        audit_pii_view(actor=request.user, obj=call, fields=["caller"], note="desk my call")
    wait = (call.answered_at - (call.queued_at or call.arrived_at)).total_seconds() if call.answered_at else None
    context = {"call": call, "form": form, "error": error, "wait": wait, "now": timezone.now()}
    return _render(request, "desk/agent/my_call.html", context, status=status)


def _logged_inquiry(call: Call) -> Inquiry | None:
    try:
        return call.inquiry
    except Inquiry.DoesNotExist:
        return None
