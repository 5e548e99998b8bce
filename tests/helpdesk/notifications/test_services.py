"""Each event a desk user must see produces exactly one notification, for the right person;
nobody is told about their own action; the optional mail copy never blocks the write."""

import datetime as dt

import pytest
import time_machine
from django.core import mail

from helpdesk.errors import NotFoundError
from helpdesk.escalations.services import escalation_create, escalation_record_return
from helpdesk.inquiries.services import inquiry_assign
from helpdesk.mail import sender
from helpdesk.mail.intake import mail_store
from helpdesk.mail.outbox import mail_reply_create
from helpdesk.mail.sender import outbox_release_stale, outbox_send
from helpdesk.models import EmailMessage, Escalation, Inquiry, Notification
from helpdesk.notifications.services import (
    notification_mark_all_read,
    notification_mark_read,
    notification_preference_set,
    notify,
)
from tests.factories import InquiryFactory, PhoneInquiryFactory, UserFactory, tokyo
from tests.helpdesk.mail import builders as b

pytestmark = pytest.mark.django_db
Kind = Notification.Kind
NOW = tokyo(2026, 10, 1, 13, 0)


def kinds(user) -> list[str]:
    return list(Notification.objects.filter(recipient=user).values_list("kind", flat=True))


# --- assigned to me ---------------------------------------------------------------------------


def test_a_supervisor_assigning_an_inquiry_tells_the_assignee_once(supervisor, agent, other_agent):
    inquiry = InquiryFactory()

    inquiry_assign(inquiry=inquiry, actor=supervisor, assignee=agent)

    note = Notification.objects.get()
    assert (note.recipient, note.kind, note.inquiry, note.actor) == (agent, Kind.ASSIGNED, inquiry, supervisor)
    assert note.read_at is None
    inquiry_assign(inquiry=inquiry, actor=supervisor, assignee=agent)  # no change: nobody told again
    assert Notification.objects.count() == 1
    inquiry_assign(inquiry=inquiry, actor=supervisor, assignee=other_agent)
    assert kinds(other_agent) == [Kind.ASSIGNED]
    assert kinds(supervisor) == []


def test_taking_an_inquiry_yourself_tells_nobody(agent):
    inquiry_assign(inquiry=InquiryFactory(), actor=agent, assignee=agent)
    assert not Notification.objects.exists()


def test_a_refused_assignment_leaves_no_notification(agent, other_agent):
    with pytest.raises(Exception, match="SV"):
        inquiry_assign(inquiry=InquiryFactory(), actor=agent, assignee=other_agent)
    assert not Notification.objects.exists()


# --- a citizen answered -----------------------------------------------------------------------


def _question_assigned_to(agent, supervisor) -> Inquiry:
    inquiry = mail_store(raw=b.message(message_id="<q1@example.com>"), source="imap").message.inquiry
    inquiry_assign(inquiry=inquiry, actor=supervisor, assignee=agent)
    Notification.objects.all().delete()
    return inquiry


def test_a_citizen_writing_back_tells_the_assignee_once(agent, supervisor):
    inquiry = _question_assigned_to(agent, supervisor)
    follow_up = b.message(
        message_id="<q2@example.com>",
        in_reply_to="<q1@example.com>",
        references="<q1@example.com>",
        date="Thu, 01 Oct 2026 12:00:00 +0900",
        body="追加の質問です。",
    )

    assert mail_store(raw=follow_up, source="imap").message.inquiry_id == inquiry.pk
    mail_store(raw=follow_up, source="imap")  # the same message again (IMAP re-delivery)

    note = Notification.objects.get()
    assert (note.recipient, note.kind, note.inquiry_id) == (agent, Kind.CITIZEN_REPLIED, inquiry.pk)


def test_our_own_answers_and_auto_replies_in_the_thread_tell_nobody(agent, supervisor):
    _question_assigned_to(agent, supervisor)
    ours = b.reply(
        to_message_id="<q1@example.com>",
        message_id="<a1@e-gov-help.example.jp>",
        date="Thu, 01 Oct 2026 11:00:00 +0900",
    )
    away = b.message(
        message_id="<ooo@example.com>",
        in_reply_to="<a1@e-gov-help.example.jp>",
        references="<q1@example.com> <a1@e-gov-help.example.jp>",
        subject="自動返信: Re: e-Govの申請について",
        extra_headers={"Auto-Submitted": "auto-replied"},
    )
    mail_store(raw=ours, source="imap")
    mail_store(raw=away, source="imap")
    assert not Notification.objects.exists()


def test_a_new_unassigned_mail_inquiry_tells_nobody(db):
    mail_store(raw=b.message(message_id="<new@example.com>"), source="imap")
    assert not Notification.objects.exists()


# --- an escalation came back ------------------------------------------------------------------


def test_an_escalation_answer_tells_the_assignee(agent, supervisor):
    inquiry = PhoneInquiryFactory(assigned_to=agent)
    escalation = escalation_create(inquiry=inquiry, actor=agent, target=Escalation.Target.INTERNAL, note="確認依頼")
    assert not Notification.objects.exists()

    escalation_record_return(escalation=escalation, actor=supervisor, answer="手順どおりで問題ありません")

    note = Notification.objects.get()
    assert (note.recipient, note.kind, note.inquiry, note.actor) == (
        agent,
        Kind.ESCALATION_RETURNED,
        inquiry,
        supervisor,
    )


def test_with_nobody_assigned_the_agent_who_asked_is_told(agent, supervisor):
    escalation = escalation_create(inquiry=InquiryFactory(), actor=agent, target=Escalation.Target.INTERNAL)
    escalation_record_return(escalation=escalation, actor=supervisor, answer="回答")
    assert kinds(agent) == [Kind.ESCALATION_RETURNED]


