"""Only the handover routes (and the import-run status they answer with), mounted as in
config.urls, for the schema test."""

from django.urls import include, path

urlpatterns = [path("api/", include("helpdesk.handover.urls")), path("api/", include("helpdesk.imports.urls"))]
