"""Factories for the kpi app's own rows, and helpers that build a month's raw records."""

import datetime as dt
from decimal import Decimal

import factory

from helpdesk.models import Call, EmailMessage
from kpi.models import FiscalMonthPeriod, KpiSnapshot, KpiTarget, PeriodType
from tests.factories import CallFactory, EmailMessageFactory, InquiryFactory


class KpiTargetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = KpiTarget

    name = factory.Sequence(lambda n: f"契約{n}")
    valid_from = dt.date(2024, 4, 1)
    valid_to = None
    answer_rate_normal = Decimal("0.900")
    answer_rate_busy = Decimal("0.700")


class FiscalMonthPeriodFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FiscalMonthPeriod
        django_get_or_create = ("fiscal_year", "month")

    fiscal_year = 2026
    month = 10
    period_type = PeriodType.BUSY


class KpiSnapshotFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = KpiSnapshot

    month = "2026-10"
    version = factory.Sequence(lambda n: n + 1)
    data = factory.LazyFunction(dict)
    published_at = factory.LazyFunction(lambda: dt.datetime(2026, 11, 5, tzinfo=dt.UTC))


def calls(n: int, **kwargs) -> list[Call]:
    return CallFactory.create_batch(n, **kwargs)


def email_inquiry(received_at: dt.datetime, answered_after: dt.timedelta | None = None, **kwargs):
    """An email inquiry with its inbound message and, optionally, an outbound answer."""
    inquiry = InquiryFactory(received_at=received_at, **kwargs)
    EmailMessageFactory(inquiry=inquiry, received_at=received_at)
    if answered_after is not None:
        answer_mail(inquiry, received_at + answered_after)
    return inquiry


def answer_mail(inquiry, sent_at: dt.datetime, **kwargs) -> EmailMessage:
    return EmailMessageFactory(
        inquiry=inquiry,
        direction=EmailMessage.Direction.OUTBOUND,
        from_address="support@e-gov-help.example.jp",
        sent_at=sent_at,
        received_at=None,
        **kwargs,
    )
