"""After-call work as an ACD measures it (docs/kpi.md §2): without a PBX figure, ACW ends at
the earliest of the wrap-up, the same agent's next answered call and call end + the ACW
limit of the month's target. Each boundary is checked on the drill-down row (the same SQL
as the month's aggregate) and on the month's KPI object."""

import datetime as dt
import io
import random
from pathlib import Path

import pytest
import time_machine
from django.core.management import call_command
from django.db.models import Q

from helpdesk.clock import Month
from helpdesk.inquiries.services import inquiry_complete_wrapup
from helpdesk.models import Call, Inquiry
from helpdesk.phone.linking import call_log_inquiry
from kpi.metrics import NEXT_ANSWER_LEADS, acw_inputs, call_aggregates, next_answer_windowed
from kpi.selectors import drill_answered_calls, kpi_month_compute
from tests.factories import CallFactory, PhoneInquiryFactory, tokyo
from tests.factories.kpi import KpiTargetFactory

pytestmark = pytest.mark.django_db
DATA = Path(__file__).resolve().parent.parent / "data" / "calls"
OCT = Month(2026, 10)
START = tokyo(2026, 10, 5, 10)  # the call under test: answered at 10:00, 300 s, ends 10:05
END = START + dt.timedelta(seconds=300)
LIMIT = 1800


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(tokyo(2026, 12, 10, 12), tick=False):
        yield


def s(seconds: float) -> dt.timedelta:
    return dt.timedelta(seconds=seconds)


def answered(at: dt.datetime, *, agent: str = "op01", talk: float = 300, **kw) -> Call:
    """An answered call: arrived, queued and answered at `at`, ended `talk` s later."""
    kw.setdefault("arrived_at", at)
    kw.setdefault("queued_at", kw["arrived_at"])
    return CallFactory(answered_at=at, ended_at=at + s(talk), agent=agent, **kw)


def with_wrapup(call: Call, at: dt.datetime | None) -> Inquiry:
    return PhoneInquiryFactory(call=call, wrapup_completed_at=at)


def row(call: Call, month: Month = OCT):
    return drill_answered_calls(month=month).get(pk=call.pk)


def aht(month: Month = OCT) -> dict:
    return kpi_month_compute(month=month, now=tokyo(2026, 12, 10, 12))["average_handle_time"]


# --- (a) wrap-up, (b) next call, (c) limit: every boundary ------------------------------------


@pytest.mark.parametrize(
    ("wrapup_after", "acw", "source", "capped"),
    [
        (0, 0, "wrapup", False),  # wrap-up exactly at call end
        (-30, 0, "wrapup", False),  # stamped before the end: floored at 0
        (300, 300, "wrapup", False),  # before (b)
        (600, 600, "wrapup", False),  # exactly at (b): the wrap-up ended it, not capped
        (601, 600, "next_call", True),  # after (b): ends at (b), capped
        (5 * 86400, 600, "next_call", True),  # days later: still (b)
    ],
)
def test_wrapup_against_the_next_call(wrapup_after, acw, source, capped):
    call = answered(START)
    with_wrapup(call, END + s(wrapup_after))
    answered(END + s(600), in_service_hours=False)  # the next call (outside the mean)
    r = row(call)
    assert (r.acw_s, r.acw_end_s, r.acw_capped, r.missing_wrapup) == (acw, source, capped, False)
    a = aht()
    assert a["seconds"] == 300 + acw
    assert (a["calls_acw_capped"], a["calls_missing_wrapup"], a["acw_limit_seconds"]) == (int(capped), 0, LIMIT)


@pytest.mark.parametrize(
    ("wrapup_after", "acw", "source", "capped"),
    [
        (LIMIT - 1, LIMIT - 1, "wrapup", False),
        (LIMIT, LIMIT, "wrapup", False),  # exactly at the limit
        (LIMIT + 1, LIMIT, "limit", True),  # after the limit
        (90 * 86400, LIMIT, "limit", True),  # the issue: a September wrap-up completed in December
    ],
)
def test_wrapup_against_the_limit(wrapup_after, acw, source, capped):
    call = answered(START)
    with_wrapup(call, END + s(wrapup_after))
    r = row(call)
    assert (r.acw_s, r.acw_end_s, r.acw_capped) == (acw, source, capped)
    a = aht()
    assert (a["seconds"], a["calls_acw_capped"]) == (300 + acw, int(capped))


