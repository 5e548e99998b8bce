"""API routes of the helpdesk app, one module per area so each area owns its routes."""

from django.urls import include, path

urlpatterns = [
    # phone first: its fixed paths (calls/import/, calls/missing-wrapup/) must win over calls/<call_id>/
    path("", include("helpdesk.api.phone_urls")),  # call imports, linking calls, wrap-up, calendar
    path("", include("helpdesk.api.core_urls")),  # inquiries, escalations, complaints, incidents, calls, emails
    path("", include("helpdesk.api.mail_urls")),  # mail imports, replies, attachments, web form
    path("", include("helpdesk.api.handover_urls")),  # contractor handover import/export
]
