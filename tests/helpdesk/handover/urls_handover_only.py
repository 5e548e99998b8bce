"""Only the handover routes, mounted as in config.urls, for the schema test."""

from django.urls import include, path

urlpatterns = [path("api/", include("helpdesk.handover.urls"))]
