"""Each desk page costs the same number of queries for 1 row as for many."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from helpdesk.escalations.services import escalation_create
from helpdesk.inquiries.notes import inquiry_note_add
from helpdesk.models import Attachment, EmailMessage, Escalation
from tests.factories import EmailMessageFactory, InquiryFactory
from tests.helpdesk.desk.agent.conftest import NOW

pytestmark = pytest.mark.usefixtures("frozen")


def count(client, url: str) -> int:
    client.get(url)  # the contract's mail target is read once a minute, not per page
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("view", ["mine", "unassigned", "due", "all"])
def test_the_queue_costs_the_same_for_one_row_and_for_a_full_page(client, agent, view):
    client.force_login(agent)
    make = lambda n: [  # noqa: E731
        InquiryFactory(
            assigned_to=agent if view != "unassigned" else None,
            status="new",
            received_at=NOW - dt.timedelta(hours=23, minutes=i),
        )
        for i in range(n)
    ]
    make(1)
    one = count(client, f"/desk/?view={view}")
    make(40)
    many = count(client, f"/desk/?view={view}")

    assert one == many
    assert many == 5  # session, user, roles, the notification badge, the page with its mail-target columns


def test_the_inquiry_page_costs_the_same_for_a_short_and_a_long_thread(client, agent, mail_inquiry):
    client.force_login(agent)
    url = f"/desk/inquiries/{mail_inquiry.ref}/"
    one = count(client, url)
    for i in range(8):
        message = EmailMessageFactory(inquiry=mail_inquiry, received_at=NOW + dt.timedelta(minutes=i))
        Attachment.objects.create(message=message, filename=f"{i}.txt", size=1, content=b"x")
        EmailMessageFactory(
            inquiry=mail_inquiry,
            direction=EmailMessage.Direction.OUTBOUND,
            received_at=NOW + dt.timedelta(minutes=i, seconds=30),
        )
        inquiry_note_add(inquiry=mail_inquiry, actor=agent, body=f"メモ{i}")
        escalation_create(inquiry=mail_inquiry, actor=agent, target=Escalation.Target.INTERNAL, note=f"{i}")
        InquiryFactory(requester_email=mail_inquiry.requester_email)
    many = count(client, url)

    assert one == many
    assert many <= 15  # 9 reads of the page and its thread, the audit row's write
