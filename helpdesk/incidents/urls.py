"""API routes of security incidents."""

from django.urls import path

from helpdesk.incidents import api

urlpatterns = [
    path("security-incidents/", api.SecurityIncidentListCreateView.as_view(), name="api-incident-list"),
    path("security-incidents/<int:pk>/", api.SecurityIncidentDetailView.as_view(), name="api-incident-detail"),
]
