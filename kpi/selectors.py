"""Reads: the month's targets and period type, the assembled KPI object of formats.md
(current figures, and against the published snapshot when there is one), the records behind
each figure (drill-down) and the records changed since publication."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import BooleanField, Exists, ExpressionWrapper, F, OuterRef, Q, QuerySet
from django.db.models.functions import Coalesce, TruncDate, TruncMonth
from django.utils import timezone

from helpdesk.clock import TOKYO, Month, month_range
from helpdesk.mail.selectors import mail_real_answers
from helpdesk.models import Call, Complaint, EmailMessage, Escalation, Inquiry, SecurityIncident
from kpi import display, metrics
from kpi.models import FiscalMonthPeriod, KpiDayFigures, KpiInputChange, KpiSnapshot, KpiTarget, PeriodType

# 2: average_handle_time gained calls_acw_capped and acw_limit_seconds (the ACW rule of
# docs/kpi.md §2). Part of the cache key, so no object of an older shape is served.
SCHEMA_VERSION = 2
METRIC_KEYS = (
    "answer_rate",
    "average_handle_time",
    "email_average_response_time",
    "first_contact_resolution",
    "complaints",
    "security_incidents",
)
# Values that move with the clock, not with the data: never a restatement.
VOLATILE_KEYS = frozenset({"oldest_unanswered_age_seconds"})

DEFAULT_PERIODS = {6: PeriodType.BUSY, 7: PeriodType.BUSY, 4: PeriodType.SEMI_BUSY, 5: PeriodType.SEMI_BUSY}


def kpi_period_type(*, month: Month) -> str:
    row = FiscalMonthPeriod.objects.filter(fiscal_year=month.fiscal_year, month=month.month).first()
    if row:
        return row.period_type
    return str(DEFAULT_PERIODS.get(month.month, PeriodType.NORMAL))


def kpi_target_for(*, month: Month) -> KpiTarget:
    """The contract period covering the month's first day; the contract defaults if none."""
    day = month.first_day
    row = (
        KpiTarget.objects.filter(valid_from__lte=day)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gt=day))
        .order_by("-valid_from")
        .first()
    )
    return row or KpiTarget(name="default", valid_from=dt.date(2000, 1, 1))


def _f(value: Decimal) -> float:
    return float(value)


# --- the month object ----------------------------------------------------------------------


@contextmanager
def kpi_transaction() -> Iterator[None]:
    """One transaction for a KPI read, with PostgreSQL's JIT off (unless KPI_POSTGRES_JIT):
    each KPI query is run once, and compiling its expressions costs more than it saves —
    2–3 s on a month's aggregates at 300 k inquiries, 0.45 s on an email drill-down page."""
    with transaction.atomic():
        if connection.vendor == "postgresql" and not settings.KPI_POSTGRES_JIT:
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL jit = off")
        yield


def kpi_month_compute(*, month: Month, now: dt.datetime | None = None) -> dict[str, Any]:
    """The formats.md object for one month, from the records (constant number of queries),
    read in one transaction so that every figure sees the same data."""
    with kpi_transaction():
        return _kpi_month_compute(month=month, now=now)


