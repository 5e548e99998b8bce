from django.urls import path

from helpdesk.desk.supervisor import views

app_name = "supervisor"
urlpatterns = [
    path("", views.board, name="board"),
    path("live/", views.live, name="live"),
    path("escalations/", views.escalations, name="escalations"),
    path("escalations/new/", views.escalate, name="escalate"),
    path("escalations/<int:pk>/return/", views.record_return, name="record-return"),
    path("wrapups/", views.wrapups, name="wrapups"),
    path("complaints/", views.complaints, name="complaints"),
    path("complaints/new/", views.complaint_new, name="complaint-new"),
    path("complaints/<int:pk>/confirm/", views.complaint_confirm, name="complaint-confirm"),
    path("surges/", views.surges, name="surges"),
    path("staffing/", views.staffing, name="staffing"),
]
