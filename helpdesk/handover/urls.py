"""Contractor handover (admins) and the import-run status endpoint shared by every import kind."""

from django.urls import path

from helpdesk.handover import api as handover

urlpatterns = [
    path("handover/import/", handover.HandoverImportView.as_view(), name="handover-import"),
    path("handover/export/", handover.HandoverExportView.as_view(), name="handover-export"),
    path("import-runs/", handover.ImportRunListView.as_view(), name="import-run-list"),
    path("import-runs/<int:pk>/", handover.ImportRunDetailView.as_view(), name="import-run-detail"),
]
