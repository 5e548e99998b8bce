from django.urls import path

from helpdesk.desk.supervisor import views

app_name = "supervisor"
urlpatterns = [
    path("", views.board, name="board"),
]
