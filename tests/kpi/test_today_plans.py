"""The board reads a day through indexes, not by scanning the call or mail tables
(bench/bench_board.py: a day of a 1 M-call month). Seq scans are disabled so the planner
takes an index whenever one serves the query; a scan left in the plan means none does."""

import datetime as dt
import re

import factory
import pytest
from django.db import connection

from kpi import metrics
from kpi.today import Day, waiting_mail
from tests.factories import CallFactory, tokyo
from tests.factories.kpi import answer_mail, email_inquiry

# db_owner: ANALYZE is the owner's (autovacuum's); the application role's would be skipped.
pytestmark = [pytest.mark.django_db, pytest.mark.postgres, pytest.mark.db_owner]


def _explained(run, *, disable: tuple[str, ...], selects_only: bool) -> str:
    """EXPLAIN of the statements `run()` sends, with the given plan types disabled, on this
    test's statistics (not on whatever an earlier test left behind)."""
    sqls: list[tuple[str, object]] = []

    def capture(execute, sql, params, many, context):
        sqls.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(capture):
        run()
    plans = []
    with connection.cursor() as cursor:
        for table in ("helpdesk_call", "helpdesk_emailmessage", "helpdesk_inquiry"):
            cursor.execute(f"ANALYZE {table}")
        for setting in disable:
            cursor.execute(f"SET {setting} = off")
        for sql, params in sqls:
            if not selects_only or sql.lstrip().upper().startswith("SELECT"):
                cursor.execute("EXPLAIN " + sql, params)
                plans.append("\n".join(row[0] for row in cursor.fetchall()))
        for setting in disable:
            cursor.execute(f"RESET {setting}")
    return "\n".join(plans)


def _plans(run) -> str:
    """EXPLAIN of every SELECT `run()` sends, with seq scans disabled."""
    return _explained(run, disable=("enable_seqscan",), selects_only=True)


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


def _index_only_plans(run) -> str:
    """EXPLAIN of every statement `run()` sends, with seq and bitmap scans disabled: an index
    that covers the query then shows as an Index Only Scan (the costing prefers it whatever
    the visibility map), one that does not as an Index Scan."""
    return _explained(run, disable=("enable_seqscan", "enable_bitmapscan"), selects_only=False)


def test_the_days_counts_and_latest_end_are_index_only_scans():
    """The day's answered calls per agent, inquiries by status, latest call end (what the
    stored figures depend on) and the latest wait's pick read covering indexes
    (helpdesk 0026): no heap read per call or inquiry of the day."""
    from kpi.today import calls_answered_by_agent, day_depends, inquiries_by_status, latest_queue_wait
    from tests.factories import PhoneInquiryFactory

    # ten days, eight agents: one day's range is what the statistics favour, not a walk of
    # the whole (agent, arrived_at) index for its order
    start = tokyo(2026, 9, 25, 9)
    CallFactory.create_batch(
        2000,
        arrived_at=factory.Iterator(start + dt.timedelta(minutes=7 * i) for i in range(2000)),
        agent=factory.Iterator([f"op{n:02}" for n in range(8)]),
    )
    PhoneInquiryFactory.create_batch(
        300,
        received_at=factory.Iterator(start + dt.timedelta(minutes=15 * i) for i in range(300)),
        status=factory.Iterator(["new", "in_progress", "closed"]),
    )
    day = Day(dt.date(2026, 10, 2))
    with connection.cursor() as cursor:
        # what is pinned is that the covering index serves these reads alone; the (agent,
        # arrived_at) index, which a small table's statistics may prefer for its order, is out
        # of the way (dropped inside the test's transaction: rolled back with it)
        cursor.execute("DROP INDEX call_agent_recent")
    for run, index in [
        (lambda: calls_answered_by_agent(day=day), "call_month_outcome"),
        (lambda: inquiries_by_status(day=day), "inquiry_recent"),
    ]:
        plan = _index_only_plans(run)
        assert f"Index Only Scan using {index}" in plan, plan
    plan = _index_only_plans(lambda: day_depends(day=day, as_of=day.end))
    assert "Index Only Scan using call_month_outcome" in plan, plan
    plan = _index_only_plans(lambda: latest_queue_wait(day=day, as_of=day.end))
    # the latest arrival and the longest wait's pick
    assert len(re.findall(r"Index Only Scan (?:Backward )?using call_month_outcome", plan)) == 2, plan


def test_a_days_computation_sends_a_fixed_number_of_queries():
    """However many calls and inquiries the day has: one aggregate per figure, no query per row."""
    from django.test.utils import CaptureQueriesContext

    from kpi.today import day_figures_compute

    day = Day(dt.date(2026, 10, 2))

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            day_figures_compute(day=day, as_of=day.end)
        return len(queries.captured_queries)

    CallFactory(arrived_at=tokyo(2026, 10, 2, 9), agent="op01")
    email_inquiry(tokyo(2026, 10, 2, 9))
    few = count()
    CallFactory.create_batch(
        50, arrived_at=factory.Iterator(tokyo(2026, 10, 2, 10) + dt.timedelta(minutes=i) for i in range(50))
    )
    for i in range(10):
        email_inquiry(tokyo(2026, 10, 2, 11, i))
    assert count() == few <= 17  # 2 of them SET LOCAL jit = off


def test_a_days_input_versions_read_its_hours_from_the_log_index_not_the_whole_log():
    """`kpi_day_versions` (every revalidation, every stale poll): its cost must follow the
    day's ranges, not the log's length (a year of log: one row per kind and hour)."""
    from kpi.models import KpiInputChange
    from kpi.selectors import kpi_day_versions
    from kpi.today import day_depends

    year = [tokyo(2025, 10, 1) + dt.timedelta(hours=h) for h in range(0, 365 * 24, 3)]
    KpiInputChange.objects.bulk_create(
        KpiInputChange(kind=kind, at=at, n=1) for at in year for kind in (KpiInputChange.CALL, KpiInputChange.INQUIRY)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE kpi_kpiinputchange")
    depends = day_depends(day=Day(dt.date(2026, 3, 2)), as_of=tokyo(2026, 3, 3))
    before = kpi_day_versions(depends=depends)
    plan = _plans(lambda: kpi_day_versions(depends=depends))
    assert "Seq Scan" not in plan, plan
    assert plan.count("kpiinputchange_kind_at") >= 3, plan
    # the sums are the log's: a row in the day's call hours moves the day's version alone
    KpiInputChange.objects.create(kind=KpiInputChange.CALL, at=tokyo(2026, 3, 2, 10), n=1)
    KpiInputChange.objects.create(kind=KpiInputChange.OPEN, n=1)
    assert kpi_day_versions(depends=depends) == (before[0] + 1, before[1] + 1)
