"""API routes of the mail channel."""

from django.urls import path

from helpdesk.mail import api as views

urlpatterns = [
    path("inquiries/<str:ref>/reply/", views.InquiryReplyView.as_view(), name="inquiry-reply"),
    path("mail/outbox/", views.OutboxListView.as_view(), name="mail-outbox"),
    path("mail/outbox/<int:pk>/requeue/", views.OutboxRequeueView.as_view(), name="mail-outbox-requeue"),
    path("emails/<int:pk>/attachments/<int:n>/", views.AttachmentDownloadView.as_view(), name="email-attachment"),
    path("mail/imports/", views.MailImportUploadView.as_view(), name="mail-import-upload"),
    path("mail/imports/<int:pk>/", views.MailImportDetailView.as_view(), name="mail-import-detail"),
    path("inquiry-form/", views.InquiryFormView.as_view(), name="inquiry-form-api"),
]
