"""factory_boy factories for every helpdesk record; related rows and times stay consistent."""

import datetime as dt

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from helpdesk.inquiries.services import inquiry_new_ref
from helpdesk.models import Call, Complaint, EmailMessage, Escalation, Inquiry, SecurityIncident

TOKYO = dt.timezone(dt.timedelta(hours=9))


def tokyo(*args: int) -> dt.datetime:
    """An aware datetime on the Tokyo clock: tokyo(2026, 10, 1, 9, 30)."""
    return dt.datetime(*args, tzinfo=TOKYO)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@center.example.jp")
    password = factory.django.Password("pass-1234-word")

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        if create and extracted:
            self.groups.set(Group.objects.filter(name__in=list(extracted)))


class CallFactory(factory.django.DjangoModelFactory):
    """An answered in-hours call by default: arrived, queued 5 s later, answered after 20 s,
    talked for 5 minutes."""

    class Meta:
        model = Call

    call_id = factory.Sequence(lambda n: f"pbx-{n:08d}")
    arrived_at = factory.LazyFunction(lambda: tokyo(2026, 10, 1, 10, 0))
    caller = factory.Sequence(lambda n: f"0312345{n % 10000:04d}")
    outcome = Call.Outcome.ANSWERED
    in_service_hours = factory.LazyAttribute(lambda c: c.outcome != Call.Outcome.OUT_OF_HOURS)
    queue = factory.LazyAttribute(
        lambda c: "" if c.outcome in (Call.Outcome.IVR_ABANDONED, Call.Outcome.OUT_OF_HOURS) else "egov"
    )
    queued_at = factory.LazyAttribute(lambda c: c.arrived_at + dt.timedelta(seconds=5) if c.queue else None)
    answered_at = factory.LazyAttribute(
        lambda c: c.arrived_at + dt.timedelta(seconds=25) if c.outcome == Call.Outcome.ANSWERED else None
    )
    ended_at = factory.LazyAttribute(
        lambda c: (
            (c.answered_at + dt.timedelta(seconds=300)) if c.answered_at else c.arrived_at + dt.timedelta(seconds=40)
        )
    )
    agent = factory.LazyAttribute(lambda c: "op01" if c.outcome == Call.Outcome.ANSWERED else "")
    acw_seconds = None


class InquiryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Inquiry

    channel = Inquiry.Channel.EMAIL
    received_at = factory.LazyFunction(lambda: tokyo(2026, 10, 1, 10, 0))
    ref = factory.LazyAttribute(lambda i: inquiry_new_ref(i.received_at))
    subject = "電子申請の送信エラーについて"
    body = "e-Govアプリで申請データを送信すると「送信に失敗しました」と表示されます。"
    category = "send_error"
    requester_name = "山田 太郎"
    requester_email = factory.Sequence(lambda n: f"citizen{n}@example.com")
    requester_phone = "090-1234-5678"


class PhoneInquiryFactory(InquiryFactory):
    channel = Inquiry.Channel.PHONE
    call = factory.SubFactory(CallFactory)
    received_at = factory.LazyAttribute(lambda i: i.call.arrived_at)
    requester_email = ""


class EmailMessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EmailMessage

    message_id = factory.Sequence(lambda n: f"<msg-{n}@example.com>")
    direction = EmailMessage.Direction.INBOUND
    from_address = factory.Sequence(lambda n: f"citizen{n}@example.com")
    subject = "e-Govの操作について"
    body_text = "お世話になっております。申請方法を教えてください。"
    received_at = factory.LazyFunction(lambda: tokyo(2026, 10, 1, 10, 0))
    sent_at = factory.LazyAttribute(lambda m: m.received_at)
    raw = factory.LazyAttribute(
        lambda m: f"Message-ID: {m.message_id}\r\nFrom: {m.from_address}\r\nSubject: test\r\n\r\nbody\r\n".encode()
    )


class EscalationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Escalation

    inquiry = factory.SubFactory(InquiryFactory)
    target = Escalation.Target.RESPONSIBLE_SECTION
    escalated_at = factory.LazyAttribute(lambda e: e.inquiry.received_at + dt.timedelta(hours=1))


class ComplaintFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Complaint

    inquiry = factory.SubFactory(InquiryFactory)
    received_at = factory.LazyAttribute(lambda c: c.inquiry.received_at + dt.timedelta(hours=2))
    cause = Complaint.Cause.UNCONFIRMED
    confirmed_at = factory.LazyAttribute(
        lambda c: None if c.cause == Complaint.Cause.UNCONFIRMED else c.received_at + dt.timedelta(days=1)
    )
    description = "説明が分かりにくかった"


class SecurityIncidentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SecurityIncident

    occurred_at = factory.LazyFunction(lambda: tokyo(2026, 10, 5, 14, 0))
    detected_at = factory.LazyAttribute(lambda i: i.occurred_at + dt.timedelta(hours=3))
    severity = SecurityIncident.Severity.MINOR
    kind = SecurityIncident.Kind.PERSONAL_INFORMATION
    description = "誤送信"


def now() -> dt.datetime:
    return timezone.now()