@pytest.mark.parametrize(
    ("next_after", "acw", "source"),
    [(None, LIMIT, "limit"), (600, 600, "next_call"), (LIMIT + 60, LIMIT, "limit"), (0, 0, "next_call")],
)
@pytest.mark.parametrize("linked", [True, False], ids=["inquiry-not-wrapped-up", "no-inquiry"])
def test_missing_wrapup_runs_to_the_next_call_or_the_limit(next_after, acw, source, linked):
    call = answered(START)
    if linked:
        with_wrapup(call, None)
    if next_after is not None:
        answered(END + s(next_after), in_service_hours=False)
    r = row(call)
    assert (r.acw_s, r.acw_end_s, r.missing_wrapup, r.acw_capped) == (acw, source, True, False)
    a = aht()
    assert (a["seconds"], a["calls_missing_wrapup"], a["calls_acw_capped"]) == (300 + acw, 1, 0)


def test_skipping_the_wrapup_is_not_rewarded():
    """Before: a skipped wrap-up counted 0 s, less than any honest one."""
    honest = answered(START, agent="op01")
    with_wrapup(honest, END + s(120))
    answered(START, agent="op02")  # never wrapped up, no next call
    assert row(honest).acw_s == 120
    assert aht()["seconds"] == (420 + 300 + LIMIT) / 2


def test_a_call_without_an_agent_skips_the_next_call_rule():
    call = answered(START, agent="")
    answered(END + s(60), agent="", in_service_hours=False)
    r = row(call)
    assert (r.acw_s, r.acw_end_s, r.missing_wrapup) == (LIMIT, "limit", True)


def test_only_the_same_agents_next_call_counts_and_not_the_call_itself():
    # zero-length call: answered at its own end, which must not end its own ACW
    call = answered(START, talk=0)
    answered(START + s(100), agent="op02", in_service_hours=False)  # another agent
    answered(START - s(600), in_service_hours=False)  # the agent's earlier call
    assert (row(call).acw_s, row(call).acw_end_s) == (LIMIT, "limit")


def test_next_call_is_the_first_answered_at_or_after_the_end_wherever_it_arrived():
    call = answered(START)
    # queued while the agent was still on the call, answered 100 s after its end
    answered(END + s(100), arrived_at=START + s(10), in_service_hours=False)
    # the first call to arrive after the end, answered later
    answered(END + s(200), arrived_at=END + s(50), in_service_hours=False)
    # answered during the call (overlap, e.g. a transfer): not "after the end"
    answered(START + s(100), in_service_hours=False)
    r = row(call)
    assert (r.acw_s, r.acw_next_answer_at) == (100, END + s(100))


def test_next_call_in_the_next_month_counts():
    call = answered(tokyo(2026, 10, 31, 23, 50), talk=60)  # ends 23:51 JST
    answered(tokyo(2026, 11, 1, 0, 1))  # November, 600 s after the end
    assert (row(call).acw_s, row(call).acw_end_s) == (600, "next_call")


def test_pbx_acw_wins_over_wrapup_next_call_and_limit():
    call = answered(START, acw_seconds=30)
    with_wrapup(call, END + s(90 * 86400))
    other = answered(START + s(1000), acw_seconds=2400)  # the PBX's figure is never capped
    r = row(call)
    assert (r.acw_s, r.acw_end_s, r.acw_capped, r.missing_wrapup) == (30, "pbx", False, False)
    assert row(other).acw_s == 2400
    a = aht()
    assert (a["seconds"], a["calls_acw_capped"], a["calls_missing_wrapup"], a["acw_from_pbx"]) == (
        (330 + 2700) / 2,
        0,
        0,
        2,
    )


def test_call_without_an_end_time_counts_acw_from_the_answer():
    call = answered(START)
    Call.objects.filter(pk=call.pk).update(ended_at=None)
    with_wrapup(call, START + s(400))
    r = row(call)
    assert (r.connected_s, r.acw_s, r.handle_s) == (0, 400, 400)