def _kpi_month_compute(*, month: Month, now: dt.datetime | None = None) -> dict[str, Any]:
    now = now or timezone.now()
    period_type = kpi_period_type(month=month)
    target = kpi_target_for(month=month)
    calls = metrics.call_aggregates(month, acw_limit_seconds=target.acw_limit_seconds)
    inquiries = metrics.inquiry_aggregates(month, now=now)

    ar = metrics.answer_rate(month, calls=calls)
    ar_target = _f(target.answer_rate_normal if period_type == PeriodType.NORMAL else target.answer_rate_busy)
    answer_rate = {
        "value": ar["value"],
        "display": display.rate_display(ar["value"]),
        "target": ar_target,
        "met": None if ar["value"] is None else ar["value"] >= ar_target,
        **{k: v for k, v in ar.items() if k != "value"},
    }

    comp = metrics.complaint_count(month)
    complaints = {
        "count": comp["count"],
        "display": display.count_display(comp["count"]),
        "target": target.complaints_limit,
        "met": comp["count"] < target.complaints_limit,
        "recorded": comp["recorded"],
        "by_cause": comp["by_cause"],
    }

    aht = metrics.average_handle_time(month, calls=calls)
    aht_met = None if aht["seconds"] is None else aht["seconds"] <= target.aht_max_seconds
    coupled = not complaints["met"]
    if coupled:  # §2 coupling rule: AHT fails with the complaint target, whatever its value
        aht_met = False
    average_handle_time = {
        "seconds": aht["seconds"],
        "display": display.aht_display(aht["seconds"]),
        "target": target.aht_max_seconds,
        "met": aht_met,
        "failed_by_complaints": coupled,
        **{k: v for k, v in aht.items() if k != "seconds"},
    }

    em = metrics.email_response_time(month, inquiries=inquiries, now=now)
    basis = "business_hours" if target.email_use_business_hours else "calendar"
    contract_seconds = em["business_seconds"] if basis == "business_hours" else em["seconds"]
    email = {
        "seconds": em["seconds"],
        "display": display.email_time_display(contract_seconds),
        "target": target.email_max_seconds,
        "met": None if contract_seconds is None else contract_seconds < target.email_max_seconds,
        "basis": basis,
        "business_seconds": em["business_seconds"],
        "business_display": display.email_time_display(em["business_seconds"]),
        **{k: v for k, v in em.items() if k not in ("seconds", "business_seconds")},
    }

    fcr_raw = metrics.first_contact_resolution(month, inquiries=inquiries)
    fcr_target = _f(target.fcr_min)
    fcr = {
        "value": fcr_raw["value"],
        "display": display.rate_display(fcr_raw["value"]),
        "target": fcr_target,
        "met": None if fcr_raw["value"] is None else fcr_raw["value"] >= fcr_target,
        **{k: v for k, v in fcr_raw.items() if k != "value"},
    }

    inc = metrics.security_incident_count(month)
    incidents = {
        "count": inc["count"],
        "display": display.count_display(inc["count"]),
        "target": target.incidents_max,
        "met": inc["count"] <= target.incidents_max,
        "minor": inc["minor"],
    }

    return {
        "month": str(month),
        "month_display": display.month_display(str(month)),
        "period_type": period_type,
        "answer_rate": answer_rate,
        "average_handle_time": average_handle_time,
        "email_average_response_time": email,
        "first_contact_resolution": fcr,
        "complaints": complaints,
        "security_incidents": incidents,
        "inquiries_by_channel": metrics.inquiries_by_channel(month, inquiries=inquiries),
        "target_period": {"name": target.name, "valid_from": target.valid_from.isoformat()},
        "computed_at": now.isoformat(),
        "schema_version": SCHEMA_VERSION,
    }


def cache_key(month: Month) -> str:
    return f"kpi:month:v{SCHEMA_VERSION}:{month}"


def kpi_month_current(*, month: Month, fresh: bool = False) -> dict[str, Any]:
    """Current figures: from the cache (filled nightly by `kpi_recompute_open_months` and on
    first request) unless `fresh`; computed and cached otherwise."""
    key = cache_key(month)
    if not fresh:
        hit = cache.get(key)
        if hit is not None:
            return hit
    data = kpi_month_compute(month=month)
    cache.set(key, data, timeout=settings.KPI_CACHE_SECONDS)
    return data


def kpi_snapshot_latest(*, month: Month) -> KpiSnapshot | None:
    return KpiSnapshot.objects.filter(month=str(month)).order_by("-version").first()


