"""API routes of inquiries (replies are in mail/urls.py, wrap-up in phone/urls.py)."""

from django.urls import path

from helpdesk.inquiries import api

urlpatterns = [
    path("inquiries/", api.InquiryListCreateView.as_view(), name="api-inquiry-list"),
    path("inquiries/<str:ref>/", api.InquiryDetailView.as_view(), name="api-inquiry-detail"),
    path("inquiries/<str:ref>/assign/", api.InquiryAssignView.as_view(), name="api-inquiry-assign"),
    path("inquiries/<str:ref>/transition/", api.InquiryTransitionView.as_view(), name="api-inquiry-transition"),
    path("inquiries/<str:ref>/corrections/", api.InquiryCorrectionView.as_view(), name="api-inquiry-correct"),
    path("inquiries/<str:ref>/escalations/", api.InquiryEscalationCreateView.as_view(), name="api-inquiry-escalate"),
]
