"""API routes of the helpdesk app, one module per area so each area owns its routes."""

from django.urls import include, path

urlpatterns = [
    # phone first: its fixed paths (calls/import/, calls/missing-wrapup/) must win over calls/<call_id>/
    path("", include("helpdesk.phone.urls")),  # call imports, linking calls, wrap-up, calendar
    path("", include("helpdesk.api.core_urls")),  # inquiries, escalations, complaints, incidents, calls, emails
    path("", include("helpdesk.mail.urls")),  # mail imports, replies, attachments, web form
    path("", include("helpdesk.handover.urls")),  # contractor handover import/export
]
