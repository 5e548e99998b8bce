"""API routes of the helpdesk app: each package owns its routes (its urls.py). No two
packages share a path prefix that one's pattern could swallow from another, so the order of
the includes below does not matter (tests/helpdesk/api/test_urls.py checks every order)."""

from django.urls import include, path

PACKAGES = (
    "helpdesk.accounts",  # the API token
    "helpdesk.inquiries",
    "helpdesk.escalations",
    "helpdesk.complaints",
    "helpdesk.incidents",
    "helpdesk.phone",  # calls, call imports, wrap-up, the service calendar
    "helpdesk.mail",  # emails, replies, outbox, mail imports, web form
    "helpdesk.imports",  # import-run status, every import kind
    "helpdesk.handover",  # contractor handover import/export
)

urlpatterns = [path("", include(f"{package}.urls")) for package in PACKAGES]
