from django.urls import include, path

from helpdesk import views

app_name = "helpdesk"
urlpatterns = [
    path("", views.home, name="home"),
    path("", include("helpdesk.mail.page_urls")),  # public inquiry form
]
