from django.urls import path

from helpdesk.desk.admin import views

app_name = "admin"
urlpatterns = [
    path("", views.home, name="home"),
]
