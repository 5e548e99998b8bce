"""Status rules: an answer moves an inquiry to 回答済 (awaiting the citizen), the citizen
writing back moves it back to 対応中, an escalation's answer coming back moves it on so the
agent answers. Each move is a versioned, audited write made by the services."""

import datetime as dt
import itertools

import pytest

from helpdesk.escalations.services import escalation_create, escalation_record_return
from helpdesk.inquiries.services import inquiry_mark_answered
from helpdesk.mail.intake import mail_store
from helpdesk.mail.outbox import mail_reply_create
from helpdesk.models import AuditEvent, Escalation, Inquiry
from tests.factories import EscalationFactory, InquiryFactory
from tests.helpdesk.mail import builders as b

pytestmark = pytest.mark.django_db
TOKYO = dt.timezone(dt.timedelta(hours=9))

QUESTION = b.message(message_id="<s-q1@example.com>", date="Thu, 01 Oct 2026 10:00:00 +0900")
ANSWER = b.reply(
    to_message_id="<s-q1@example.com>",
    message_id="<s-a1@e-gov-help.example.jp>",
    date="Thu, 01 Oct 2026 14:10:00 +0900",
)
FOLLOW_UP = b.message(
    message_id="<s-q2@example.com>",
    in_reply_to="<s-a1@e-gov-help.example.jp>",
    references="<s-q1@example.com> <s-a1@e-gov-help.example.jp>",
    subject="Re: e-Govの申請について",
    date="Thu, 01 Oct 2026 15:00:00 +0900",
)
AUTO_ACK = b.reply(
    to_message_id="<s-q1@example.com>",
    message_id="<s-ack@e-gov-help.example.jp>",
    date="Thu, 01 Oct 2026 10:00:30 +0900",
    extra_headers={"Auto-Submitted": "auto-replied", "X-EG-Auto-Ack": "1"},
)


def _transitions(inquiry: Inquiry) -> list[tuple[str, str]]:
    events = AuditEvent.objects.filter(action="transition", object_id=inquiry.ref).order_by("id")
    return [(e.changes["status"]["old"], e.changes["status"]["new"]) for e in events]


def test_an_agents_reply_moves_the_inquiry_to_answered(agent):
    inquiry = InquiryFactory(requester_email="taro@example.com")

    mail_reply_create(inquiry=inquiry, actor=agent, body="手順をご案内します。")

    inquiry.refresh_from_db()
    assert inquiry.status == Inquiry.Status.ANSWERED and inquiry.version == 2
    assert _transitions(inquiry) == [("new", "answered")]
    assert AuditEvent.objects.get(action="transition", object_id=inquiry.ref).actor == agent


def test_a_reply_to_a_resolved_inquiry_does_not_reopen_it(agent):
    inquiry = InquiryFactory(status=Inquiry.Status.RESOLVED, resolved_at=dt.datetime(2026, 10, 2, tzinfo=TOKYO))

    mail_reply_create(inquiry=inquiry, actor=agent, body="補足です。")

    inquiry.refresh_from_db()
    assert inquiry.status == Inquiry.Status.RESOLVED and inquiry.version == 1


def test_an_imported_answer_moves_it_to_answered_and_the_citizens_reply_back_to_in_progress():
    inquiry = mail_store(raw=QUESTION, source="file").message.inquiry
    mail_store(raw=AUTO_ACK, source="file")
    inquiry.refresh_from_db()
    assert inquiry.status == Inquiry.Status.NEW  # an acknowledgement is no answer

    mail_store(raw=ANSWER, source="file")
    inquiry.refresh_from_db()
    assert inquiry.status == Inquiry.Status.ANSWERED
    assert inquiry.first_answered_at == dt.datetime(2026, 10, 1, 14, 10, tzinfo=TOKYO)

    mail_store(raw=FOLLOW_UP, source="file")
    inquiry.refresh_from_db()
    assert inquiry.status == Inquiry.Status.IN_PROGRESS
    assert _transitions(inquiry) == [("new", "answered"), ("answered", "in_progress")]


@pytest.mark.parametrize("order", list(itertools.permutations(range(4))))
def test_the_status_follows_the_thread_whatever_the_import_order(order):
    messages = [QUESTION, AUTO_ACK, ANSWER, FOLLOW_UP]

    for i in order:
        mail_store(raw=messages[i], source="file")

    inquiry = Inquiry.objects.get()
    # The citizen's follow-up (15:00) came after the answer (14:10): the ball is with us.
    assert inquiry.status == Inquiry.Status.IN_PROGRESS
    assert inquiry.first_answered_at == dt.datetime(2026, 10, 1, 14, 10, tzinfo=TOKYO)


def test_a_question_imported_after_its_follow_up_bumps_the_version_and_is_audited():
    mail_store(raw=FOLLOW_UP, source="file")
    inquiry = Inquiry.objects.get()
    version = inquiry.version

    mail_store(raw=QUESTION, source="file")  # the earlier question: the inquiry starts there

    inquiry.refresh_from_db()
    assert inquiry.received_at == dt.datetime(2026, 10, 1, 10, 0, tzinfo=TOKYO)
    assert inquiry.version == version + 1
    event = AuditEvent.objects.filter(action="update", object_id=inquiry.ref, changes__has_key="received_at").get()
    assert dt.datetime.fromisoformat(event.changes["received_at"]["new"]) == inquiry.received_at
    assert event.changes["reason"]


def test_escalation_moves_to_escalated_and_its_answer_back_to_in_progress(agent, supervisor):
    inquiry = InquiryFactory()
    escalation = escalation_create(inquiry=inquiry, actor=supervisor, target=Escalation.Target.RESPONSIBLE_SECTION)
    inquiry.refresh_from_db()
    assert inquiry.status == Inquiry.Status.ESCALATED

    escalation_record_return(escalation=escalation, actor=supervisor, answer="所管係の回答")

    inquiry.refresh_from_db()
    assert inquiry.status == Inquiry.Status.IN_PROGRESS
    assert _transitions(inquiry) == [("new", "escalated"), ("escalated", "in_progress")]


def test_escalated_inquiry_waits_for_every_open_escalation(agent, supervisor):
    inquiry = InquiryFactory()
    first = escalation_create(inquiry=inquiry, actor=agent, target=Escalation.Target.INTERNAL)
    escalation_create(inquiry=inquiry, actor=supervisor, target=Escalation.Target.OPERATIONS_VENDOR)

    escalation_record_return(escalation=first, actor=supervisor, answer="SV回答")
    inquiry_mark_answered(inquiry=inquiry, actor=agent)  # an interim reply while one is open

    inquiry.refresh_from_db()
    assert inquiry.status == Inquiry.Status.ESCALATED


def test_answer_after_the_escalation_came_back_moves_to_answered(agent, supervisor):
    inquiry = InquiryFactory(requester_email="taro@example.com")
    escalation = EscalationFactory(inquiry=inquiry)
    Inquiry.objects.filter(pk=inquiry.pk).update(status=Inquiry.Status.ESCALATED)
    escalation_record_return(escalation=escalation, actor=supervisor, answer="回答")

    mail_reply_create(inquiry=inquiry, actor=agent, body="所管係の回答をお伝えします。")

    inquiry.refresh_from_db()
    assert inquiry.status == Inquiry.Status.ANSWERED
