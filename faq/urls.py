"""Public FAQ pages, mounted at /faq/."""

from django.urls import path

from faq import views

app_name = "faq"
urlpatterns = [
    path("", views.faq_index, name="index"),
    path("<int:pk>/", views.faq_detail, name="detail"),
]
