"""The "due" list reads its rows from the partial index `inquiry_mail_awaiting_answer`
(bench/bench_desk.py: 1.5 s on 1 M inquiries without it). Seq scans are disabled so the
planner takes an index whenever one serves the query; a scan left in the plan means none does."""

import datetime as dt

import pytest
from django.db import connection

from helpdesk.desk.agent.selectors import QueueFilters, queue_queryset, requester_history_queryset
from helpdesk.models import Inquiry
from tests.factories import InquiryFactory
from tests.helpdesk.desk.agent.conftest import NOW

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


@pytest.mark.db_owner  # ANALYZE is the owner's (autovacuum's)
def test_the_due_list_reads_the_awaiting_answer_index(agent):
    InquiryFactory(channel="email", status="new", received_at=NOW - dt.timedelta(hours=23))
    InquiryFactory(channel="phone", status="new", received_at=NOW - dt.timedelta(hours=23))
    # A center's table: most inquiries are long closed. With two rows and the statistics an
    # earlier test left, the planner took the date index (`inquiry_recent`) as often as this one.
    Inquiry.objects.bulk_create(
        InquiryFactory.build(channel="phone", status="closed", received_at=NOW - dt.timedelta(days=2, minutes=n))
        for n in range(2000)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE helpdesk_inquiry")
    qs = queue_queryset(user=agent, filters=QueueFilters(view="due"), now=NOW, target_seconds=86400)
    sql, params = qs.order_by("-received_at", "-id")[:25].query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("RESET enable_seqscan")
    assert "Seq Scan on helpdesk_inquiry" not in plan, plan
    assert "inquiry_mail_awaiting_answer" in plan, plan


@pytest.mark.db_owner  # ANALYZE is the owner's (autovacuum's): the keys' statistics
def test_the_requester_history_reads_the_requester_key_indexes(agent):
    inquiry = InquiryFactory(requester_email="Taro@Example.com", requester_phone="03-1234-5678")
    InquiryFactory(requester_email="taro@example.com", requester_phone="")
    Inquiry.objects.bulk_create(
        InquiryFactory.build(requester_email=f"citizen{n}@example.jp", requester_phone=f"090-0000-{n:04d}")
        for n in range(2000)
    )
    qs = requester_history_queryset(inquiry=inquiry)
    sql, params = qs[:20].query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE helpdesk_inquiry")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Seq Scan on helpdesk_inquiry" not in plan, plan
    assert "inquiry_requester_email_key" in plan and "inquiry_requester_phone_key" in plan, plan
