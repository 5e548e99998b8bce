"""The board reads a day through indexes, not by scanning the call or mail tables
(bench/bench_board.py: a day of a 1 M-call month). Seq scans are disabled so the planner
takes an index whenever one serves the query; a scan left in the plan means none does."""

import datetime as dt

import factory
import pytest
from django.db import connection

from kpi import metrics
from kpi.today import Day, waiting_mail
from tests.factories import CallFactory, tokyo
from tests.factories.kpi import answer_mail, email_inquiry

# db_owner: ANALYZE is the owner's (autovacuum's); the application role's would be skipped.
pytestmark = [pytest.mark.django_db, pytest.mark.postgres, pytest.mark.db_owner]


def _plans(run) -> str:
    """EXPLAIN of every SELECT `run()` sends, with seq scans disabled."""
    sqls: list[tuple[str, object]] = []

    def capture(execute, sql, params, many, context):
        sqls.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(capture):
        run()
    plans = []
    with connection.cursor() as cursor:
        # Statistics of this test's rows, not of whatever an earlier test left behind.
        cursor.execute("ANALYZE helpdesk_call")
        cursor.execute("ANALYZE helpdesk_emailmessage")
        cursor.execute("ANALYZE helpdesk_inquiry")
        cursor.execute("SET enable_seqscan = off")
        for sql, params in sqls:
            if sql.lstrip().upper().startswith("SELECT"):
                cursor.execute("EXPLAIN " + sql, params)
                plans.append("\n".join(row[0] for row in cursor.fetchall()))
        cursor.execute("RESET enable_seqscan")
    return "\n".join(plans)


def test_the_days_call_aggregate_reads_two_index_ranges():
    # arrived in the day, or answered in its ACW window: arrived_at OR answered_at. Two
    # months of calls, so that reading one day by ranges is what the statistics favour.
    start = tokyo(2026, 9, 1, 9)
    CallFactory.create_batch(
        1500, arrived_at=factory.Iterator(start + dt.timedelta(minutes=57 * i) for i in range(1500)), agent="op01"
    )
    plan = _plans(lambda: metrics.call_aggregates(Day(dt.date(2026, 10, 2))))  # type: ignore[arg-type]
    outer = [line for line in plan.splitlines() if "on helpdesk_call " in line and " u0" not in line]
    assert outer, plan
    # Neither a scan of the table nor a whole-index walk: the day's rows come by ranges, and
    # the answered_at side of the OR has only `call_answered_at` to serve it.
    assert not any("Seq Scan" in line for line in outer), plan
    assert "call_answered_at" in plan, plan


def test_waiting_mail_reads_the_real_answers_from_their_index():
    inquiry = email_inquiry(tokyo(2026, 10, 2, 9))
    answer_mail(inquiry, tokyo(2026, 10, 2, 10))
    email_inquiry(tokyo(2026, 10, 2, 11))
    plan = _plans(lambda: waiting_mail(as_of=tokyo(2026, 10, 2, 12), email_max_seconds=86400))
    assert "Seq Scan on helpdesk_emailmessage" not in plan, plan
    assert "email_real_answer" in plan, plan


def test_a_live_moments_waiting_mail_reads_the_answer_stamp_index():
    # No real answer sent after the moment (a live board): the waiting mail comes from the
    # index of mail inquiries by answer stamp (none, or a later one), not from the lookback.
    for day in range(1, 29):
        answered = email_inquiry(tokyo(2026, 9, day, 9), first_answered_at=tokyo(2026, 9, day, 10))
        answer_mail(answered, tokyo(2026, 9, day, 10))
        email_inquiry(tokyo(2026, 9, day, 11))
    plan = _plans(lambda: waiting_mail(as_of=tokyo(2026, 10, 2, 12), email_max_seconds=86400))
    assert "inquiry_mail_answer_stamp" in plan, plan
    assert "Seq Scan on helpdesk_inquiry" not in plan, plan


def test_a_past_moment_with_later_answers_reads_them_from_their_sent_time_index():
    # A month of answers sent before the moment and one after it: reading "sent after the
    # moment" by a range of the sent-time index beats walking the (inquiry, sent_at) index
    # whole. With a single answer both cost the same and the planner may take either.
    for day in range(1, 29):
        answered = email_inquiry(tokyo(2026, 9, day, 9), first_answered_at=tokyo(2026, 9, day, 10))
        answer_mail(answered, tokyo(2026, 9, day, 10))
        answer_mail(answered, tokyo(2026, 9, day, 15))
    inquiry = email_inquiry(tokyo(2026, 10, 2, 9))
    answer_mail(inquiry, tokyo(2026, 10, 3, 10))  # answered after the moment
    plan = _plans(lambda: waiting_mail(as_of=tokyo(2026, 10, 2, 12), email_max_seconds=86400))
    assert "email_real_answer_sent" in plan, plan
    assert "Seq Scan on helpdesk_emailmessage" not in plan, plan
