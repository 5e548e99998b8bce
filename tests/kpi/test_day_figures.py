"""The KPI input version (trigger-written, kpi migration 0005) and the board's stored day
figures: every kind of input change moves the version, stored figures equal the figures
computed from the records, and figures of older data are never served."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.utils import timezone

from helpdesk.models import AgentProfile, CalendarDay, Call, Inquiry, ServiceHours
from kpi import selectors, services
from kpi.models import KpiDayFigures, KpiInputChange, KpiTarget
from kpi.today import (
    DAY_FIGURES_SCHEMA,
    OPEN_STATUSES,
    Day,
    day_figures_compute,
    day_figures_decode,
    latest_queue_wait,
    open_inquiries_by_assignee,
)
from tests.factories import CallFactory, EscalationFactory, PhoneInquiryFactory, tokyo
from tests.factories.kpi import FiscalMonthPeriodFactory, KpiTargetFactory, answer_mail, email_inquiry

pytestmark = pytest.mark.django_db

NOW = tokyo(2026, 10, 3, 15)
PAST = Day(dt.date(2026, 10, 2))


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def records() -> Inquiry:
    """Calls of 2 October (one with a wrap-up 3 h late: capped at the 1800 s limit), a waiting mail."""
    at = tokyo(2026, 10, 2, 10)
    CallFactory(arrived_at=at, agent="op01")
    CallFactory(arrived_at=at, outcome=Call.Outcome.IVR_ABANDONED)
    inquiry = PhoneInquiryFactory(call=CallFactory(arrived_at=at, agent="op01"))
    inquiry.wrapup_completed_at = inquiry.call.ended_at + dt.timedelta(hours=3)
    inquiry.save()
    email_inquiry(at)
    return inquiry


def moves(change) -> bool:
    before = selectors.kpi_input_version()
    change()
    return selectors.kpi_input_version() > before


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda: CallFactory(), id="call insert"),
        pytest.param(lambda: Call.objects.update(agent="op09"), id="call update (QuerySet.update)"),
        pytest.param(lambda: Call.objects.filter(inquiry__isnull=True).delete(), id="call delete"),
        pytest.param(lambda: Inquiry.objects.update(wrapup_completed_at=timezone.now()), id="inquiry edit"),
        pytest.param(lambda: answer_mail(Inquiry.objects.first(), timezone.now()), id="mail answer"),
        pytest.param(lambda: EscalationFactory(inquiry=Inquiry.objects.first()), id="escalation"),
        pytest.param(lambda: KpiTarget.objects.update(acw_limit_seconds=60), id="target / ACW limit edit"),
        pytest.param(lambda: FiscalMonthPeriodFactory(fiscal_year=2026, month=10), id="calendar: period type"),
        pytest.param(
            lambda: CalendarDay.objects.create(date=dt.date(2026, 10, 5), kind=CalendarDay.Kind.CLOSED),
            id="calendar: holiday",
        ),
        pytest.param(lambda: ServiceHours.objects.update(opens_at=dt.time(8)), id="service hours"),
        pytest.param(lambda: Group.objects.get_or_create(name="agent")[0].user_set.clear(), id="roles"),
    ],
)
def test_every_kind_of_input_change_moves_the_version(change, django_user_model):
    records()
    django_user_model.objects.create(username="op").groups.add(Group.objects.get_or_create(name="agent")[0])
    KpiTargetFactory()
    ServiceHours.objects.get_or_create(weekday=0, defaults={"opens_at": dt.time(9), "closes_at": dt.time(18)})
    assert moves(change)


def test_a_sign_in_does_not_move_the_version(agent):
    assert not moves(lambda: type(agent).objects.filter(pk=agent.pk).update(last_login=timezone.now()))
    assert moves(lambda: type(agent).objects.filter(pk=agent.pk).update(is_active=False))
    assert moves(lambda: AgentProfile.objects.create(user=agent, pbx_login="op01"))


def test_compacting_the_log_keeps_the_version():
    for _ in range(5):
        CallFactory()
    version, rows = selectors.kpi_input_version(), KpiInputChange.objects.count()
    assert rows > 1
    assert services.kpi_input_log_compact() == rows - 1
    assert KpiInputChange.objects.count() == 1 and selectors.kpi_input_version() == version
    # one row left: nothing to fold, the version still the same
    assert services.kpi_input_log_compact() == 0
    assert selectors.kpi_input_version() == version
    # a batch smaller than the log folds the oldest rows only
    CallFactory()
    CallFactory()
    version, rows = selectors.kpi_input_version(), KpiInputChange.objects.count()
    assert rows >= 3
    assert services.kpi_input_log_compact(batch=2) == 1
    assert KpiInputChange.objects.count() == rows - 1 and selectors.kpi_input_version() == version


def test_stored_figures_equal_the_figures_computed_from_the_records(frozen):
    KpiTargetFactory()
    records()
    fresh = day_figures_decode(day_figures_compute(day=PAST, as_of=PAST.end))
    assert fresh["phone"]["answer_rate"]["total_calls"] == 3 and fresh["mail"]["waiting"] == 1
    first = services.kpi_day_figures(day=PAST)  # computed and stored
    row = KpiDayFigures.objects.get(date=PAST.date)
    assert row.version == selectors.kpi_input_version()
    again = services.kpi_day_figures(day=PAST)  # read back
    assert first == again == fresh


def test_a_running_day_stores_its_phone_figures_only(frozen):
    KpiTargetFactory()
    CallFactory(arrived_at=tokyo(2026, 10, 3, 10))
    figures = services.kpi_day_figures(day=Day(dt.date(2026, 10, 3)))
    assert figures["mail"] is None and figures["phone"]["answer_rate"]["total_calls"] == 1


def _capped(day: Day = PAST) -> int:
    return services.kpi_day_figures(day=day)["phone"]["average_handle_time"]["calls_acw_capped"]


def test_each_kind_of_change_yields_fresh_figures(frozen):
    target = KpiTargetFactory()
    inquiry = records()
    assert _capped() == 1
    # an import: one more call
    CallFactory(arrived_at=tokyo(2026, 10, 2, 11), outcome=Call.Outcome.IVR_ABANDONED)
    assert services.kpi_day_figures(day=PAST)["phone"]["answer_rate"]["total_calls"] == 4
    # an inquiry edit (the wrap-up corrected in time): no longer capped
    Inquiry.objects.filter(pk=inquiry.pk).update(wrapup_completed_at=inquiry.call.ended_at + dt.timedelta(seconds=30))
    assert _capped() == 0
    # the target's ACW limit edited by an admin: 10 s makes the 30 s wrap-up capped again
    KpiTarget.objects.filter(pk=target.pk).update(acw_limit_seconds=10)
    assert _capped() == 1
    # the calendar: October made a busy month changes the answer-rate target
    before = services.kpi_day_figures(day=PAST)["phone"]["answer_rate"]["target"]
    FiscalMonthPeriodFactory(fiscal_year=2026, month=10)
    assert services.kpi_day_figures(day=PAST)["phone"]["answer_rate"]["target"] != before
    # a mail answer to the waiting inquiry
    waiting = Inquiry.objects.filter(channel=Inquiry.Channel.EMAIL).get()
    answer_mail(waiting, tokyo(2026, 10, 2, 12))
    assert services.kpi_day_figures(day=PAST)["mail"]["waiting"] == 0


def test_figures_stored_at_a_later_version_are_kept(frozen):
    KpiTargetFactory()
    records()
    version = selectors.kpi_input_version()
    services.kpi_day_figures_store(day=PAST, version=version + 5)
    services.kpi_day_figures_store(day=PAST, version=version)  # an older computation finishing late
    assert KpiDayFigures.objects.get(date=PAST.date).version == version + 5


def test_the_refresh_stores_only_what_is_stale(frozen):
    KpiTargetFactory(acw_limit_seconds=1800, answer_rate_busy=Decimal("0.700"))
    records()
    result = services.kpi_day_figures_refresh(days=[PAST, Day(dt.date(2026, 10, 3))])
    assert result["days"] == ["2026-10-02", "2026-10-03"]
    assert services.kpi_day_figures_refresh(days=[PAST])["days"] == []
    CallFactory(arrived_at=tokyo(2026, 10, 2, 11))
    assert services.kpi_day_figures_refresh(days=[PAST])["days"] == ["2026-10-02"]
    assert selectors.kpi_day_figures_to_refresh(since=NOW - dt.timedelta(days=1), version=10**9) == [
        dt.date(2026, 10, 3),
        dt.date(2026, 10, 2),
    ]


def test_a_stored_row_of_another_shape_is_computed_again(frozen):
    KpiTargetFactory()
    records()
    services.kpi_day_figures(day=PAST)
    row = KpiDayFigures.objects.get(date=PAST.date)
    KpiDayFigures.objects.filter(pk=row.pk).update(data={"phone": row.data["phone"], "mail": row.data["mail"]})
    assert "inquiries_by_status" in services.kpi_day_figures(day=PAST)


def test_the_latest_wait_and_the_open_load_are_stored_and_equal_the_live_reads(frozen, agent):
    """Schema 2 (docs/desk-supervisor.md, fourth pass): the latest queue wait and the agents'
    open load come with the stored figures, equal to what `latest_queue_wait` and
    `open_inquiries_by_assignee` read from the records, and a reassignment yields fresh ones."""
    KpiTargetFactory()
    inquiry = records()
    Inquiry.objects.filter(pk=inquiry.pk).update(assigned_to=agent, status=Inquiry.Status.IN_PROGRESS)
    stored = services.kpi_day_figures(day=PAST)
    live_wait = latest_queue_wait(day=PAST, as_of=PAST.end)
    assert stored["wait"] == live_wait and live_wait["seconds"] == 20 and live_wait["call_id"]
    assert stored["open_by_assignee"] == open_inquiries_by_assignee(statuses=OPEN_STATUSES) == {agent.pk: 1}
    assert services.kpi_day_figures(day=PAST) == stored  # read back: the same types (datetimes, int ids)
    # closed: the load drops, the stored figures follow (the input version moved)
    Inquiry.objects.filter(pk=inquiry.pk).update(status=Inquiry.Status.CLOSED)
    assert services.kpi_day_figures(day=PAST)["open_by_assignee"] == {}


def test_a_row_of_the_previous_schema_is_computed_again(frozen):
    KpiTargetFactory()
    records()
    services.kpi_day_figures(day=PAST)
    row = KpiDayFigures.objects.get(date=PAST.date)
    old = {k: v for k, v in row.data.items() if k not in ("wait", "open_by_assignee")}
    KpiDayFigures.objects.filter(pk=row.pk).update(data={**old, "schema": 1})
    figures = services.kpi_day_figures(day=PAST)
    assert figures["wait"]["seconds"] == 20 and "open_by_assignee" in figures
    assert KpiDayFigures.objects.get(date=PAST.date).data["schema"] == DAY_FIGURES_SCHEMA


# --- per-day input versions (kpi 0006; docs/desk-supervisor.md, "Per-day input versions") ----

EARLIER = Day(dt.date(2026, 10, 1))


def _computed(day: Day) -> bool:
    """Read the day's figures; did that compute them (the call aggregate ran)?"""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        services.kpi_day_figures(day=day)
    return any("acw_in_month" in q["sql"] for q in queries.captured_queries)


