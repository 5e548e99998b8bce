"""Only the core API routes, mounted as in config.urls, so the schema test validates
exactly the endpoints of helpdesk/api/core_urls.py (other areas validate their own)."""

from django.urls import include, path

urlpatterns = [path("api/", include("helpdesk.api.core_urls"))]
