"""The 24-hour reminder: a mail inquiry about to pass the contract's target (kpi-rules.md §3)
tells its assignee once, however often the beat task runs; time is frozen."""

import datetime as dt

import pytest
import time_machine

from helpdesk.models import Escalation, Inquiry, Notification
from helpdesk.notifications.services import notify_mail_due_soon
from helpdesk.notifications.tasks import notifications_mail_due_soon
from tests.factories import EscalationFactory, InquiryFactory, PhoneInquiryFactory, tokyo
from tests.factories.kpi import KpiTargetFactory

pytestmark = pytest.mark.django_db
RECEIVED = tokyo(2026, 10, 1, 10, 0)
DUE = RECEIVED + dt.timedelta(hours=24)


def at(moment: dt.datetime) -> int:
    with time_machine.travel(moment, tick=False):
        return notify_mail_due_soon()


@pytest.fixture
def open_mail(agent):
    return InquiryFactory(received_at=RECEIVED, assigned_to=agent, status=Inquiry.Status.IN_PROGRESS)


def test_the_assignee_is_reminded_once_within_the_window(open_mail, agent, settings):
    settings.HELPDESK_NOTIFY_DUE_SOON_MINUTES = 120

    assert at(DUE - dt.timedelta(hours=2, minutes=1)) == 0  # not yet
    assert at(DUE - dt.timedelta(hours=1, minutes=59)) == 1
    assert at(DUE - dt.timedelta(hours=1, minutes=49)) == 0  # the next run: already reminded
    assert at(DUE - dt.timedelta(minutes=1)) == 0
    note = Notification.objects.get()
    assert (note.recipient, note.kind, note.inquiry) == (agent, Notification.Kind.MAIL_DUE_SOON, open_mail)
    assert note.created_at == DUE - dt.timedelta(hours=1, minutes=59)


def test_the_beat_task_is_idempotent(open_mail):
    with time_machine.travel(DUE - dt.timedelta(minutes=30), tick=False):
        notifications_mail_due_soon.delay()
        notifications_mail_due_soon.delay()
    assert Notification.objects.count() == 1


def test_reassigning_after_the_reminder_does_not_remind_again(open_mail, other_agent):
    assert at(DUE - dt.timedelta(minutes=30)) == 1
    Inquiry.objects.filter(pk=open_mail.pk).update(assigned_to=other_agent)
    assert at(DUE - dt.timedelta(minutes=20)) == 0


def test_past_the_target_is_the_queue_s_business_not_a_reminder(open_mail):
    assert at(DUE + dt.timedelta(minutes=1)) == 0


@pytest.mark.parametrize(
    "change",
    [
        {"first_answered_at": RECEIVED + dt.timedelta(hours=3)},
        {"status": Inquiry.Status.ANSWERED},
        {"status": Inquiry.Status.RESOLVED},
        {"assigned_to": None},
    ],
    ids=["answered in time", "reply queued", "resolved", "nobody assigned"],
)
def test_what_needs_no_reminder_gets_none(open_mail, change):
    Inquiry.objects.filter(pk=open_mail.pk).update(**change)
    assert at(DUE - dt.timedelta(minutes=30)) == 0


def test_phone_inquiries_have_no_mail_target(agent):
    PhoneInquiryFactory(assigned_to=agent)  # received 2026-10-01 10:00 like the others
    assert at(DUE - dt.timedelta(minutes=30)) == 0


def test_inquiries_handed_to_the_responsible_section_are_outside_the_target(open_mail):
    EscalationFactory(inquiry=open_mail, target=Escalation.Target.RESPONSIBLE_SECTION)
    assert at(DUE - dt.timedelta(minutes=30)) == 0


def test_an_internal_escalation_still_counts(open_mail):
    EscalationFactory(inquiry=open_mail, target=Escalation.Target.INTERNAL)
    assert at(DUE - dt.timedelta(minutes=30)) == 1


def test_the_target_is_the_contract_s(open_mail):
    KpiTargetFactory(valid_from=dt.date(2026, 4, 1), email_max_seconds=12 * 3600)
    assert at(RECEIVED + dt.timedelta(hours=11)) == 1


def test_beat_runs_it_and_the_worker_knows_it():
    from config.celery import app

    name = "helpdesk.notifications.tasks.notifications_mail_due_soon"
    assert any(e["task"] == name for e in app.conf.beat_schedule.values())
    app.loader.import_default_modules()  # what a worker does at start (autodiscovery)
    assert name in app.tasks
    assert "helpdesk.notifications.tasks.notification_send_mail" in app.tasks
