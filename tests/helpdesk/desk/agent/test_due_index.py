"""The "due" list reads its rows from the partial index `inquiry_mail_awaiting_answer`
(bench/bench_desk.py: 1.5 s on 1 M inquiries without it). Seq scans are disabled so the
planner takes an index whenever one serves the query; a scan left in the plan means none does."""

import datetime as dt

import pytest
from django.db import connection

from helpdesk.desk.agent.selectors import QueueFilters, queue_queryset
from tests.factories import InquiryFactory
from tests.helpdesk.desk.agent.conftest import NOW

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def test_the_due_list_reads_the_awaiting_answer_index(agent):
    InquiryFactory(channel="email", status="new", received_at=NOW - dt.timedelta(hours=23))
    InquiryFactory(channel="phone", status="new", received_at=NOW - dt.timedelta(hours=23))
    qs = queue_queryset(user=agent, filters=QueueFilters(view="due"), now=NOW, target_seconds=86400)
    sql, params = qs.order_by("-received_at", "-id")[:25].query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("RESET enable_seqscan")
    assert "Seq Scan on helpdesk_inquiry" not in plan, plan
    assert "inquiry_mail_awaiting_answer" in plan, plan
