"""The six contract metrics (docs/kpi.md), each a function over one
Tokyo month that aggregates in the database: one scan of the month's calls (answer rate,
AHT), one of its inquiries (first-contact resolution, channels, email in calendar time and
on the business-hours clock), one each for complaints and incidents — a constant number of
queries per month and no Python loop over rows."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, cast

from django.db.models import (
    Avg,
    BooleanField,
    Case,
    CharField,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    FloatField,
    Func,
    Min,
    OuterRef,
    Q,
    Subquery,
    Value,
    When,
    Window,
)
from django.db.models.functions import Cast, Coalesce, Greatest, Lead, Least
from django.db.models.lookups import GreaterThan, GreaterThanOrEqual, LessThan, LessThanOrEqual
from django.utils import timezone

from helpdesk.calendar import ServiceCalendar, load_service_calendar
from helpdesk.clock import TOKYO, Month
from helpdesk.mail.selectors import mail_real_answers
from helpdesk.models import Call, Complaint, Escalation, Inquiry, SecurityIncident

# --- duration arithmetic in SQL, on both backends ---------------------------------------------


class SecondsBetween(Func):
    """`end - start` in (fractional) seconds as a float, computed by the database.
    PostgreSQL subtracts timestamps and extracts the epoch of the interval; SQLite (which
    stores ISO text) goes through epoch seconds plus the fraction of strftime('%f')."""

    output_field = FloatField()
    arity = 2

    def __init__(self, end, start, **extra):
        super().__init__(end, start, **extra)

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(
            compiler,
            connection,
            template="CAST(EXTRACT(EPOCH FROM (%(expressions)s)) AS double precision)",
            arg_joiner=" - ",
            **extra,
        )

    def as_sqlite(self, compiler, connection, **extra):
        # julianday() doubles lose ~50 µs; epoch seconds plus the millisecond part of %f
        # are exact to SQLite's own (millisecond) precision.
        (end_sql, end_params), (start_sql, start_params) = (compiler.compile(e) for e in self.source_expressions)

        def epoch(sql: str) -> str:
            return f"(CAST(strftime('%%s', {sql}) AS REAL) + (strftime('%%f', {sql}) - strftime('%%S', {sql})))"

        return f"({epoch(end_sql)} - {epoch(start_sql)})", [*end_params * 3, *start_params * 3]


def _r(value: float | None, digits: int = 3) -> float | None:
    """Seconds to the millisecond: hides julianday's binary noise, keeps PG's exact values."""
    return None if value is None else round(float(value), digits)


# --- §1 answer rate and §2 AHT: one scan of the month's calls --------------------------------

FENCE = 10**15  # a LIMIT no month reaches: an optimization fence, not a cap


def _month_q(field: str, month: Month) -> Q:
    return Q(**{f"{field}__gte": month.start, f"{field}__lt": month.end})


DEFAULT_ACW_LIMIT_SECONDS = 1800  # KpiTarget.acw_limit_seconds' default (kpi.md §2 (c))


def _call_end() -> Coalesce:
    """Where a call's after-call work starts: its end, or its answer when the PBX gave no
    end (connected time is then 0, so connected + ACW still runs from the answer)."""
    return Coalesce(F("ended_at"), F("answered_at"))


def next_answer_subquery() -> Subquery:
    """(b): when the same agent answered their next call — the first call of that agent
    (not this one) answered at or after this call's end. Any call counts, whatever its
    month or service-hours flag: the agent left ACW to take it. One index seek per call
    (`call_agent_answered`)."""
    return Subquery(
        Call.objects.filter(
            agent=OuterRef("agent"),
            answered_at__isnull=False,
            answered_at__gte=Coalesce(OuterRef("ended_at"), OuterRef("answered_at")),
        )
        .exclude(pk=OuterRef("pk"))
        .order_by("answered_at")
        .values("answered_at")[:1]
    )


def _needs_next_answer() -> Q:
    """Where (b) can matter: answered in service hours (the calls the AHT averages), no PBX
    figure, an agent (a call without one skips the rule)."""
    return Q(outcome=Call.Outcome.ANSWERED, in_service_hours=True, acw_seconds__isnull=True) & ~Q(agent="")


# How many of the agent's following answers the month's scan compares with a call's end
# before it falls back to the per-call lookup (see `next_answer_windowed`). One suffices
# when an agent takes one call at a time; the benchmark's month (every agent on ~5 calls at
# once) falls back for 27 % of the calls needing (b) at 8, 6 % at 12 — no slower than 8.
NEXT_ANSWER_LEADS = 12


def next_answer_windowed(month: Month, *, limit_seconds: int) -> tuple[Q, Case]:
    """(b) for a whole month in one pass, exactly equal to `next_answer_subquery()`.

    Returns the rows the query must read besides the month's calls (`window_rows`: every
    call answered in [month start, month end + min(limit, 1 day))) and the expression. Over those rows,
    LEAD(answered_at, j) per agent in (answered_at, id) order gives the agent's following
    answers in time order; the first of them at or after this call's end is (b) when it can
    be trusted:

    - the call was answered strictly before its end, so no call ordered before it (answered
      at or before its answer) can be at or after its end — and its own answer is not;
    - the call and the lead lie in the window's range, so no answer between them is missing
      from the rows read (the rows answered outside it, read as month calls, only ever sort
      before or after the range, and a lead outside it is not trusted).

    Any other case — a zero-length call or one without an end, none of the
    `NEXT_ANSWER_LEADS` leads at or after the end (an agent on several calls at once), the
    agent's last call of the range — falls back to `next_answer_subquery()`, the rule's
    definition. `tests/kpi/test_acw.py` compares both on random months with overlaps."""
    # The range's end: a call's (b) matters up to its end + the limit, and a range up to the
    # month's end + that limit catches it for all but the agents' last calls; a day at most,
    # so a limit of years neither reads years of calls nor overflows past year 9999.
    lo = month.start
    hi = month.end + dt.timedelta(seconds=min(limit_seconds, 86400))
    end = _call_end()
    order = [F("answered_at").asc(), F("id").asc()]

    def lead(j: int) -> Window:
        return Window(Lead("answered_at", offset=j), partition_by=[F("agent")], order_by=order)

    trusted = Q(answered_at__gte=lo) & LessThan(F("answered_at"), end)
    picks = [
        When(GreaterThanOrEqual(lead(j), end) & LessThan(lead(j), Value(hi)), then=lead(j))
        for j in range(1, NEXT_ANSWER_LEADS + 1)
    ]
    # Only one of the two lookups in the SQL runs for a call (CASE is lazy).
    expression = Case(
        When(trusted, then=Case(*picks, default=next_answer_subquery())),
        default=next_answer_subquery(),
    )
    return Q(answered_at__gte=lo, answered_at__lt=hi), expression


def acw_inputs(*, next_answer: Any = None) -> dict[str, Any]:
    """The per-call values the ACW rule reads, as annotations: the linked inquiry's
    wrap-up (LEFT JOIN through the OneToOne `inquiry`) and (b) — `next_answer_subquery()`
    unless the month's scan passes its windowed equal (`next_answer_windowed`). (b) is
    looked up only where it can matter (`_needs_next_answer`); CASE evaluates it lazily."""
    return {
        "acw_wrapup_at": F("inquiry__wrapup_completed_at"),
        "acw_next_answer_at": Case(
            When(_needs_next_answer(), then=next_answer if next_answer is not None else next_answer_subquery()),
            default=None,
        ),
    }


@dataclass(frozen=True)
class HandleParts:
    """The §2 rule as SQL expressions over the annotations of `acw_inputs()` — the one
    definition the month's aggregate and the drill-down both use. All in seconds after the
    call's end (`_call_end`), with `limit` = the month's ACW limit:

    - `wrapup`: wrap-up − end (NULL when never completed);
    - `bound`:  min(next answer − end, limit) — (b) and (c) — so never NULL;
    - `helpdesk_acw`: min(wrapup floored at 0, bound) (a wrap-up stamped before the call
      ended counts 0), or `bound` when the wrap-up is missing;
    - `acw`: the PBX's figure when it has one, else `helpdesk_acw`;
    - `capped`: a completed wrap-up later than (b)/(c) (strictly; at (b) exactly it is the
      wrap-up that ended the ACW), `missing`: no PBX figure and no completed wrap-up."""

    connected: Func
    acw: Func
    wrapup: Func
    bound: Func
    capped: Q
    missing: Q
    acw_end: Case

    @classmethod
    def build(cls, limit_seconds: int) -> HandleParts:
        end = _call_end()
        limit = Value(float(limit_seconds))
        wrapup = SecondsBetween(F("acw_wrapup_at"), end)
        next_call = SecondsBetween(F("acw_next_answer_at"), end)
        # Coalesce first: LEAST ignores NULLs on PostgreSQL but returns NULL on SQLite.
        bound = Least(Coalesce(next_call, limit), limit)
        # min(wrap-up floored at 0 — or the limit when missing —, next call, limit): the
        # (b) lookup written once, so a query that cannot share it (the drill-down) runs it
        # once here rather than once per reference.
        helpdesk_acw = Least(
            Case(
                When(acw_wrapup_at__isnull=True, then=limit),
                default=Greatest(wrapup, Value(0.0)),
                output_field=FloatField(),
            ),
            Coalesce(next_call, limit),
            limit,
        )
        pbx = Q(acw_seconds__isnull=False)
        no_pbx = Q(acw_seconds__isnull=True)
        # Q & a lookup is a Q at run time (Q._combine); the stubs only know Combinable.__and__.
        capped = cast(Q, no_pbx & Q(acw_wrapup_at__isnull=False) & GreaterThan(wrapup, bound))
        missing = no_pbx & Q(acw_wrapup_at__isnull=True)
        # Which of the rule's ends applied (the drill-down's `acw_end`).
        at_next = Q(acw_next_answer_at__isnull=False) & LessThanOrEqual(next_call, limit)
        acw_end = Case(
            When(pbx, then=Value("pbx")),
            When(no_pbx & Q(acw_wrapup_at__isnull=False) & LessThanOrEqual(wrapup, bound), then=Value("wrapup")),
            When(at_next, then=Value("next_call")),
            default=Value("limit"),
            output_field=CharField(),
        )
        return cls(
            connected=Coalesce(SecondsBetween(F("ended_at"), F("answered_at")), Value(0.0)),
            acw=Coalesce(Cast(F("acw_seconds"), FloatField()), helpdesk_acw),
            wrapup=wrapup,
            bound=bound,
            capped=capped,
            missing=missing,
            acw_end=acw_end,
        )


def call_aggregates(month: Month, *, acw_limit_seconds: int = DEFAULT_ACW_LIMIT_SECONDS) -> dict[str, Any]:
    """Everything phone metrics need, in one aggregate query over the month's calls (a
    derived table holding each call's wrap-up and next-answer lookups, so each lookup runs
    once per call however many aggregates read them). (b) comes from the windowed pass
    (`next_answer_windowed`), so the derived table also reads the calls answered up to the
    month's end + the limit; `acw_in_month` keeps every aggregate to the month's calls.
    `acw_limit_seconds` is the month's target's (`kpi.selectors.kpi_target_for`)."""
    window_rows, next_answer = next_answer_windowed(month, limit_seconds=acw_limit_seconds)
    m = Q(acw_in_month=True)
    answered_in_hours = m & Q(in_service_hours=True, outcome=Call.Outcome.ANSWERED)
    parts = HandleParts.build(acw_limit_seconds)
    agg = {
        "total_calls": Count("id", filter=m & Q(in_service_hours=True)),
        "out_of_hours_calls": Count("id", filter=m & Q(in_service_hours=False)),
        "answered_calls": Count("id", filter=answered_in_hours),
        "ivr_abandoned": Count("id", filter=m & Q(in_service_hours=True, outcome=Call.Outcome.IVR_ABANDONED)),
        "average_handle_seconds": Avg(parts.connected + parts.acw, filter=answered_in_hours),
        "average_connected_seconds": Avg(parts.connected, filter=answered_in_hours),
        "calls_missing_wrapup": Count("id", filter=answered_in_hours & parts.missing),
        "calls_acw_capped": Count("id", filter=answered_in_hours & parts.capped),
        "acw_from_pbx": Count("id", filter=answered_in_hours & Q(acw_seconds__isnull=False)),
    }
    for outcome in Call.QUEUE_ABANDON_OUTCOMES:
        agg[f"q_{outcome}"] = Count("id", filter=m & Q(in_service_hours=True, outcome=outcome))
    in_month = _month_q("arrived_at", month)
    # Only the columns the aggregates read, unordered: the derived table is scanned once.
    base = (
        Call.objects.filter(in_month | window_rows)
        .order_by()
        .values("id", "in_service_hours", "outcome", "answered_at", "ended_at", "acw_seconds")
        .annotate(acw_in_month=ExpressionWrapper(in_month, output_field=BooleanField()))
        .annotate(**acw_inputs(next_answer=Case(When(in_month, then=next_answer), default=None)))
    )
    # The slice (see inquiry_aggregates) keeps the lookups in a derived table.
    result = base[:FENCE].aggregate(**agg)
    result["acw_limit_seconds"] = acw_limit_seconds
    return result


def answer_rate(month: Month, *, calls: dict[str, Any] | None = None) -> dict[str, Any]:
    """§1 応答率 = answered ÷ total in-hours calls; None when there were no such calls."""
    c = calls if calls is not None else call_aggregates(month)
    breakdown = {str(o): c[f"q_{o}"] for o in Call.QUEUE_ABANDON_OUTCOMES}
    queue_abandoned = sum(breakdown.values())
    total, answered = c["total_calls"], c["answered_calls"]
    # The contract's identity; the Call constraints (no out_of_hours outcome in hours, a
    # closed set of outcomes) make it hold, so a failure here is a data bug worth a crash.
    assert answered == total - c["ivr_abandoned"] - queue_abandoned, "answered ≠ total − abandons"
    return {
        "value": (answered / total) if total else None,
        "total_calls": total,
        "answered_calls": answered,
        "ivr_abandoned": c["ivr_abandoned"],
        "queue_abandoned": queue_abandoned,
        "queue_abandoned_by_reason": breakdown,
        "abandon_rate": ((c["ivr_abandoned"] + queue_abandoned) / total) if total else None,
        "out_of_hours_calls": c["out_of_hours_calls"],
    }


def average_handle_time(
    month: Month, *, calls: dict[str, Any] | None = None, acw_limit_seconds: int = DEFAULT_ACW_LIMIT_SECONDS
) -> dict[str, Any]:
    """§2 AHT = mean(connected + ACW) over answered in-hours calls, ACW from the PBX or else
    ending at the earliest of the wrap-up, the agent's next answer and end + the limit
    (`HandleParts`); missing and capped wrap-ups are counted."""
    c = calls if calls is not None else call_aggregates(month, acw_limit_seconds=acw_limit_seconds)
    return {
        "seconds": _r(c["average_handle_seconds"]),
        "answered_calls": c["answered_calls"],
        "calls_missing_wrapup": c["calls_missing_wrapup"],
        "calls_acw_capped": c["calls_acw_capped"],
        "acw_limit_seconds": c["acw_limit_seconds"],
        "average_connected_seconds": _r(c["average_connected_seconds"]),
        "acw_from_pbx": c["acw_from_pbx"],
    }


# --- §3 email response time -------------------------------------------------------------------

EMAIL_CHANNELS = (Inquiry.Channel.EMAIL, Inquiry.Channel.FORM)


def first_mail_answer_subquery() -> Subquery:
    """Sent time of the inquiry's first real outbound answer."""
    return Subquery(mail_real_answers().filter(inquiry=OuterRef("pk")).order_by("sent_at").values("sent_at")[:1])


