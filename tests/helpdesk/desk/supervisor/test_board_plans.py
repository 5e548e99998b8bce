"""The board's escalations panel reads the open escalations through their partial index
(helpdesk 0025), however many have been answered (bench/bench_board.py)."""

import datetime as dt

import pytest
from django.db import connection

from helpdesk.desk.supervisor.selectors import open_escalations
from helpdesk.models import Escalation
from tests.factories import EscalationFactory, tokyo
from tests.kpi.test_today_plans import _plans

# db_owner: ANALYZE is the owner's (autovacuum's); the application role's would be skipped.
pytestmark = [pytest.mark.django_db, pytest.mark.postgres, pytest.mark.db_owner]


def test_the_boards_oldest_open_escalations_read_the_open_index():
    """helpdesk 0025: the escalations panel's oldest open requests and handovers come from the
    partial index of the open ones, not from every escalation ever made."""
    start = tokyo(2026, 9, 1, 9)
    for i in range(300):
        at = start + dt.timedelta(hours=i)
        target = Escalation.Target.INTERNAL if i % 3 else Escalation.Target.RESPONSIBLE_SECTION
        # most were answered long ago: the open ones are the few the board lists
        EscalationFactory(escalated_at=at, target=target, returned_at=at + dt.timedelta(hours=1) if i % 10 else None)
    # A center's years of answered escalations (20× more answered ones): with only 300 rows
    # the planner's choice between this index and the target's was a coin toss on the
    # statistics' sample (it took the target's once in a full run).
    columns = ", ".join(f.column for f in Escalation._meta.concrete_fields if f.column not in ("id", "handover_key"))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO helpdesk_escalation (handover_key, {columns}) "
            f"SELECT gen_random_uuid(), {columns} FROM helpdesk_escalation, generate_series(1, 20) "
            "WHERE returned_at IS NOT NULL"
        )
        cursor.execute("ANALYZE helpdesk_escalation")
    plan = _plans(lambda: open_escalations(now=tokyo(2026, 10, 20)))
    lists = [p for p in plan.split("Limit")[1:] if "helpdesk_escalation" in p]
    assert len(lists) == 2, plan
    for p in lists:
        # the open ones only (a handful of rows here, so PostgreSQL may still sort them; on the
        # bench's 29 k open ones it walks the index in order and stops at 20: 13 ms → 0.07 ms)
        assert "escalation_open_oldest" in p and "Seq Scan" not in p, plan