def kpi_difference(*, current: dict[str, Any], published: dict[str, Any]) -> dict[str, Any]:
    """Per metric, current − published for every number that changed (counts, values,
    seconds); flags (`met`) that changed are reported as {"published": …, "current": …}."""
    diff: dict[str, Any] = {}
    for metric in (*METRIC_KEYS, "inquiries_by_channel", "period_type"):
        cur, pub = current.get(metric), published.get(metric)
        if isinstance(cur, dict) and isinstance(pub, dict):
            changed: dict[str, Any] = {}
            for key, value in cur.items():
                # A key the published object lacks was added to the schema after it was
                # published: no published figure to restate.
                if key in VOLATILE_KEYS or key == "display" or key not in pub:
                    continue
                old = pub.get(key)
                if value == old:
                    continue
                if isinstance(value, int | float) and isinstance(old, int | float) and not isinstance(value, bool):
                    changed[key] = round(value - old, 6)
                elif not isinstance(value, dict):
                    changed[key] = {"published": old, "current": value}
                else:
                    sub = {k: v - old.get(k, 0) for k, v in value.items() if old and v != old.get(k)}
                    if sub:
                        changed[key] = sub
            if changed:
                diff[metric] = changed
        elif cur != pub:
            diff[metric] = {"published": pub, "current": cur}
    return diff


def kpi_changed_records(*, month: Month, since: dt.datetime) -> dict[str, QuerySet]:
    """Records of the month written after `since` (the publication): what explains a
    restatement. Calls and inquiries by `updated_at`, new mail answers to the month's
    inquiries, escalations, complaints (new or confirmed) and incidents by creation."""
    in_month_inquiries = Inquiry.objects.filter(received_at__gte=month.start, received_at__lt=month.end)
    return {
        "calls": Call.objects.filter(arrived_at__gte=month.start, arrived_at__lt=month.end).filter(
            Q(updated_at__gt=since) | Q(created_at__gt=since)
        ),
        "inquiries": in_month_inquiries.filter(Q(updated_at__gt=since) | Q(created_at__gt=since)),
        "emails": EmailMessage.objects.filter(
            inquiry__in=in_month_inquiries, direction=EmailMessage.Direction.OUTBOUND, created_at__gt=since
        ),
        "escalations": Escalation.objects.filter(inquiry__in=in_month_inquiries, created_at__gt=since),
        "complaints": Complaint.objects.filter(received_at__gte=month.start, received_at__lt=month.end).filter(
            Q(created_at__gt=since) | Q(confirmed_at__gt=since)
        ),
        "security_incidents": SecurityIncident.objects.filter(
            occurred_at__gte=month.start, occurred_at__lt=month.end, created_at__gt=since
        ),
    }


def kpi_month_get(*, month: Month, fresh: bool = False) -> dict[str, Any]:
    """The KPI API object: current figures, and when the month was published the
    publication, and — if the data changed since — the published figures, the difference
    and counts of the records that changed (`restated: true`)."""
    data = dict(kpi_month_current(month=month, fresh=fresh))
    snap = kpi_snapshot_latest(month=month)
    data["restated"] = False
    data["publication"] = None
    if snap is None:
        return data
    data["publication"] = {
        "version": snap.version,
        "published_at": snap.published_at.isoformat(),
        "published_by": snap.published_by.get_username() if snap.published_by else None,
    }
    difference = kpi_difference(current=data, published=snap.data)
    if difference:
        data["restated"] = True
        data["published"] = {k: snap.data.get(k) for k in (*METRIC_KEYS, "inquiries_by_channel", "period_type")}
        data["difference"] = difference
        data["changed_records"] = {
            name: qs.count() for name, qs in kpi_changed_records(month=month, since=snap.published_at).items()
        }
    return data


def kpi_months_get(*, first: Month, last: Month, fresh: bool = False) -> list[dict[str, Any]]:
    return [kpi_month_get(month=m, fresh=fresh) for m in month_range(first, last)]


# --- drill-down ---------------------------------------------------------------------------


def drill_abandoned_calls(*, month: Month) -> QuerySet[Call]:
    outcomes = [Call.Outcome.IVR_ABANDONED, *Call.QUEUE_ABANDON_OUTCOMES]
    return Call.objects.filter(
        arrived_at__gte=month.start, arrived_at__lt=month.end, in_service_hours=True, outcome__in=outcomes
    ).only("id", "call_id", "arrived_at", "outcome", "queue", "queued_at", "ended_at")