def test_a_supervisor_recording_the_answer_to_their_own_inquiry_is_not_told(supervisor):
    inquiry = InquiryFactory(assigned_to=supervisor)
    escalation = escalation_create(inquiry=inquiry, actor=supervisor, target=Escalation.Target.RESPONSIBLE_SECTION)
    escalation_record_return(escalation=escalation, actor=supervisor, answer="回答")
    assert not Notification.objects.exists()


# --- a reply failed to send -------------------------------------------------------------------


class _DownBackend:
    def send_messages(self, messages):
        raise ConnectionRefusedError("SMTP server down")


@pytest.fixture
def smtp_down(monkeypatch):
    monkeypatch.setattr(sender, "get_connection", lambda **kw: _DownBackend())


def test_a_reply_the_outbox_gives_up_on_tells_the_assignee_once(agent, smtp_down):
    inquiry = InquiryFactory(assigned_to=agent)
    message = mail_reply_create(inquiry=inquiry, actor=agent, body="回答します。")

    for _ in range(sender.MAX_ATTEMPTS - 1):  # retried with back-off: nothing to tell yet
        assert outbox_send(pk=message.pk, force=True).send_next_attempt_at is not None
    assert not Notification.objects.exists()

    final = outbox_send(pk=message.pk, force=True)

    assert final.send_status == EmailMessage.SendStatus.FAILED and final.send_next_attempt_at is None
    note = Notification.objects.get()
    assert (note.recipient, note.kind, note.inquiry) == (agent, Kind.REPLY_FAILED, inquiry)


def test_a_failed_reply_on_an_unassigned_inquiry_tells_whoever_wrote_it(agent, smtp_down):
    inquiry = InquiryFactory()
    message = mail_reply_create(inquiry=inquiry, actor=agent, body="回答します。")
    EmailMessage.objects.filter(pk=message.pk).update(send_attempts=sender.MAX_ATTEMPTS - 1)

    outbox_send(pk=message.pk, force=True)

    assert kinds(agent) == [Kind.REPLY_FAILED]


def test_a_send_of_unknown_outcome_tells_the_assignee(agent):
    inquiry = InquiryFactory(assigned_to=agent)
    with time_machine.travel(NOW, tick=False):
        message = mail_reply_create(inquiry=inquiry, actor=agent, body="回答")
        EmailMessage.objects.filter(pk=message.pk).update(send_status="sending", send_claimed_at=NOW)
    with time_machine.travel(NOW + dt.timedelta(minutes=16), tick=False):
        assert outbox_release_stale() == 1
        assert outbox_release_stale() == 0
    assert kinds(agent) == [Kind.REPLY_FAILED]


# --- notify itself, reading, the mail copy ----------------------------------------------------


def test_nobody_is_told_about_their_own_action_nor_an_inactive_account(agent):
    assert notify(agent, Kind.ASSIGNED, InquiryFactory(), actor=agent) is None
    gone = UserFactory(username="left", is_active=False)
    assert notify(gone, Kind.ASSIGNED, InquiryFactory()) is None
    assert notify(None, Kind.ASSIGNED) is None
    assert not Notification.objects.exists()


def test_marking_read_is_per_user(agent, other_agent):
    mine = notify(agent, Kind.ASSIGNED, InquiryFactory())
    theirs = notify(other_agent, Kind.ASSIGNED, InquiryFactory())
    notify(agent, Kind.CITIZEN_REPLIED, InquiryFactory())

    with pytest.raises(NotFoundError):
        notification_mark_read(user=agent, pk=theirs.pk)
    assert notification_mark_read(user=agent, pk=mine.pk).read_at is not None
    assert notification_mark_all_read(user=agent) == 1
    assert Notification.objects.filter(recipient=agent, read_at__isnull=True).count() == 0
    assert Notification.objects.get(pk=theirs.pk).read_at is None


def test_the_mail_copy_goes_after_commit_to_those_who_asked(agent, other_agent, django_capture_on_commit_callbacks):
    notification_preference_set(user=agent, email_copy=True)
    inquiry = InquiryFactory(requester_name="山田 太郎")

    with django_capture_on_commit_callbacks(execute=True):
        sent = notify(agent, Kind.ASSIGNED, inquiry)
        notify(other_agent, Kind.ASSIGNED, inquiry)  # did not ask: in-app only

    assert len(mail.outbox) == 1
    copy = mail.outbox[0]
    assert copy.to == [agent.email]
    assert inquiry.ref in copy.subject and "担当に割り当てられました" in copy.subject
    assert f"/desk/inquiries/{inquiry.ref}/" in copy.body
    assert "山田" not in copy.body + copy.subject  # no personal information in staff mailboxes
    sent.refresh_from_db()
    assert sent.emailed_at is not None


def test_mail_being_down_never_fails_the_write(agent, settings, django_capture_on_commit_callbacks):
    settings.EMAIL_BACKEND = "tests.helpdesk.notifications.test_services.BrokenMailBackend"
    notification_preference_set(user=agent, email_copy=True)
    supervisor = UserFactory(username="sv9", roles=["supervisor"])
    inquiry = InquiryFactory()

    with django_capture_on_commit_callbacks(execute=True):
        inquiry_assign(inquiry=inquiry, actor=supervisor, assignee=agent)

    inquiry.refresh_from_db()
    assert inquiry.assigned_to == agent
    note = Notification.objects.get()
    assert note.emailed_at is None


class BrokenMailBackend:
    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise ConnectionRefusedError("mail server down")
