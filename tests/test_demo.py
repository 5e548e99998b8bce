"""The README's demo data: built through the real importers and services, realistic enough
that every KPI has a value, and seeding twice adds nothing."""

import pytest
from django.core.management import call_command
from django.db.models import Count, Exists, OuterRef, Q

from faq.models import FaqEntry
from helpdesk.clock import Month
from helpdesk.models import AuditEvent, Call, Complaint, EmailMessage, Escalation, ImportRun, Inquiry
from kpi.selectors import kpi_month_get
from tests.factories import tokyo

pytestmark = [pytest.mark.django_db, pytest.mark.slow]  # seeds the whole demo


def test_demo_seed_builds_two_realistic_months_once(capsys):
    call_command("seed_demo", "--password", "pw-for-tests-1")
    out = capsys.readouterr().out
    assert "user 'reviewer'" in out

    # The two demo months; today's open work for the agent's desk comes on top (desk test).
    months = Inquiry.objects.filter(received_at__lt=tokyo(2026, 10, 1))
    channels = dict(months.values_list("channel").annotate(n=Count("id")))
    assert channels == {"phone": 148, "email": 111, "form": 37}
    outcomes = set(Call.objects.values_list("outcome", flat=True))
    assert {"answered", "queue_abandoned", "out_of_hours"} <= outcomes
    # Every written inquiry got its answer by mail, threaded by headers or by [EG-…].
    assert not months.exclude(channel="phone").filter(first_answered_at__isnull=True).exists()
    assert EmailMessage.objects.filter(direction="outbound").count() == 148
    assert Escalation.objects.exclude(target="internal").count() == 10
    assert Complaint.objects.filter(cause="operator_error").count() == 2
    assert not ImportRun.objects.exclude(rejected=0, status="done").exists()
    seeded = Inquiry.objects.count()
    assert AuditEvent.objects.filter(action="create", object_type="helpdesk.inquiry").count() == seeded

    call_command("seed_demo", "--password", "pw-for-tests-1")
    assert "nothing added" in capsys.readouterr().out
    assert Inquiry.objects.count() == seeded


def test_demo_month_has_every_kpi_and_the_surge_shows():
    call_command("seed_demo", "--password", "pw-for-tests-1")
    august = kpi_month_get(month=Month.parse("2026-08"), fresh=True)
    september = kpi_month_get(month=Month.parse("2026-09"), fresh=True)
    for month in (august, september):
        assert month["answer_rate"]["value"] is not None
        assert month["average_handle_time"]["seconds"] > 0
        assert month["email_average_response_time"]["answered"] > 0
    # The planted surge of browser errors in September costs answer rate.
    assert august["answer_rate"]["met"] is True
    assert september["answer_rate"]["value"] < august["answer_rate"]["value"]


def test_faq_refresh_proposes_drafts_for_the_demo_and_publishes_none(capsys):
    # make demo runs these two commands: the admin reviews the drafts on /desk/admin/faq/;
    # nothing reaches the public /faq/ without that review (issue 13).
    call_command("seed_demo", "--password", "pw-for-tests-1")
    call_command("faq_refresh", "--as-of", "2026-09-27")
    out = capsys.readouterr().out
    assert "surges: 2" in out
    drafts = FaqEntry.objects.filter(status=FaqEntry.Status.DRAFT)
    assert drafts.exists()
    assert not FaqEntry.objects.filter(status=FaqEntry.Status.PUBLISHED).exists()


def test_demo_statuses_agree_with_the_records():
    """Statuses come from the services' rules, not from how the demo was put together:
    nothing answered is still "new", an answered inquiry has its answer, nothing is
    "escalated" once every escalation came back, resolved ones carry their time."""
    call_command("seed_demo", "--password", "pw-for-tests-1")
    answered_by_mail = Exists(
        EmailMessage.objects.filter(inquiry=OuterRef("pk"), direction="outbound", is_auto_acknowledgement=False)
    )
    open_escalation = Exists(Escalation.objects.filter(inquiry=OuterRef("pk"), returned_at__isnull=True))
    inquiries = Inquiry.objects.annotate(answered_by_mail=answered_by_mail, open_escalation=open_escalation)

    assert (
        not inquiries.filter(status="new")
        .filter(Q(answered_by_mail=True) | Q(first_answered_at__isnull=False) | Q(wrapup_completed_at__isnull=False))
        .exists()
    )
    assert not inquiries.filter(status="answered", first_answered_at__isnull=True, answered_by_mail=False).exists()
    assert not inquiries.filter(status="escalated", open_escalation=False).exists()
    # Every escalation came back, so nothing waits in "escalated".
    assert not Escalation.objects.filter(returned_at__isnull=True).exists()
    assert not inquiries.filter(status="escalated").exists()
    assert not inquiries.filter(status__in=["resolved", "closed"], resolved_at__isnull=True).exists()
    assert not inquiries.exclude(status__in=["resolved", "closed"]).filter(resolved_at__isnull=False).exists()
    # A phone inquiry whose record was never finished is still the agent's, not new.
    assert not inquiries.filter(channel="phone", status="resolved", wrapup_completed_at__isnull=True).exists()
    # The two seeded months; today's open work on the desk has mail still new (desk test).
    months = Inquiry.objects.filter(received_at__lt=tokyo(2026, 10, 1))
    statuses = dict(months.values_list("status").annotate(n=Count("id")))
    assert statuses.get("new", 0) == 0
    assert statuses["answered"] > 0 and statuses["resolved"] > statuses["answered"]
    # Every status move the demo made went through the services: one audit row each.
    moves = AuditEvent.objects.filter(action="transition", object_type="helpdesk.inquiry").count()
    assert moves >= Inquiry.objects.exclude(status="new").count()