def test_limit_comes_from_the_target_version_valid_for_the_month():
    KpiTargetFactory(valid_from=dt.date(2024, 4, 1), valid_to=dt.date(2026, 10, 1), acw_limit_seconds=1800)
    KpiTargetFactory(valid_from=dt.date(2026, 10, 1), acw_limit_seconds=600)
    sep = answered(tokyo(2026, 9, 7, 10))
    with_wrapup(sep, None)
    oct_ = answered(START)
    with_wrapup(oct_, END + s(900))
    assert row(sep, Month(2026, 9)).acw_s == 1800
    assert (row(oct_).acw_s, row(oct_).acw_end_s, row(oct_).acw_capped) == (600, "limit", True)
    assert (aht(Month(2026, 9))["seconds"], aht(Month(2026, 9))["acw_limit_seconds"]) == (2100, 1800)
    a = aht()
    assert (a["seconds"], a["acw_limit_seconds"], a["calls_acw_capped"]) == (900, 600, 1)


def test_drilldown_filters_capped_and_missing(api, reviewer):
    capped = answered(START)
    with_wrapup(capped, END + s(LIMIT + 5))
    missing = answered(START, agent="op02")
    ok = answered(START, agent="op03")
    with_wrapup(ok, END + s(60))
    c = api.as_user(reviewer)
    base = "/api/kpi/months/2026-10/answered-calls/"
    rows = c.get(base, {"acw_capped": "true"}).json()["results"]
    assert [(x["id"], x["acw_source"], x["acw_seconds"], x["acw_capped"]) for x in rows] == [
        (capped.pk, "limit", LIMIT, True)
    ]
    assert rows[0]["wrapup_completed_at"] is not None
    rows = c.get(base, {"missing_wrapup": "true"}).json()["results"]
    assert [(x["id"], x["acw_source"], x["missing_wrapup"]) for x in rows] == [(missing.pk, "limit", True)]
    assert [x["id"] for x in c.get(base, {"acw_source": "wrapup"}).json()["results"]] == [ok.pk]
    assert c.get(base, {"acw_source": "bogus"}).status_code == 400


# --- the SQL against an independent reference, on random months -------------------------------


def reference_acw(call: Call, calls: list[Call], wrapups: dict[int, dt.datetime | None], limit: int) -> float:
    """kpi.md §2 written out plainly, one call at a time: the test's oracle."""
    if call.acw_seconds is not None:
        return float(call.acw_seconds)
    end = call.ended_at or call.answered_at
    ends = [end + s(limit)]
    if call.agent:
        later = [c.answered_at for c in calls if c.pk != call.pk and c.agent == call.agent and c.answered_at >= end]
        if later:
            ends.append(min(later))
    wrap = wrapups.get(call.pk)
    if wrap is not None:
        ends.append(max(wrap, end))
    return (min(ends) - end).total_seconds()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sql_matches_the_reference_on_random_months(seed):
    rng = random.Random(seed)
    limit = rng.choice([300, 900, 1800])
    KpiTargetFactory(valid_from=dt.date(2026, 4, 1), acw_limit_seconds=limit)
    wrapups: dict[int, dt.datetime | None] = {}
    for _ in range(60):
        at = tokyo(2026, 10, rng.randint(1, 3), 9) + s(rng.randrange(0, 8 * 3600))
        call = answered(
            at,
            agent=rng.choice(["op01", "op02", "op03", ""]),
            talk=rng.choice([0, 30, 300, 1200]),
            acw_seconds=rng.choice([None, None, None, 45]),
            in_service_hours=rng.random() < 0.8,
        )
        kind = rng.random()
        if kind < 0.7:
            wrap = call.ended_at + s(rng.choice([-20, 0, 60, 600, limit, limit + 1, 86400]))
            wrap = max(wrap, call.arrived_at)
            with_wrapup(call, wrap)
            wrapups[call.pk] = wrap
        elif kind < 0.85:
            with_wrapup(call, None)
    calls = list(Call.objects.all())
    in_month = [c for c in calls if c.in_service_hours]
    expected = {c.pk: reference_acw(c, calls, wrapups, limit) for c in in_month}
    got = {r.pk: r.acw_s for r in drill_answered_calls(month=OCT)}
    assert got == pytest.approx(expected)
    handle = [(c.ended_at - c.answered_at).total_seconds() + expected[c.pk] for c in in_month]
    assert aht()["seconds"] == pytest.approx(sum(handle) / len(handle), abs=0.001)


# --- the month's windowed (b) against the per-call lookup ----------------------------------


def reference_next(call: Call, calls: list[Call]) -> dt.datetime | None:
    end = call.ended_at or call.answered_at
    later = [c.answered_at for c in calls if c.pk != call.pk and c.agent == call.agent and c.answered_at >= end]
    return min(later) if call.agent and later else None


