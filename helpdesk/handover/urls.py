"""API routes of the contractor handover (admins); the run status is imports/urls.py."""

from django.urls import path

from helpdesk.handover import api

urlpatterns = [
    path("handover/import/", api.HandoverImportView.as_view(), name="handover-import"),
    path("handover/export/", api.HandoverExportView.as_view(), name="handover-export"),
]
