"""API routes of escalations (creating one is inquiries/<ref>/escalations/)."""

from django.urls import path

from helpdesk.escalations import api

urlpatterns = [
    path("escalations/", api.EscalationListView.as_view(), name="api-escalation-list"),
    path("escalations/<int:pk>/return/", api.EscalationReturnView.as_view(), name="api-escalation-return"),
]
