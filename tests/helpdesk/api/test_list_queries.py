"""Every DRF list endpoint of the API answers in the same number of queries for one row and
for many: a serializer reading a relation per row (N+1) fails here. The inquiries list and
the public FAQ entries have their own such tests (tests/helpdesk/inquiries/test_api.py,
tests/faq/test_schema_and_queries.py); the missing-wrap-up list is capped in
tests/helpdesk/phone/test_api.py; the KPI drill-downs in tests/kpi/api/test_drilldown.py."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from faq.models import FaqCategory
from helpdesk.models import CalendarDay, EmailMessage, ImportRun, Role
from tests.factories import (
    CallFactory,
    ComplaintFactory,
    EmailMessageFactory,
    EscalationFactory,
    InquiryFactory,
    PhoneInquiryFactory,
    SecurityIncidentFactory,
    UserFactory,
    tokyo,
)
from tests.factories.faq import IvrAnnouncementFactory, SurgeAlertFactory, TopicClusterFactory

MANY = 6


def _call(n: int) -> None:
    # Half linked to an inquiry: the list shows the linked reference.
    call = CallFactory(arrived_at=tokyo(2026, 10, 1, 9) + dt.timedelta(minutes=n))
    if n % 2:
        PhoneInquiryFactory(call=call)


def _email(n: int) -> None:
    EmailMessageFactory(inquiry=InquiryFactory())


def _outbox(n: int) -> None:
    EmailMessageFactory(
        inquiry=InquiryFactory(),
        direction=EmailMessage.Direction.OUTBOUND,
        send_status=EmailMessage.SendStatus.QUEUED,
    )


def _import_run(n: int) -> None:
    ImportRun.objects.create(
        kind=ImportRun.Kind.MAIL, source_name=f"box-{n}.mbox", created_by=UserFactory(username=f"importer{n}")
    )


def _calendar_day(n: int) -> None:
    CalendarDay.objects.create(date=dt.date(2026, 11, 1) + dt.timedelta(days=n), kind=CalendarDay.Kind.CLOSED)


def _faq_category(n: int) -> None:
    FaqCategory.objects.create(name=f"分類{n}", slug=f"category-{n}", order=n)


def _ivr(n: int) -> None:
    IvrAnnouncementFactory(source_surge=SurgeAlertFactory(), approved_by=UserFactory(username=f"approver{n}"))


ENDPOINTS = {
    # name: (url, role, make one row, how to count the rows in the body)
    "calls": ("/api/calls/", Role.SUPERVISOR, _call),
    "complaints": ("/api/complaints/", Role.SUPERVISOR, lambda n: ComplaintFactory()),
    "escalations": ("/api/escalations/", Role.SUPERVISOR, lambda n: EscalationFactory()),
    "security-incidents": ("/api/security-incidents/", Role.ADMIN, lambda n: SecurityIncidentFactory()),
    "emails": ("/api/emails/", Role.SUPERVISOR, _email),
    "mail-outbox": ("/api/mail/outbox/", Role.SUPERVISOR, _outbox),
    "import-runs": ("/api/import-runs/", Role.ADMIN, _import_run),
    "calendar-days": ("/api/calendar/days/", Role.SUPERVISOR, _calendar_day),
    "faq-categories": ("/api/faq/categories/", Role.SUPERVISOR, _faq_category),
    "faq-clusters": ("/api/faq/clusters/", Role.SUPERVISOR, lambda n: TopicClusterFactory()),
    "faq-surges": ("/api/faq/surges/", Role.SUPERVISOR, lambda n: SurgeAlertFactory()),
    "faq-ivr": ("/api/faq/ivr/", Role.ADMIN, _ivr),
}


def _rows(body) -> int:
    return len(body["results"] if isinstance(body, dict) else body)


def _get(client, url: str) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, response.content
    return len(queries.captured_queries), _rows(response.json())


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(ENDPOINTS))
def test_list_query_count_does_not_grow_with_rows(name, api):
    url, role, make = ENDPOINTS[name]
    client = api.as_user(UserFactory(username="lister", roles=[role]))
    make(0)
    client.get(url)  # warm: the user's roles are read once per user object
    one, rows_one = _get(client, url)
    for n in range(1, MANY):
        make(n)
    many, rows_many = _get(client, url)
    assert (rows_one, rows_many) == (1, MANY)
    assert many == one, f"{name}: {one} queries for 1 row, {many} for {MANY}"
