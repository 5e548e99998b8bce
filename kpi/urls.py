from django.urls import path

from kpi import views

app_name = "kpi"
urlpatterns = [
    path("", views.report, name="report"),
    path("report.csv", views.report_csv, name="report-csv"),
    path("report.xlsx", views.report_xlsx, name="report-xlsx"),
]
