"""API routes of the mail channel: emails (read), attachments, replies, the outbox, mail
imports, the web form."""

from django.urls import path

from helpdesk.mail import api

urlpatterns = [
    path("emails/", api.EmailListView.as_view(), name="api-email-list"),
    path("emails/<int:pk>/", api.EmailDetailView.as_view(), name="api-email-detail"),
    path("emails/<int:pk>/attachments/<int:n>/", api.AttachmentDownloadView.as_view(), name="email-attachment"),
    path("inquiries/<str:ref>/reply/", api.InquiryReplyView.as_view(), name="inquiry-reply"),
    path("mail/outbox/", api.OutboxListView.as_view(), name="mail-outbox"),
    path("mail/outbox/<int:pk>/requeue/", api.OutboxRequeueView.as_view(), name="mail-outbox-requeue"),
    path("mail/imports/", api.MailImportUploadView.as_view(), name="mail-import-upload"),
    path("mail/imports/<int:pk>/", api.MailImportDetailView.as_view(), name="mail-import-detail"),
    path("inquiry-form/", api.InquiryFormView.as_view(), name="inquiry-form-api"),
]
