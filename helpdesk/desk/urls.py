from django.urls import include, path

from helpdesk.desk import views

app_name = "desk"
urlpatterns = [
    path("", views.desk_home, name="home"),
    path("", include("helpdesk.desk.agent.urls")),
    path("supervisor/", include("helpdesk.desk.supervisor.urls")),
    path("admin/", include("helpdesk.desk.admin.urls")),
    path("notifications/", include("helpdesk.desk.notifications.urls")),
]
