"""Only the record API routes, mounted as in config.urls, so the schema test validates the
endpoints of accounts, inquiries, escalations, complaints, incidents and the calls/emails
reads (phone and mail validate their own too)."""

from django.urls import include, path

urlpatterns = [
    path("api/", include(f"helpdesk.{package}.urls"))
    for package in ("accounts", "inquiries", "escalations", "complaints", "incidents", "phone", "mail")
]
