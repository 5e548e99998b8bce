"""API routes of complaints."""

from django.urls import path

from helpdesk.complaints import api

urlpatterns = [
    path("complaints/", api.ComplaintListCreateView.as_view(), name="api-complaint-list"),
    path("complaints/<int:pk>/classify/", api.ComplaintClassifyView.as_view(), name="api-complaint-classify"),
]
