from django.urls import include, path

urlpatterns = [path("api/", include("helpdesk.api.phone_urls"))]
