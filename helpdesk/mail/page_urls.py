from django.urls import path

from helpdesk.mail import views as views_form

urlpatterns = [
    path("inquiry-form/", views_form.inquiry_form, name="inquiry-form"),
]
