"""API routes of import runs, shared by every import kind (phone, mail, handover)."""

from django.urls import path

from helpdesk.imports import api

urlpatterns = [
    path("import-runs/", api.ImportRunListView.as_view(), name="import-run-list"),
    path("import-runs/<int:pk>/", api.ImportRunDetailView.as_view(), name="import-run-detail"),
]
