from django.urls import include, path

urlpatterns = [
    path("", include("helpdesk.api.urls")),
    path("kpi/", include("kpi.api.urls")),
    path("faq/", include("faq.api.urls")),
    path("staffing/", include("kpi.api.staffing")),
]