def _two_days_stored() -> Inquiry:
    KpiTargetFactory()
    inquiry = records()  # the 2nd
    CallFactory(arrived_at=tokyo(2026, 10, 1, 10), agent="op02")
    assert _computed(PAST) and _computed(EARLIER)
    assert not _computed(PAST) and not _computed(EARLIER)
    return inquiry


def _per_day(connection_vendor: str) -> bool:
    return connection_vendor == "postgresql"


def test_an_import_on_one_day_leaves_another_days_figures_current(frozen):
    """A call of the 2nd: the 2nd is computed again; the 1st's stored figures are still its
    own (nothing they read changed), marked current without computing — on PostgreSQL. SQLite's
    log is global (the documented fallback): there every change stales every day."""
    from django.db import connection

    _two_days_stored()
    CallFactory(arrived_at=tokyo(2026, 10, 2, 11), outcome=Call.Outcome.IVR_ABANDONED)
    version = selectors.kpi_input_version()
    assert _computed(EARLIER) is not _per_day(connection.vendor)
    assert KpiDayFigures.objects.get(date=EARLIER.date).version == version
    assert _computed(PAST)
    assert services.kpi_day_figures(day=PAST)["phone"]["answer_rate"]["total_calls"] == 4
    assert services.kpi_day_figures(day=EARLIER)["phone"]["answer_rate"]["total_calls"] == 1