def drill_answered_calls(*, month: Month) -> QuerySet[Call]:
    """Answered in-hours calls with their handle time parts exactly as the month's AHT
    computes them (the same `HandleParts`, with the limit of the month's target): where the
    ACW ended (`acw_end_s`: pbx / wrapup / next_call / limit), and the `capped` and
    `missing_wrapup` flags the KPI object counts."""
    parts = metrics.HandleParts.build(kpi_target_for(month=month).acw_limit_seconds)
    return (
        Call.objects.filter(
            arrived_at__gte=month.start,
            arrived_at__lt=month.end,
            in_service_hours=True,
            outcome=Call.Outcome.ANSWERED,
        )
        .annotate(**metrics.acw_inputs())
        .annotate(
            connected_s=parts.connected,
            acw_s=parts.acw,
            handle_s=parts.connected + parts.acw,
            acw_end_s=parts.acw_end,
            missing_wrapup=ExpressionWrapper(parts.missing, output_field=BooleanField()),
            acw_capped=ExpressionWrapper(parts.capped, output_field=BooleanField()),
            inquiry_ref=F("inquiry__ref"),
        )
        .only("id", "call_id", "arrived_at", "answered_at", "ended_at", "agent", "queue", "acw_seconds")
    )


def drill_emails(*, month: Month) -> QuerySet[Inquiry]:
    """The email metric's population with `response_s` (None while unanswered) and
    `answered` (the same as `response_s IS NOT NULL`, without the answer lookup: filter on
    it, so the per-inquiry lookup runs once, for the order, not twice). Whether the answer
    was a mail is a separate, cheap EXISTS the database hashes once."""
    answer = Coalesce(metrics.first_mail_answer_subquery(), F("first_answered_at"))
    answered_by_mail = Exists(mail_real_answers().filter(inquiry=OuterRef("pk")))
    return (
        Inquiry.objects.filter(
            received_at__gte=month.start, received_at__lt=month.end, channel__in=metrics.EMAIL_CHANNELS
        )
        .annotate(
            handed_to_section=Exists(
                Escalation.objects.filter(inquiry=OuterRef("pk"), target__in=Escalation.RESPONSIBLE_SECTION_TARGETS)
            ),
            response_s=metrics.SecondsBetween(answer, F("received_at")),
            answered_by_mail=answered_by_mail,
            # Coalesce(first mail answer, first_answered_at) IS NOT NULL, exactly.
            answered=ExpressionWrapper(
                Q(first_answered_at__isnull=False) | Q(answered_by_mail), output_field=BooleanField()
            ),
        )
        .only("id", "ref", "channel", "status", "category", "received_at", "first_answered_at")
    )


def drill_handovers(*, month: Month) -> QuerySet[Escalation]:
    return (
        Escalation.objects.filter(
            inquiry__received_at__gte=month.start,
            inquiry__received_at__lt=month.end,
            target__in=Escalation.EXTERNAL_TARGETS,
        )
        .select_related("inquiry")
        .only(
            "id",
            "target",
            "organization",
            "escalated_at",
            "returned_at",
            "inquiry__id",
            "inquiry__ref",
            "inquiry__channel",
            "inquiry__received_at",
        )
    )


def drill_complaints(*, month: Month) -> QuerySet[Complaint]:
    return (
        Complaint.objects.filter(received_at__gte=month.start, received_at__lt=month.end)
        .select_related("inquiry")
        .only("id", "received_at", "cause", "confirmed_at", "inquiry__id", "inquiry__ref", "inquiry__channel")
    )


def drill_incidents(*, month: Month) -> QuerySet[SecurityIncident]:
    return SecurityIncident.objects.filter(occurred_at__gte=month.start, occurred_at__lt=month.end).only(
        "id", "occurred_at", "detected_at", "severity", "kind"
    )


