"""The request type of desk views that read `request.htmx` (set by django-htmx's middleware)."""

from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails


class HtmxHttpRequest(HttpRequest):
    """For the type checker only: every request passes HtmxMiddleware (config/settings/base.py)."""

    htmx: HtmxDetails