def test_an_edit_of_a_days_inquiry_stales_that_day_only(frozen, agent):
    """A status edit of the 2nd's inquiry: the 2nd's count by status moves (computed again);
    the 1st keeps its figures, with the agents' open load (the present's) read again."""
    from django.db import connection

    inquiry = _two_days_stored()
    Inquiry.objects.filter(pk=inquiry.pk).update(assigned_to=agent, status=Inquiry.Status.IN_PROGRESS)
    assert _computed(EARLIER) is not _per_day(connection.vendor)
    assert services.kpi_day_figures(day=EARLIER)["open_by_assignee"] == {agent.pk: 1}
    assert _computed(PAST)
    assert services.kpi_day_figures(day=PAST)["inquiries_by_status"] == {"in_progress": 1, "new": 1}


def test_a_next_answer_after_midnight_stales_the_day_before(frozen):
    """§2 (b): the agent's next answer just after midnight ends the ACW of the day before's
    last call, so a call imported on the 3rd at 00:05 is an input of the 2nd — while one at
    noon (after the 2nd's last end + the ACW limit) is not."""
    from django.db import connection

    KpiTargetFactory(acw_limit_seconds=1800)
    CallFactory(arrived_at=tokyo(2026, 10, 2, 23, 50), agent="op01")
    services.kpi_day_figures(day=PAST)
    day_version = KpiDayFigures.objects.get(date=PAST.date).data["depends"]["day_version"]
    depends = KpiDayFigures.objects.get(date=PAST.date).data["depends"]
    CallFactory(arrived_at=tokyo(2026, 10, 3, 12), agent="op01")
    if _per_day(connection.vendor):
        assert selectors.kpi_day_versions(depends=depends)[0] == day_version
    CallFactory(arrived_at=tokyo(2026, 10, 3, 0, 0, 5), agent="op01")
    assert selectors.kpi_day_versions(depends=depends)[0] > day_version
    assert _computed(PAST)