def answer_expression() -> Coalesce:
    return Coalesce(F("first_mail_answer_at"), F("first_answered_at"))


class BusinessClock:
    """The business-hours clock as a cumulative function: B(t) = service seconds from the
    first day to t, so open seconds between a and b = B(b) − B(a). Built per day from
    `ServiceCalendar.hours_on` (weekly hours, special days, closures, 行政機関の休日), so it
    agrees with the help desk's own calendar; evaluated in Python (`at`) or, as
    `BusinessSecondsAt`, inside the database."""

    def __init__(self, calendar: ServiceCalendar, first: dt.date, last: dt.date) -> None:
        self.first, self.last = first, last
        self.base_day = (first - dt.date(1970, 1, 1)).days  # local day number of `first`
        self.offsets: list[float] = []  # opening, seconds after local midnight
        self.lengths: list[float] = []  # open seconds that day (0 when closed)
        self.cum: list[float] = []  # open seconds before that day
        total, day = 0.0, first
        while day <= last:
            hours = calendar.hours_on(day)
            if hours:
                o = hours[0].hour * 3600 + hours[0].minute * 60 + hours[0].second
                c = hours[1].hour * 3600 + hours[1].minute * 60 + hours[1].second
            else:
                o = c = 0
            self.offsets.append(float(o))
            self.lengths.append(float(c - o))
            self.cum.append(total)
            total += c - o
            day += dt.timedelta(days=1)

    def at(self, moment: dt.datetime) -> float:
        local = moment.timestamp() + TOKYO_OFFSET
        i = min(max(int(local // 86400) - self.base_day, 0), len(self.cum) - 1)
        return self.cum[i] + min(max(local % 86400 - self.offsets[i], 0.0), self.lengths[i])

    def between(self, start: dt.datetime, end: dt.datetime) -> float:
        return self.at(end) - self.at(start) if end > start else 0.0


# Japan has had no daylight saving time since 1951: local time is UTC+9 throughout.
TOKYO_OFFSET = 9 * 3600


class BusinessSecondsAt(Func):
    """B(t) of a `BusinessClock`, computed by the database: the Tokyo day number of t picks
    that day's cumulative total, opening offset and length from three arrays written into
    the SQL as numeric literals (generated here from the calendar, never from input):
    float8[] on PostgreSQL, JSON arrays read with json_extract() on SQLite."""

    output_field = FloatField()
    arity = 1

    def __init__(self, expression, *, clock: BusinessClock, **extra):
        super().__init__(expression, **extra)
        self.clock = clock

    def _build(self, compiler, *, local_of, day_of, pick, least, greatest) -> tuple[str, list]:
        sql, params = compiler.compile(self.source_expressions[0])
        out: list = []

        def local() -> str:  # seconds since 1970 on the Tokyo wall clock
            out.extend(params)
            return local_of(sql)

        def idx() -> str:
            return f"{least}({greatest}({day_of(local())} - {self.clock.base_day}, 0), {len(self.clock.cum) - 1})"

        def nums(values: list[float]) -> str:
            return ",".join(f"{v:.0f}" if v == int(v) else repr(v) for v in values)

        # Fragments are built left to right, so `out` holds the params in SQL order.
        cum = pick(nums(self.clock.cum), idx())
        into_day = f"({local()} - {day_of(local())} * 86400)"
        off = pick(nums(self.clock.offsets), idx())
        length = pick(nums(self.clock.lengths), idx())
        return f"({cum} + {least}({greatest}({into_day} - {off}, 0), {length}))", out

    def as_postgresql(self, compiler, connection, **extra):
        return self._build(
            compiler,
            local_of=lambda sql: f"(EXTRACT(EPOCH FROM {sql})::double precision + {TOKYO_OFFSET})",
            day_of=lambda local: f"FLOOR({local} / 86400)::int",
            pick=lambda values, i: f"('{{{values}}}'::float8[])[{i} + 1]",
            least="LEAST",
            greatest="GREATEST",
        )

    def as_sqlite(self, compiler, connection, **extra):
        return self._build(
            compiler,
            local_of=lambda sql: (
                f"(CAST(strftime('%%s', {sql}) AS REAL) + (strftime('%%f', {sql}) - strftime('%%S', {sql}))"
                f" + {TOKYO_OFFSET})"
            ),
            day_of=lambda local: f"CAST({local} / 86400 AS INTEGER)",
            pick=lambda values, i: f"json_extract('[{values}]', '$[' || ({i}) || ']')",
            least="MIN",
            greatest="MAX",
        )


def business_clock_for(month: Month, *, now: dt.datetime | None = None) -> BusinessClock:
    """From the month's first day to two days past today (or the month's end, if later):
    every answer time a month can have. Reads the two calendar tables once."""
    today = (now or timezone.now()).astimezone(TOKYO).date()
    last = max(today, month.end.date()) + dt.timedelta(days=2)
    return BusinessClock(load_service_calendar(month.first_day, last), month.first_day, last)


# --- §3 email response time and §4 first-contact resolution: one scan of the inquiries --------


def inquiry_aggregates(month: Month, *, now: dt.datetime | None = None) -> dict[str, Any]:
    """Everything inquiry metrics need, in one aggregate over the month's inquiries (a
    derived table holding, per inquiry, its first mail answer and two EXISTS flags):

    - §4: inquiries, external handovers (counted once), 所管府省案内, per channel;
    - §3: over email/form inquiries not handed to the responsible section, the answered /
      unanswered counts, the calendar-time mean and the business-hours mean of
      (answer − received), and the oldest unanswered."""
    clock = business_clock_for(month, now=now)
    mail = Q(channel__in=EMAIL_CHANNELS)
    base = (
        Inquiry.objects.filter(_month_q("received_at", month))
        .annotate(
            is_handed_over=Exists(
                Escalation.objects.filter(inquiry=OuterRef("pk"), target__in=Escalation.EXTERNAL_TARGETS)
            ),
            handed_to_section=Exists(
                Escalation.objects.filter(inquiry=OuterRef("pk"), target__in=Escalation.RESPONSIBLE_SECTION_TARGETS)
            ),
            # phone inquiries never look their mail up (CASE evaluates the subquery lazily)
            first_mail_answer_at=Case(When(mail, then=first_mail_answer_subquery()), default=None),
        )
        .order_by()
    )  # not the model's received-at order: a sort or an index walk of the month
    # (random reads once the table outgrows the buffer cache) for an aggregate that needs none
    answer_at = answer_expression()
    population = mail & Q(handed_to_section=False)
    has_answer = Q(first_mail_answer_at__isnull=False) | Q(first_answered_at__isnull=False)
    answered = population & has_answer
    unanswered = population & ~has_answer
    agg: dict[str, Any] = {
        "inquiries": Count("id"),
        "handed_over": Count("id", filter=Q(is_handed_over=True)),
        "ministry_guidance": Count("id", filter=Q(ministry_guidance=True)),
        "email_answered": Count("id", filter=answered),
        "email_answered_other_channel": Count(
            "id", filter=population & Q(first_mail_answer_at__isnull=True, first_answered_at__isnull=False)
        ),
        "email_unanswered": Count("id", filter=unanswered),
        "email_excluded": Count("id", filter=mail & Q(handed_to_section=True)),
        "email_seconds": Avg(SecondsBetween(answer_at, F("received_at")), filter=answered),
        "email_business_seconds": Avg(
            BusinessSecondsAt(answer_at, clock=clock) - BusinessSecondsAt(F("received_at"), clock=clock),
            filter=answered,
        ),
        "email_oldest_unanswered": Min("received_at", filter=unanswered),
    }
    for channel in Inquiry.Channel:
        agg[f"ch_{channel.value}"] = Count("id", filter=Q(channel=channel))
    # The slice makes Django aggregate over `base` as a derived table with a LIMIT, and the
    # LIMIT keeps PostgreSQL (and SQLite) from pulling that subquery up into the aggregates,
    # which would copy the correlated lookups into every aggregate that mentions them: with
    # it each lookup runs once per inquiry. Annotation names must differ from aggregate names
    # (Django silently drops an annotation an aggregate of the same name shadows).
    return base[:FENCE].aggregate(**agg)


def email_response_time(
    month: Month, *, inquiries: dict[str, Any] | None = None, now: dt.datetime | None = None
) -> dict[str, Any]:
    """§3 mean of (first answer − received) in calendar time over the population's answered
    inquiries, the business-hours mean beside it, and what is still unanswered."""
    now = now or timezone.now()
    c = inquiries if inquiries is not None else inquiry_aggregates(month, now=now)
    oldest = c["email_oldest_unanswered"]
    return {
        "seconds": _r(c["email_seconds"]),
        "business_seconds": _r(c["email_business_seconds"]),
        "answered": c["email_answered"],
        "answered_other_channel": c["email_answered_other_channel"],
        "unanswered": c["email_unanswered"],
        "oldest_unanswered_received_at": oldest.isoformat() if oldest else None,
        "oldest_unanswered_age_seconds": _r((now - oldest).total_seconds()) if oldest else None,
        "excluded_handed_to_responsible_section": c["email_excluded"],
    }


def first_contact_resolution(month: Month, *, inquiries: dict[str, Any] | None = None) -> dict[str, Any]:
    """§4 share of the month's inquiries never handed to an external organization (counted
    once however many handovers); internal escalations and 所管府省案内 do not count."""
    c = inquiries if inquiries is not None else inquiry_aggregates(month)
    total, handed = c["inquiries"], c["handed_over"]
    return {
        "value": ((total - handed) / total) if total else None,
        "inquiries": total,
        "handed_over": handed,
        "ministry_guidance": c["ministry_guidance"],
    }


def inquiries_by_channel(month: Month, *, inquiries: dict[str, Any] | None = None) -> dict[str, int]:
    c = inquiries if inquiries is not None else inquiry_aggregates(month)
    return {ch.value: c[f"ch_{ch.value}"] for ch in Inquiry.Channel}


# --- §5 complaints and §6 security incidents --------------------------------------------------


# The complaints §5 counts (the drill-down's `counted` filter uses it too).
COUNTED_COMPLAINTS = Q(cause=Complaint.Cause.OPERATOR_ERROR, confirmed_at__isnull=False)


def complaint_count(month: Month) -> dict[str, Any]:
    """§5 complaints received in the month whose confirmed cause is operator error."""
    # "Confirmed" is `confirmed_at`, not the cause alone: a handover file may carry a cause
    # that was never confirmed (helpdesk no longer forbids it), and that one is not counted.
    agg = {"recorded": Count("id"), "counted": Count("id", filter=COUNTED_COMPLAINTS)}
    for cause in Complaint.Cause:
        agg[f"c_{cause.value}"] = Count("id", filter=Q(cause=cause))
    c = Complaint.objects.filter(_month_q("received_at", month)).aggregate(**agg)
    return {
        "count": c["counted"],
        "recorded": c["recorded"],
        "by_cause": {cause.value: c[f"c_{cause.value}"] for cause in Complaint.Cause},
    }


def security_incident_count(month: Month) -> dict[str, Any]:
    """§6 major incidents that occurred in the month."""
    c = SecurityIncident.objects.filter(_month_q("occurred_at", month)).aggregate(
        count=Count("id", filter=Q(severity=SecurityIncident.Severity.MAJOR)),
        minor=Count("id", filter=Q(severity=SecurityIncident.Severity.MINOR)),
    )
    return {"count": c["count"], "minor": c["minor"]}