def months_with_unanswered_email(*, since: Month) -> list[Month]:
    """Months whose email figure can still change (a late answer joins the mean)."""
    answered = Q(first_answered_at__isnull=False) | Exists(mail_real_answers().filter(inquiry=OuterRef("pk")))
    rows = (
        Inquiry.objects.filter(channel__in=metrics.EMAIL_CHANNELS, received_at__gte=since.start)
        .exclude(answered)
        .annotate(m=TruncMonth("received_at", tzinfo=TOKYO))
        .values_list("m", flat=True)
        .distinct()
        .order_by()
    )
    return sorted({Month.of(m) for m in rows})


# --- the input version and the board's stored day figures ---------------------------------


def kpi_input_version() -> int:
    """The version of every input of the KPI figures: the sum of the trigger-written change
    log (`KpiInputChange`). One query over a log the refresh task keeps short. Read it BEFORE
    computing: figures computed afterwards saw at least that version's data."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(SUM(n), 0) FROM {KpiInputChange._meta.db_table}")
        return int(cursor.fetchone()[0])


def kpi_day_versions(*, depends: dict[str, Any]) -> tuple[int, int]:
    """The input versions a day's stored figures were computed at (`kpi.today.day_depends`
    says which hours of which records they read): the sum of the log's rows that touch them
    and the GLOBAL ones, and the open load's (OPEN and GLOBAL rows). One query: a range read
    of the log's (kind, at) index per kind (kpi 0007), so its cost follows the day's ranges,
    not the log's length (a year of log: 0.7 ms against 6.9 ms summing it whole). Like the
    input version, read BEFORE computing. On SQLite every row is GLOBAL: both are the input
    version there."""
    c = KpiInputChange
    # (kind, counts in the day's version, counts in the open load's, [from, to) or None)
    parts: list[tuple[str, int, int, tuple[str, str] | None]] = [(c.GLOBAL, 1, 1, None), (c.OPEN, 0, 1, None)]
    parts += [(kind, 1, 0, (lo, hi)) for kind, (lo, hi) in depends["ranges"].items()]
    selects: list[str] = []
    params: list[Any] = []
    for kind, day, load, hours in parts:
        select = f"SELECT n, {day} AS d, {load} AS o FROM {c._meta.db_table} WHERE kind = %s"
        params.append(kind)
        if hours is not None:
            select += " AND at >= %s AND at < %s"
            params += [connection.ops.adapt_datetimefield_value(dt.datetime.fromisoformat(x)) for x in hours]
        selects.append(select)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COALESCE(SUM(CASE WHEN d = 1 THEN n ELSE 0 END), 0), "
            "COALESCE(SUM(CASE WHEN o = 1 THEN n ELSE 0 END), 0) "
            f"FROM ({' UNION ALL '.join(selects)}) AS touched",
            params,
        )
        day_version, open_version = cursor.fetchone()
    return int(day_version), int(open_version)


def kpi_day_figures_stored(*, date: dt.date) -> KpiDayFigures | None:
    return KpiDayFigures.objects.filter(date=date).first()


def kpi_days_with_inputs(*, since: dt.datetime) -> list[dt.date]:
    """The days (Tokyo) whose records were ever written at an hour since `since`, newest first:
    the hours of the input log's CALL, INQUIRY and STATUS rows (`KpiInputChange`), which the
    record tables' triggers write and compaction keeps (one row per kind and hour ever
    touched). What the board's refresh task stores ahead (docs/desk-supervisor.md, "Stored
    ahead"). One query over the log. On SQLite the log has GLOBAL rows only: no day."""
    c = KpiInputChange
    return list(
        c.objects.filter(kind__in=[c.CALL, c.INQUIRY, c.STATUS], at__gte=since)
        .annotate(day=TruncDate("at", tzinfo=TOKYO))
        .values_list("day", flat=True)
        .distinct()
        .order_by("-day")
    )


def kpi_day_figures_to_refresh(*, since: dt.datetime, version: int) -> list[dt.date]:
    """Days a board asked for since `since` whose stored figures are older than `version`."""
    return list(
        KpiDayFigures.objects.filter(viewed_at__gte=since, version__lt=version)
        .order_by("-date")
        .values_list("date", flat=True)
    )