def test_a_mail_answer_stales_the_days_whose_mail_figure_reads_it(frozen):
    """The mail waiting at the end of the 2nd reads the 2nd's mail inquiry and its answers;
    the 1st's (ended before it was received) does not."""
    from django.db import connection

    _two_days_stored()
    waiting = Inquiry.objects.filter(channel=Inquiry.Channel.EMAIL).get()
    answer_mail(waiting, tokyo(2026, 10, 2, 12))
    assert _computed(EARLIER) is not _per_day(connection.vendor)
    assert services.kpi_day_figures(day=PAST)["mail"]["waiting"] == 0


def test_compaction_keeps_every_days_version(frozen):
    _two_days_stored()
    CallFactory(arrived_at=tokyo(2026, 10, 2, 11))
    CallFactory(arrived_at=tokyo(2026, 10, 2, 12))
    rows = {d: KpiDayFigures.objects.get(date=d.date).data["depends"] for d in (PAST, EARLIER)}
    before = {d: selectors.kpi_day_versions(depends=dep) for d, dep in rows.items()}
    services.kpi_input_log_compact()
    assert {d: selectors.kpi_day_versions(depends=dep) for d, dep in rows.items()} == before


def test_a_folded_log_is_not_rewritten():
    """Compaction folds a (kind, hour) with several rows only: once folded, the next run
    removes nothing and keeps every row (no churn of the log on every refresh)."""
    for _ in range(3):
        ServiceHours.objects.update(opens_at=dt.time(9))
    CallFactory(arrived_at=tokyo(2026, 10, 2, 10))
    services.kpi_input_log_compact()
    rows = sorted(KpiInputChange.objects.values_list("id", "n"))
    version = selectors.kpi_input_version()
    assert services.kpi_input_log_compact() == 0
    assert sorted(KpiInputChange.objects.values_list("id", "n")) == rows
    assert selectors.kpi_input_version() == version


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_writes_of_stored_figures_alone_do_not_wait_for_the_disk_but_a_callers_transaction_does():
    """Marking stored figures viewed (or current, or storing them) is derived data: on its own
    it commits without waiting for an fsync; inside a transaction of the caller's — which may
    hold records or audit rows — the caller's durability is left as it is."""
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    KpiTargetFactory()
    records()
    with time_machine.travel(NOW, tick=False):
        services.kpi_day_figures(day=PAST)  # stored (async: no transaction of the caller's)
    KpiDayFigures.objects.filter(date=PAST.date).update(viewed_at=NOW - dt.timedelta(days=1))
    with time_machine.travel(NOW, tick=False), CaptureQueriesContext(connection) as queries:
        services.kpi_day_figures(day=PAST)
    sqls = [q["sql"] for q in queries.captured_queries]
    assert "SET LOCAL synchronous_commit TO OFF" in sqls
    assert KpiDayFigures.objects.get(date=PAST.date).viewed_at == NOW
    KpiDayFigures.objects.filter(date=PAST.date).update(viewed_at=NOW - dt.timedelta(days=1))
    with time_machine.travel(NOW, tick=False), transaction.atomic(), CaptureQueriesContext(connection) as queries:
        services.kpi_day_figures(day=PAST)
        with connection.cursor() as cursor:
            cursor.execute("SHOW synchronous_commit")
            assert cursor.fetchone()[0] == "on"
    assert not any("synchronous_commit TO OFF" in q["sql"] for q in queries.captured_queries)
