"""Core API routes: auth token, inquiries, escalations, complaints, security incidents,
calls and mail (read). Replies and phone endpoints live in mail_urls / phone_urls."""

from django.urls import path

from helpdesk.accounts import api as auth
from helpdesk.api import records
from helpdesk.complaints import api as complaints
from helpdesk.escalations import api as escalations
from helpdesk.incidents import api as incidents
from helpdesk.inquiries import api as inquiries

urlpatterns = [
    path("auth/token/", auth.ObtainTokenView.as_view(), name="api-token"),
    path("inquiries/", inquiries.InquiryListCreateView.as_view(), name="api-inquiry-list"),
    path("inquiries/<str:ref>/", inquiries.InquiryDetailView.as_view(), name="api-inquiry-detail"),
    path("inquiries/<str:ref>/assign/", inquiries.InquiryAssignView.as_view(), name="api-inquiry-assign"),
    path("inquiries/<str:ref>/transition/", inquiries.InquiryTransitionView.as_view(), name="api-inquiry-transition"),
    path("inquiries/<str:ref>/corrections/", inquiries.InquiryCorrectionView.as_view(), name="api-inquiry-correct"),
    path(
        "inquiries/<str:ref>/escalations/",
        inquiries.InquiryEscalationCreateView.as_view(),
        name="api-inquiry-escalate",
    ),
    path("escalations/", escalations.EscalationListView.as_view(), name="api-escalation-list"),
    path("escalations/<int:pk>/return/", escalations.EscalationReturnView.as_view(), name="api-escalation-return"),
    path("complaints/", complaints.ComplaintListCreateView.as_view(), name="api-complaint-list"),
    path("complaints/<int:pk>/classify/", complaints.ComplaintClassifyView.as_view(), name="api-complaint-classify"),
    path("security-incidents/", incidents.SecurityIncidentListCreateView.as_view(), name="api-incident-list"),
    path("security-incidents/<int:pk>/", incidents.SecurityIncidentDetailView.as_view(), name="api-incident-detail"),
    path("calls/", records.CallListView.as_view(), name="api-call-list"),
    path("calls/<str:call_id>/", records.CallDetailView.as_view(), name="api-call-detail"),
    path("emails/", records.EmailListView.as_view(), name="api-email-list"),
    path("emails/<int:pk>/", records.EmailDetailView.as_view(), name="api-email-detail"),
]
