from django.urls import path

from helpdesk.desk.agent import views

# Included at /desk/ by helpdesk.desk.urls; the queue itself is /desk/ (desk_home routes
# agents to it), so this module only adds the agent's other pages.
urlpatterns: list = [
    path("queue/", views.queue, name="queue"),
]
