from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from helpdesk import roles
from helpdesk.desk.agent.views import queue
from helpdesk.models import Role


@login_required
def desk_home(request: HttpRequest) -> HttpResponse:
    """Every role's home after sign-in: agents their queue, supervisors their board, admins
    their desk, reviewers the KPI report (a reviewer never lands on a page with personal
    information)."""
    user_roles = roles.user_roles(request.user)
    if Role.SUPERVISOR in user_roles:
        return redirect("desk:supervisor:board")
    if Role.ADMIN in user_roles:
        return redirect("desk:admin:home")
    if Role.AGENT in user_roles:
        return queue(request)
    if Role.REVIEWER in user_roles:
        return redirect("kpi:report")
    return redirect("helpdesk:home")
