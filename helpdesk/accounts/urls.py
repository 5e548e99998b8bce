"""API routes: the API token."""

from django.urls import path

from helpdesk.accounts import api

urlpatterns = [
    path("auth/token/", api.ObtainTokenView.as_view(), name="api-token"),
]
