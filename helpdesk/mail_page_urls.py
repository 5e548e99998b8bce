from django.urls import path

from helpdesk import views_form

urlpatterns = [
    path("inquiry-form/", views_form.inquiry_form, name="inquiry-form"),
]
