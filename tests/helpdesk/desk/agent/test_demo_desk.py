"""`make demo` shows a lived-in desk: open work in consistent states, relative to today."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from helpdesk.models import Inquiry, InquiryNote

pytestmark = [pytest.mark.django_db, pytest.mark.slow]  # seeds the whole demo


def test_the_demo_agent_finds_open_work_on_the_desk(client):
    call_command("seed_demo", "--password", "pw-for-tests-1")
    agent = get_user_model().objects.get(username="agent")
    client.force_login(agent)

    mine = client.get("/desk/").context["page"].rows
    due = client.get("/desk/", {"view": "due"}).context["page"].rows
    unassigned = client.get("/desk/", {"view": "unassigned"}).context["page"].rows
    my_call = client.get("/desk/my-call/")

    today = Inquiry.objects.filter(requester_email__startswith="today-")
    assert today.count() == 4
    assert sorted(today.values_list("status", flat=True)) == ["in_progress", "in_progress", "new", "new"]
    overdue = today.get(requester_email="today-0@example.com")
    assert overdue.assigned_to == agent and InquiryNote.objects.filter(inquiry=overdue).exists()
    assert overdue.ref in [r.inquiry.ref for r in mine]
    assert [r.overdue for r in due][:2] == [True, False]  # one past 24 h, one near it
    assert len(unassigned) >= 2
    wrapup = Inquiry.objects.get(call__call_id="demo-today-1")
    assert wrapup.assigned_to == agent and wrapup.wrapup_completed_at is None
    assert wrapup.status == Inquiry.Status.IN_PROGRESS
    assert my_call.status_code == 200 and my_call.context["call"].call_id == "demo-today-2"
