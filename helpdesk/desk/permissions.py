"""Who may open which desk page. A desk page with personal information is for the roles
that handle inquiries (helpdesk.roles.PII_ROLES); anyone else gets 403, never the page."""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from helpdesk import roles

View = Callable[..., HttpResponse]


def _require(check: Callable[..., bool]) -> Callable[[View], View]:
    def decorator(view: View) -> View:
        @login_required
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if not check(request.user):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


operator_required = _require(roles.is_staff_operator)
supervisor_required = _require(roles.is_supervisor)
admin_required = _require(roles.is_admin)
