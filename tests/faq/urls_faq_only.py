"""Only the FAQ API, for the schema test."""

from django.urls import include, path

urlpatterns = [path("api/faq/", include("faq.api.urls"))]
