from django.urls import path

from helpdesk.desk.agent import views

# Included at /desk/ by helpdesk.desk.urls; the queue itself is /desk/ (desk_home routes
# agents to it), so this module only adds the agent's other pages. URLs are public: keep them.
urlpatterns: list = [
    path("queue/", views.queue, name="queue"),
    path("my-call/", views.my_call, name="my-call"),
    path("inquiries/<str:ref>/", views.inquiry_detail, name="inquiry"),
    path("inquiries/<str:ref>/faq-suggestions/", views.faq_suggestions, name="inquiry-faq"),
    path("inquiries/<str:ref>/reply/", views.inquiry_reply, name="inquiry-reply"),
    path("inquiries/<str:ref>/note/", views.inquiry_note, name="inquiry-note"),
    path("inquiries/<str:ref>/status/", views.inquiry_status, name="inquiry-status"),
    path("inquiries/<str:ref>/assign/", views.inquiry_assign_view, name="inquiry-assign"),
    path("inquiries/<str:ref>/escalate/", views.inquiry_escalate, name="inquiry-escalate"),
    path("inquiries/<str:ref>/wrapup/", views.inquiry_wrapup, name="inquiry-wrapup"),
]
