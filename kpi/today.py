"""One day's figures so far (the supervisor's board, docs/desk.md): the contract's phone
metrics for a Tokyo day, from the SAME functions the monthly KPI uses (`kpi.metrics`): a
`Day` has the `start` / `end` / `first_day` a `Month` has, so `metrics.call_aggregates`,
`metrics.answer_rate` and `metrics.average_handle_time` run on it unchanged — one
definition, and the days of a month add up to the month (tests/kpi/test_today.py).

Besides the metrics, the live state the board watches: mail waiting for its first answer
(the §3 population, answered by `metrics.answer_expression`), the longest queue wait of the
latest PBX data and the agents who answered calls per half-hour."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Exists, F, Max, Min, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from helpdesk.clock import MONTH_MAX, MONTH_MIN, TOKYO, Month
from helpdesk.mail.selectors import mail_real_answers
from helpdesk.models import Call, Escalation, Inquiry
from kpi import metrics
from kpi.models import PeriodType
from kpi.selectors import kpi_period_type, kpi_target_for, kpi_transaction

DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Mail still unanswered this close to the §3 target counts as "near" it.
EMAIL_NEAR_SECONDS = 4 * 3600
# How far back the board looks for mail still waiting (older mail is the KPI report's business).
EMAIL_LOOKBACK = dt.timedelta(days=62)
# The "current" wait: the longest queue wait among calls that arrived in the last
# half-hour of the latest PBX data (a PBX export holds finished calls only).
LATEST_WAIT_WINDOW = dt.timedelta(minutes=30)


@dataclass(frozen=True)
class Day:
    """A Tokyo calendar day, [start, end) as aware datetimes: the interface of `Month`
    that `kpi.metrics` reads."""

    date: dt.date

    @classmethod
    def parse(cls, value: str) -> Day:
        """'2026-10-01' → Day; anything else raises ValueError with a message for the user."""
        if not DATE_RE.match(value or ""):
            raise ValueError(f"日付は YYYY-MM-DD 形式で指定してください: {value!r} (date must be YYYY-MM-DD)")
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"存在しない日付です: {value!r} (no such date)") from None
        if not (MONTH_MIN <= Month(day.year, day.month) <= MONTH_MAX):
            raise ValueError(f"日付は {MONTH_MIN}〜{MONTH_MAX} の範囲で指定してください: {value!r} (date out of range)")
        return cls(day)

    @classmethod
    def today(cls, now: dt.datetime | None = None) -> Day:
        return cls((now or timezone.now()).astimezone(TOKYO).date())

    def __str__(self) -> str:
        return self.date.isoformat()

    @property
    def start(self) -> dt.datetime:
        return dt.datetime.combine(self.date, dt.time(0), TOKYO)

    @property
    def end(self) -> dt.datetime:
        return self.start + dt.timedelta(days=1)

    @property
    def first_day(self) -> dt.date:
        return self.date

    @property
    def month(self) -> Month:
        return Month(self.date.year, self.date.month)

    def next(self) -> Day:
        return Day(self.date + dt.timedelta(days=1))

    def prev(self) -> Day:
        return Day(self.date - dt.timedelta(days=1))


def day_phone_figures(*, day: Day) -> dict[str, Any]:
    """§1 and §2 for the day, exactly as the month computes them, with the month's answer-rate
    target for its period type and its ACW limit. One transaction (like the month's read)."""
    month = day.month
    with kpi_transaction():
        period_type = kpi_period_type(month=month)
        target = kpi_target_for(month=month)
        calls = metrics.call_aggregates(day, acw_limit_seconds=target.acw_limit_seconds)  # type: ignore[arg-type]
    ar = metrics.answer_rate(day, calls=calls)  # type: ignore[arg-type]
    aht = metrics.average_handle_time(day, calls=calls)  # type: ignore[arg-type]
    ar_target = float(target.answer_rate_normal if period_type == PeriodType.NORMAL else target.answer_rate_busy)
    return {
        "date": str(day),
        "period_type": period_type,
        "answer_rate": {
            **ar,
            "target": ar_target,
            "met": None if ar["value"] is None else ar["value"] >= ar_target,
        },
        "average_handle_time": {**aht, "target": target.aht_max_seconds},
        "email_max_seconds": target.email_max_seconds,
        "complaints_limit": target.complaints_limit,
    }


def mail_open_at(at: dt.datetime) -> Q:
    """Received before `at` and no answer stamped by then (`first_answered_at` missing or
    later): the inquiry's own stamps leave it open at `at`. Two ranges of the index
    `inquiry_mail_answer_stamp` (answer stamp, received time; mail and form inquiries) — the
    inquiries open at that moment alone, however long the history (migration 0020)."""
    return Q(received_at__lt=at) & (Q(first_answered_at__isnull=True) | Q(first_answered_at__gt=at))


def mail_waiting_at(*, as_of: dt.datetime) -> QuerySet[Inquiry]:
    """Mail inquiries (email / form) waiting for their first answer at `as_of`, received in the
    EMAIL_LOOKBACK before it: the §3 population (not handed to the responsible section by
    then) whose answer — the metric's own `metrics.answer_expression`, Coalesce(first real
    mail answer, first_answered_at) — is missing or came later. Written as its equivalent with
    (anti-)semi-joins, which PostgreSQL hashes once instead of looking the first answer up per
    inquiry:

        no real answer sent by `as_of`, and (first_answered_at is missing or later, or a real
        answer came later)

    The set the board counts (`waiting_mail`) and the KPI API lists
    (`/api/kpi/mail-waiting/?as_of=`).

    When no real answer at all was sent after `as_of` — a live board: one probe of the index
    `email_real_answer_sent` — the last disjunct is empty, so every inquiry of the set is open
    by its own stamps (`mail_open_at`): saying so lets PostgreSQL read them from the index
    `inquiry_mail_answer_stamp` instead of the whole lookback. A moment with later answers (a
    past day) reads the lookback's candidates as before."""
    answers = mail_real_answers().filter(inquiry=OuterRef("pk"))
    waiting = (
        Inquiry.objects.filter(
            channel__in=metrics.EMAIL_CHANNELS, received_at__lt=as_of, received_at__gte=as_of - EMAIL_LOOKBACK
        )
        .filter(~Exists(answers.filter(sent_at__lte=as_of)))
        # "a real answer came later": after the line above, any real answer is one sent after
        # `as_of` — said so, the semi-join reads only those (`email_real_answer_sent`)
        .filter(
            Q(first_answered_at__isnull=True)
            | Q(first_answered_at__gt=as_of)
            | Exists(answers.filter(sent_at__gt=as_of))
        )
        .filter(
            ~Exists(
                Escalation.objects.filter(
                    inquiry=OuterRef("pk"),
                    target__in=Escalation.RESPONSIBLE_SECTION_TARGETS,
                    escalated_at__lte=as_of,
                )
            )
        )
        .order_by()
    )
    if not mail_real_answers().filter(sent_at__gt=as_of).exists():
        waiting = waiting.filter(mail_open_at(as_of))
    return waiting


def waiting_mail(*, as_of: dt.datetime, email_max_seconds: int) -> dict[str, Any]:
    """`mail_waiting_at(as_of)` counted: how many, the oldest's age, and how many are past the
    §3 target or within EMAIL_NEAR_SECONDS of it. Three queries (the probe for later answers,
    the aggregate, the oldest's reference)."""
    base = mail_waiting_at(as_of=as_of)
    limit = as_of - dt.timedelta(seconds=email_max_seconds)
    near = limit + dt.timedelta(seconds=EMAIL_NEAR_SECONDS)
    # JIT off (kpi_transaction): compiling this one-off aggregate cost more than running it
    # (~0.4 s of the board's cold time at 300 k inquiries, bench/bench_board.py).
    with kpi_transaction():
        agg = base.aggregate(
            waiting=Count("id"),
            oldest=Min("received_at"),
            past_target=Count("id", filter=Q(received_at__lte=limit)),
            near_target=Count("id", filter=Q(received_at__gt=limit, received_at__lte=near)),
        )
        oldest = agg["oldest"]
        # the oldest's reference by its received time: a lookup of a row or two, not the scan again
        oldest_ref = (
            base.filter(received_at=oldest).order_by("id").values_list("ref", flat=True).first() if oldest else None
        )
    return {
        **agg,
        "oldest_ref": oldest_ref,
        "oldest_age_seconds": (as_of - oldest).total_seconds() if oldest else None,
        "past_before": limit,
        "near_before": near,
    }


def latest_queue_wait(*, day: Day, as_of: dt.datetime) -> dict[str, Any]:
    """The longest queue wait (queue entry to answer or hang-up) among the calls that arrived
    in the last LATEST_WAIT_WINDOW of the day's latest PBX data, and when that data ends (the
    latest arrival: read from the (arrived_at, outcome) index alone). Two queries."""
    day_calls = Call.objects.filter(arrived_at__gte=day.start, arrived_at__lt=min(day.end, as_of))
    latest = day_calls.order_by().aggregate(t=Max("arrived_at"))["t"]
    if latest is None:
        return {"seconds": None, "data_until": None, "call_id": None}
    wait = metrics.SecondsBetween(Coalesce(F("answered_at"), F("ended_at"), F("queued_at")), F("queued_at"))
    # The longest wait's call picked from the covering index (`call_month_outcome`) alone, its
    # call_id then read from the one row: not the heap of every call in the window.
    longest = (
        day_calls.filter(arrived_at__gte=latest - LATEST_WAIT_WINDOW, queued_at__isnull=False)
        .annotate(wait_s=wait)
        .order_by("-wait_s", "id")
        .values("id")[:1]
    )
    row = Call.objects.filter(pk=Subquery(longest)).annotate(wait_s=wait).values("call_id", "wait_s").first()
    return {"seconds": row["wait_s"] if row else None, "data_until": latest, "call_id": row["call_id"] if row else None}


def calls_answered_by_agent(*, day: Day) -> dict[str, int]:
    """PBX agent login → calls answered that day (calls that arrived that day)."""
    return dict(
        Call.objects.filter(arrived_at__gte=day.start, arrived_at__lt=day.end, outcome=Call.Outcome.ANSWERED)
        .exclude(agent="")
        .order_by()
        .values_list("agent")
        .annotate(n=Count("id"))
        .values_list("agent", "n")
    )


def open_inquiries_by_assignee(*, statuses: tuple[str, ...]) -> dict[int, int]:
    """User id → inquiries assigned to them whose status is one of `statuses` now (the
    agents' open load): one grouped query, not the day's but the present's."""
    return dict(
        Inquiry.objects.filter(status__in=statuses, assigned_to__isnull=False)
        .order_by()
        .values_list("assigned_to")
        .annotate(n=Count("id"))
        .values_list("assigned_to", "n")
    )


def inquiries_by_status(*, day: Day) -> dict[str, int]:
    """Status → the day's inquiries (received that day) in it now."""
    return dict(
        Inquiry.objects.received_between(day.start, day.end)
        .order_by()
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )


def answering_agents_by_slot(*, day: Day) -> dict[int, int]:
    """Half-hour of the day (0–47) → how many different agents answered a call in it (calls
    that arrived that day): who was actually on the phones, beside the roster."""
    from kpi.staffing.selectors import HalfHourIndex

    first = (day.date - dt.date(1970, 1, 1)).days * 48
    rows = (
        Call.objects.filter(arrived_at__gte=day.start, arrived_at__lt=day.end, outcome=Call.Outcome.ANSWERED)
        .exclude(agent="")
        .annotate(h=HalfHourIndex("answered_at"))
        .values("h")
        .annotate(n=Count("agent", distinct=True))
        .order_by()
    )
    return {r["h"] - first: r["n"] for r in rows}


def day_bounds(day: Day, now: dt.datetime | None = None) -> tuple[dt.datetime, bool]:
    """The moment the day's state is read at (now while the day runs, its end once it is
    over) and whether the day is still live."""
    now = now or timezone.now()
    return min(max(now, day.start), day.end), day.start <= now < day.end


# --- a day's figures, stored off the request (docs/desk-supervisor.md) ---------------------

_MAIL_MOMENTS = ("oldest", "past_before", "near_before")
# The stored object's shape: a row of another shape is computed again, whatever its version.
# 2: with the latest queue wait and the agents' open load (docs/desk-supervisor.md, fourth pass).
# 3: with what they read (`day_depends`) and the per-day versions they were computed at.
DAY_FIGURES_SCHEMA = 3
# The statuses an inquiry counts in an agent's open load (the board's オペレーター別).
OPEN_STATUSES = (
    Inquiry.Status.NEW.value,
    Inquiry.Status.IN_PROGRESS.value,
    Inquiry.Status.ESCALATED.value,
    Inquiry.Status.ANSWERED.value,
)


def day_figures_compute(*, day: Day, as_of: dt.datetime) -> dict[str, Any]:
    """What the board stores for a day: the phone figures (`day_phone_figures`), the day's
    counts, and once the day is over (`as_of` its end: the figure no longer moves with the
    clock) the mail waiting at its end. Also the latest queue wait and the agents' open load
    (`open_by_assignee`): functions of the records alone — a PBX export holds finished calls,
    so no call arrives after the moment it is read at — which the input version moves with
    like the rest, so a poll need not read them again. JSON-ready (`day_figures_decode`
    restores the moments and the user ids)."""
    phone = day_phone_figures(day=day)
    counts = {
        "calls_answered_by_agent": calls_answered_by_agent(day=day),
        "inquiries_by_status": inquiries_by_status(day=day),
        "open_by_assignee": open_inquiries_by_assignee(statuses=OPEN_STATUSES),
    }
    mail = None
    if as_of >= day.end:
        mail = waiting_mail(as_of=day.end, email_max_seconds=phone["email_max_seconds"])
        mail = {k: v.isoformat() if k in _MAIL_MOMENTS and v is not None else v for k, v in mail.items()}
    wait = latest_queue_wait(day=day, as_of=as_of)
    wait["data_until"] = wait["data_until"].isoformat() if wait["data_until"] is not None else None
    return {"schema": DAY_FIGURES_SCHEMA, "phone": phone, "mail": mail, "wait": wait, **counts}


def day_depends(*, day: Day, as_of: dt.datetime) -> dict[str, Any]:
    """Which hours of which records the day's figures read (`KpiInputChange` kinds → [from,
    to) as ISO moments; `kpi.selectors.kpi_day_versions` sums the log over them):

    - CALL: the day's calls (their arrival hour) and every answer the §2 rule's (b) — the
      agent's next answer at most the ACW limit after a call's end — can pick: up to the latest
      end of the day's calls + the limit (a day at least). A change to a call of the day moves
      its own arrival hour, so a later end is never missed;
    - STATUS: the inquiries received that day (their count by status);
    - INQUIRY: those too, and once the day is over (its mail figure) every mail-figure input of
      the inquiries received in the EMAIL_LOOKBACK before its end.

    Two small queries (the ACW limit, the latest end: `call_month_outcome` alone)."""
    limit = kpi_target_for(month=day.month).acw_limit_seconds
    last_end = Call.objects.filter(arrived_at__gte=day.start, arrived_at__lt=day.end).aggregate(
        t=Max(Coalesce(F("ended_at"), F("answered_at")))
    )["t"]
    calls_to = day.end if last_end is None else max(day.end, last_end + dt.timedelta(seconds=limit + 1))
    inquiries_from = day.end - EMAIL_LOOKBACK if as_of >= day.end else day.start
    ranges = {
        "c": (day.start, calls_to),
        "s": (day.start, day.end),
        "i": (inquiries_from, day.end),
    }
    return {"ranges": {k: [lo.isoformat(), hi.isoformat()] for k, (lo, hi) in ranges.items()}}


def day_figures_current(
    data: dict[str, Any], *, version: int, stored_version: int, as_of: dt.datetime, day: Day
) -> bool:
    """May stored figures serve the board: computed at the current input version, of this
    shape, and — for a day that is over — holding its mail figure."""
    return (
        stored_version == version
        and data.get("schema") == DAY_FIGURES_SCHEMA
        and (data.get("mail") is not None or as_of < day.end)
    )


def day_figures_decode(data: dict[str, Any]) -> dict[str, Any]:
    mail = data.get("mail")
    if mail is not None:
        mail = {k: dt.datetime.fromisoformat(v) if k in _MAIL_MOMENTS and v is not None else v for k, v in mail.items()}
    wait = dict(data["wait"])
    if wait["data_until"] is not None:
        wait["data_until"] = dt.datetime.fromisoformat(wait["data_until"])
    # JSON object keys are strings: the user ids back to ints
    open_by_assignee = {int(uid): n for uid, n in data["open_by_assignee"].items()}
    # what the stored row read (`day_depends`) is the store's business, not the board's
    figures = {k: v for k, v in data.items() if k != "depends"}
    return {**figures, "mail": mail, "wait": wait, "open_by_assignee": open_by_assignee}
