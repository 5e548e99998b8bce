"""The desk's notifications: the list, marking read, the mail-copy preference and the badge
that htmx polls. Thin: selectors and services in helpdesk.notifications."""

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.views.decorators.http import require_GET, require_POST

from helpdesk.desk.htmx import HtmxHttpRequest
from helpdesk.desk.permissions import operator_required
from helpdesk.errors import NotFoundError
from helpdesk.notifications import selectors, services
from helpdesk.roles import is_staff_operator

# htmx stops polling on this status (a signed-out or role-less session stops asking).
STOP_POLLING = 286
CHANGED = "notifications-changed"  # the badge refreshes itself on this event


@require_GET
@operator_required
def notification_list(request: HttpRequest) -> HttpResponse:
    unread_only = request.GET.get("unread") == "1"
    return render(
        request,
        "desk/notifications/list.html",
        {
            "notifications": list(selectors.notifications_for(user=request.user, unread_only=unread_only)),
            "unread_only": unread_only,
            "email_copy": selectors.notification_wants_mail(user=request.user),
        },
    )


@require_GET
def badge(request: HttpRequest) -> HttpResponse:
    """The badge alone, for htmx polling. Not a page: no sign-in redirect, which htmx would
    swap into the navigation; a session that may not see it is told to stop polling."""
    if not is_staff_operator(request.user):
        return HttpResponse("", status=STOP_POLLING)
    response = render(request, "desk/notifications/_badge.html")
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@operator_required
def mark_read(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    try:
        notification = services.notification_mark_read(user=request.user, pk=pk)
    except NotFoundError as exc:
        raise Http404(exc.message) from exc
    if request.htmx:
        html = render_to_string("desk/notifications/_item.html", {"n": notification}, request=request)
        return HttpResponse(html, headers={"HX-Trigger": CHANGED})
    return redirect("desk:notifications:list")


@require_POST
@operator_required
def mark_all_read(request: HttpRequest) -> HttpResponse:
    services.notification_mark_all_read(user=request.user)
    return redirect("desk:notifications:list")


@require_POST
@operator_required
def preferences(request: HttpRequest) -> HttpResponse:
    # The checkbox posts "1" when ticked, after the hidden "0": the last value wins.
    services.notification_preference_set(user=request.user, email_copy=request.POST.get("email_copy") == "1")
    return redirect("desk:notifications:list")
