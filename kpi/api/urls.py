from django.urls import path

from kpi.api import views

M = "months/<str:month>/"

urlpatterns = [
    path("months/", views.KpiMonthRangeView.as_view(), name="kpi-month-range"),
    path("mail-waiting/", views.MailWaitingView.as_view(), name="kpi-mail-waiting"),
    path(M, views.KpiMonthView.as_view(), name="kpi-month"),
    path(M + "publish/", views.KpiPublishView.as_view(), name="kpi-month-publish"),
    path(M + "published/", views.KpiPublishedView.as_view(), name="kpi-month-published"),
    path(M + "changes/", views.KpiChangesView.as_view(), name="kpi-month-changes"),
    path(M + "abandoned-calls/", views.AbandonedCallsView.as_view(), name="kpi-drill-abandoned-calls"),
    path(M + "answered-calls/", views.AnsweredCallsView.as_view(), name="kpi-drill-answered-calls"),
    path(M + "emails/", views.EmailsView.as_view(), name="kpi-drill-emails"),
    path(M + "handovers/", views.HandoversView.as_view(), name="kpi-drill-handovers"),
    path(M + "complaints/", views.ComplaintsView.as_view(), name="kpi-drill-complaints"),
    path(M + "incidents/", views.IncidentsView.as_view(), name="kpi-drill-incidents"),
]