def windowed_next(month: Month, limit: int) -> dict[int, dt.datetime | None]:
    """(b) per month call exactly as the month's aggregate computes it (window + fallback)."""
    rows, fast = next_answer_windowed(month, limit_seconds=limit)
    qs = (
        Call.objects.filter(Q(arrived_at__gte=month.start, arrived_at__lt=month.end) | rows)
        .annotate(**acw_inputs(next_answer=fast))
        .values_list("pk", "arrived_at", "acw_next_answer_at")
    )
    return {pk: nxt for pk, arrived, nxt in qs if month.start <= arrived < month.end}


def test_an_agent_on_more_calls_at_once_than_the_window_compares_falls_back_exactly():
    long = answered(START, talk=3600)
    for k in range(NEXT_ANSWER_LEADS + 2):  # answered (and ended) while `long` was still on
        answered(START + s(10 + k), talk=60, in_service_hours=False)
    answered(START + s(3650), in_service_hours=False)  # the next answer after its end
    assert windowed_next(OCT, LIMIT)[long.pk] == START + s(3650)
    assert (row(long).acw_s, row(long).acw_end_s) == (50, "next_call")
    assert aht()["seconds"] == 3650


def test_a_zero_length_call_and_a_tie_on_the_answer_fall_back_exactly():
    # op01: the other call sorts after this one; op02: before it (a lower id, same instant)
    zero = answered(START, talk=0)
    tied = answered(START, talk=0, in_service_hours=False)
    tied2 = answered(START, agent="op02", talk=0, in_service_hours=False)
    zero2 = answered(START, agent="op02", talk=0)
    assert windowed_next(OCT, LIMIT) == {zero.pk: START, tied.pk: None, tied2.pk: None, zero2.pk: START}
    assert (row(zero).acw_next_answer_at, row(zero2).acw_next_answer_at) == (START, START)
    assert aht()["seconds"] == 0


def test_calls_read_for_the_window_after_the_month_are_not_counted_in_it():
    last = answered(tokyo(2026, 10, 31, 23, 50), talk=60)  # ends 23:51
    answered(tokyo(2026, 11, 1, 0, 1))  # November: ends its ACW, not one of October's calls
    answered(tokyo(2026, 11, 1, 0, 10), agent="")
    c = call_aggregates(OCT)
    assert (c["total_calls"], c["answered_calls"], c["calls_missing_wrapup"]) == (1, 1, 1)
    assert c["average_handle_seconds"] == 60 + 600
    assert windowed_next(OCT, LIMIT) == {last.pk: tokyo(2026, 11, 1, 0, 1)}


def test_a_limit_of_decades_in_the_last_month_computes():
    """The window's range stops a day after the month: no datetime past year 9999."""
    c = call_aggregates(Month(9998, 12), acw_limit_seconds=2**31 - 1)
    assert (c["answered_calls"], c["acw_limit_seconds"]) == (0, 2**31 - 1)


@pytest.mark.parametrize("seed", [11, 12, 13, 14])
def test_windowed_next_answer_equals_the_lookup_on_dense_months(seed):
    """Agents on several calls at once (more than the leads compared), ties, zero-length
    calls, calls without an end, calls arrived before the month or answered after it, the
    window's own edge (month end + limit): the month's aggregate, the drill-down and a plain
    Python reading of the rule agree call by call."""
    rng = random.Random(seed)
    limit = rng.choice([300, 900, 1800])
    KpiTargetFactory(valid_from=dt.date(2026, 4, 1), acw_limit_seconds=limit)
    wrapups: dict[int, dt.datetime | None] = {}
    previous = tokyo(2026, 10, 31, 22)
    for _ in range(90):
        at = previous if rng.random() < 0.15 else tokyo(2026, 10, 31, 22) + s(rng.randrange(0, 4 * 3600))
        if rng.random() < 0.05:
            at = tokyo(2026, 10, 1, 0) + s(rng.choice([0, 30]))  # arrived in September
        previous = at
        if rng.random() < 0.1:  # unanswered calls share the table, not the rule
            CallFactory(arrived_at=at, outcome=Call.Outcome.QUEUE_ABANDONED)
            continue
        call = answered(
            at,
            arrived_at=at - s(rng.choice([0, 0, 45, 4000])),
            agent=rng.choice(["op01", "op01", "op02", ""]),
            talk=rng.choice([0, 0, 5, 60, 400, 1500, 5000]),
            acw_seconds=rng.choice([None, None, None, None, 45]),
            in_service_hours=rng.random() < 0.85,
        )
        if rng.random() < 0.05:
            Call.objects.filter(pk=call.pk).update(ended_at=None)
            call.refresh_from_db()
        kind = rng.random()
        if kind < 0.6:
            end = call.ended_at or call.answered_at
            wrap = max(end + s(rng.choice([-20, 0, 60, 600, limit, limit + 1, 86400])), call.arrived_at)
            with_wrapup(call, wrap)
            wrapups[call.pk] = wrap
        elif kind < 0.8:
            with_wrapup(call, None)
    calls = list(Call.objects.filter(answered_at__isnull=False))
    population = [
        c for c in calls if c.in_service_hours and c.outcome == "answered" and OCT.start <= c.arrived_at < OCT.end
    ]
    assert len(population) > 20
    fast = windowed_next(OCT, limit)
    needs = [c for c in population if c.acw_seconds is None and c.agent]
    assert {c.pk: fast[c.pk] for c in needs} == {c.pk: reference_next(c, calls) for c in needs}
    expected = {c.pk: reference_acw(c, calls, wrapups, limit) for c in population}
    assert {r.pk: r.acw_s for r in drill_answered_calls(month=OCT)} == pytest.approx(expected)
    handle = [((c.ended_at - c.answered_at).total_seconds() if c.ended_at else 0) + expected[c.pk] for c in population]
    a = aht()
    assert a["answered_calls"] == len(population)
    assert a["seconds"] == pytest.approx(sum(handle) / len(handle), abs=0.001)
    capped = sum(
        1
        for c in population
        if c.acw_seconds is None
        and wrapups.get(c.pk) is not None
        and max(wrapups[c.pk], c.ended_at or c.answered_at) - (c.ended_at or c.answered_at) > s(expected[c.pk])
    )
    missing = sum(1 for c in population if c.acw_seconds is None and wrapups.get(c.pk) is None)
    assert (a["calls_acw_capped"], a["calls_missing_wrapup"]) == (capped, missing)


# --- the scenario: a month from raw files, before and after a late wrap-up -----------


def test_late_wrapup_moves_a_reproduced_month_by_at_most_the_limit(agent):
    with time_machine.travel(tokyo(2026, 9, 30, 18), tick=False):
        out = io.StringIO()
        call_command("import_calls", str(DATA / "generic_acw_september.csv"), stdout=out, stderr=out)
        assert "0 rejected" in out.getvalue(), out.getvalue()
        calls = {c.call_id: c for c in Call.objects.filter(outcome=Call.Outcome.ANSWERED)}
        inquiries = {
            cid: call_log_inquiry(call=c, actor=agent, data={"subject": "電子申請"}) for cid, c in calls.items()
        }
        # every call but s4 is wrapped up on time, 120 s after it ended
        for cid, inq in inquiries.items():
            if cid != "s4":
                inquiry_complete_wrapup(inquiry=inq, actor=agent, at=calls[cid].ended_at + s(120))
    sep = Month(2026, 9)
    with time_machine.travel(tokyo(2026, 10, 1, 9), tick=False):
        before = aht(sep)
    with time_machine.travel(tokyo(2026, 12, 15, 17), tick=False):
        inquiry_complete_wrapup(inquiry=inquiries["s4"], actor=agent)  # now: December
        after = aht(sep)
    n = before["answered_calls"]
    assert n == 6
    # s4 (op02) is op02's last September call: before, a missing wrap-up running to the
    # limit; after, a capped one stopped at the same limit — the figure does not move.
    assert before["calls_missing_wrapup"] == 1 and after["calls_missing_wrapup"] == 0
    assert after["calls_acw_capped"] == 1
    assert abs(after["seconds"] - before["seconds"]) <= LIMIT / n
    # hand-computed: five calls of 300 s + 120 s ACW, s4 300 s + the 1800 s limit
    assert after["seconds"] == before["seconds"] == pytest.approx((5 * 420 + 2100) / 6)
    assert after["display"] == "11分40秒"  # not 1573分39秒
    assert row(calls["s4"], sep).acw_end_s == "limit"
