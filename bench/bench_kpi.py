"""KPI for one month on PostgreSQL at national scale: 1 M calls and 300 k inquiries (with
their mail, escalations, complaints) in October 2026. Prints the time to compute the month
cold, from the cache and from the published snapshot, the SQL query count (must not grow
with the data), and the same figures by one hand-written SQL aggregate over the same tables.

    eval "$(scripts/services.sh)"
    .venv/bin/python bench/bench_kpi.py [--calls 1000000] [--inquiries 300000] [--repeat 3] [--recreate]
    .venv/bin/python bench/bench_kpi.py --mail-share 0.9      # a month whose inquiries are 90 % mail
    .venv/bin/python bench/bench_kpi.py --outgrow-cache       # inquiries table > 2 × shared_buffers
    .venv/bin/python bench/bench_kpi.py --rounds 5            # ratio: median of 5 interleaved rounds

Uses its own database (`helpdesk_kpibench` on the DATABASE_URL server), migrated here and
filled with COPY; a second run reuses the data when the row counts match. Goal: cold
within 1.3× of the hand-written query, cache/snapshot reads in milliseconds.

`--outgrow-cache` adds inquiries of the five years before the month, interleaved with the
month's own rows on disk, until the inquiries table is at least twice the server's
`shared_buffers`: the month's rows are then spread over a table the buffer cache cannot
hold, as on a national center's five years (an index walk in date order would read
page after page at random; a scan of the month must not). `--rounds N` then measures the
ratio on a shared machine: N rounds, each the hand-written SQL and the engine's cold month
back to back (their order alternating), and the median of the per-round ratios.
"""

import argparse
import datetime as dt
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common import bench_database_url, ensure_database  # noqa: E402 — bench/common.py

TOKYO = dt.timezone(dt.timedelta(hours=9))
MONTH = "2026-10"


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--calls", type=int, default=1_000_000)
    p.add_argument("--inquiries", type=int, default=300_000)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--db", default="helpdesk_kpibench")
    p.add_argument("--recreate", action="store_true", help="drop and rebuild the bench database")
    p.add_argument("--mail-share", type=float, default=None, help="share of the month's inquiries by mail/form")
    p.add_argument("--outgrow-cache", action="store_true", help="inquiries table > 2 x shared_buffers")
    p.add_argument("--rounds", type=int, default=5, help="interleaved rounds for the ratio")
    return p.parse_args()


def filler_for(n_inquiries: int, outgrow: bool) -> int:
    """Inquiries of other months to add so that the table outgrows the buffer cache."""
    if not outgrow:
        return 0
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            "SELECT setting::bigint * current_setting('block_size')::bigint FROM pg_settings "
            "WHERE name = 'shared_buffers'"
        )
        shared = cur.fetchone()[0]
    # ~128 bytes a row on the heap (measured: the bench's rows are short); twice the cache.
    return max(0, 2 * shared // 128 - n_inquiries)


class Copier:
    """COPY rows into a model's table; columns not given take the model field's default,
    so the bench keeps working when other apps add fields with defaults."""

    def __init__(self, model, given: list[str]):
        self.model = model
        fields = [
            f
            for f in model._meta.concrete_fields
            if (not f.primary_key or f.name in given) and not f.generated  # (the database fills those)
        ]
        self.fields = fields
        self.index = {f.attname: i for i, f in enumerate(fields)}
        self.template = []
        for f in fields:
            default = f.get_default() if f.has_default() or not f.null else None
            if isinstance(default, dict | list):
                default = json.dumps(default)
            if default is None and not f.null:
                default = b"" if f.get_internal_type() == "BinaryField" else ""
            self.template.append(default)
        self.given = [self.index[name] for name in given]
        # callable defaults (uuid4 keys…) are drawn per row
        self.per_row = [i for i, f in enumerate(fields) if callable(f.default) and f.attname not in given]

    def columns(self) -> str:
        return ", ".join(f'"{f.column}"' for f in self.fields)

    def copy(self, cursor, rows) -> int:
        n = 0
        table = self.model._meta.db_table
        with cursor.copy(f'COPY "{table}" ({self.columns()}) FROM STDIN') as cp:
            for values in rows:
                row = list(self.template)
                for i, v in zip(self.given, values, strict=True):
                    row[i] = v
                for i in self.per_row:
                    row[i] = self.fields[i].get_default()
                cp.write_row(row)
                n += 1
        return n


def month_instant(rng: random.Random) -> dt.datetime:
    day = rng.randrange(1, 32)
    return dt.datetime(2026, 10, day, 9, tzinfo=TOKYO) + dt.timedelta(seconds=rng.randrange(0, 8 * 3600))


def generate(n_calls: int, n_inquiries: int, *, mail_share: float | None = None, filler: int = 0) -> float:
    from django.db import connection

    from helpdesk.models import Call, Complaint, EmailMessage, Escalation, Inquiry, SecurityIncident

    rng = random.Random(42)
    now = dt.datetime(2026, 11, 10, tzinfo=TOKYO)
    t0 = time.perf_counter()
    n_phone = min(n_inquiries // 3 if mail_share is None else round(n_inquiries * (1 - mail_share)), n_calls)
    queue_outcomes = ["queue_abandoned", "queue_timeout", "queue_exit_key", "queue_empty"]
    answered_calls: list[tuple[int, dt.datetime]] = []
    with connection.cursor() as cur:
        raw = cur.cursor
        calls = Copier(
            Call,
            [
                "id",
                "call_id",
                "arrived_at",
                "outcome",
                "in_service_hours",
                "queue",
                "queued_at",
                "answered_at",
                "ended_at",
                "agent",
                "acw_seconds",
                "created_at",
                "updated_at",
            ],
        )

        def call_rows():
            for i in range(1, n_calls + 1):
                arrived = month_instant(rng)
                r = rng.random()
                acw = None
                if r < 0.04:
                    outcome, hours, queue, queued, answered, ended, agent = (
                        "out_of_hours",
                        False,
                        "",
                        None,
                        None,
                        arrived + dt.timedelta(seconds=20),
                        "",
                    )
                elif r < 0.09:
                    outcome, hours, queue, queued, answered, agent = "ivr_abandoned", True, "", None, None, ""
                    ended = arrived + dt.timedelta(seconds=rng.randrange(5, 60))
                elif r < 0.19:
                    outcome, hours, queue, answered, agent = rng.choice(queue_outcomes), True, "egov", None, ""
                    queued = arrived + dt.timedelta(seconds=15)
                    ended = queued + dt.timedelta(seconds=rng.randrange(10, 600))
                else:
                    outcome, hours, queue, agent = "answered", True, "egov", f"op{rng.randrange(80):02d}"
                    queued = arrived + dt.timedelta(seconds=15)
                    answered = queued + dt.timedelta(seconds=rng.randrange(5, 300))
                    ended = answered + dt.timedelta(seconds=rng.randrange(60, 900))
                    acw = rng.randrange(0, 240) if rng.random() < 0.5 else None
                    if acw is None and len(answered_calls) < n_phone:
                        answered_calls.append((i, ended))
                yield (i, f"b-{i:08d}", arrived, outcome, hours, queue, queued, answered, ended, agent, acw, now, now)

        calls.copy(raw, call_rows())

        inq = Copier(
            Inquiry,
            [
                "id",
                "ref",
                "channel",
                "status",
                "received_at",
                "first_answered_at",
                "wrapup_completed_at",
                "call_id",
                "created_at",
                "updated_at",
            ],
        )
        mails = []  # (inquiry id, received, answered or None)

        per_row = filler / n_inquiries if n_inquiries else 0
        far = dt.datetime(2021, 10, 1, tzinfo=TOKYO)

        def filler_rows(start: int, count: int):
            # Inquiries of the five years before the month (answered, no mail): they only
            # make the table large, between the month's own rows on disk.
            for j in range(start, start + count):
                received = far + dt.timedelta(seconds=rng.randrange(0, 5 * 365 * 86400 - 40 * 86400))
                yield (n_inquiries + j, f"EG-F{j:08d}", "email", "resolved", received, received, None, None, now, now)

        def inquiry_rows():
            done = 0
            for i in range(1, n_inquiries + 1):
                due = int(i * per_row) - done
                if due:
                    yield from filler_rows(done + 1, due)
                    done += due
                if i <= len(answered_calls):
                    call_pk, ended = answered_calls[i - 1]
                    received = ended - dt.timedelta(seconds=300)
                    wrap = ended + dt.timedelta(seconds=rng.randrange(0, 300)) if rng.random() < 0.95 else None
                    yield (i, f"EG-B{i:07d}", "phone", "resolved", received, received, wrap, call_pk, now, now)
                else:
                    received = dt.datetime(2026, 10, 1, tzinfo=TOKYO) + dt.timedelta(
                        seconds=rng.randrange(0, 31 * 86400)
                    )
                    answered = (
                        received + dt.timedelta(seconds=rng.randrange(600, 3 * 86400)) if rng.random() < 0.93 else None
                    )
                    mails.append((i, received, answered))
                    channel = "email" if rng.random() < 0.75 else "form"
                    yield (
                        i,
                        f"EG-B{i:07d}",
                        channel,
                        "answered" if answered else "new",
                        received,
                        answered,
                        None,
                        None,
                        now,
                        now,
                    )

        inq.copy(raw, inquiry_rows())

        msg = Copier(
            EmailMessage,
            [
                "id",
                "message_id",
                "direction",
                "inquiry_id",
                "sent_at",
                "received_at",
                "raw",
                "is_auto_acknowledgement",
                "send_status",
                "created_at",
            ],
        )

        def mail_rows():
            k = 0
            for inquiry_id, received, answered in mails:
                k += 1
                yield (k, f"<in-{k}@bench>", "inbound", inquiry_id, received, received, b"", False, "", now)
                k += 1
                yield (
                    k,
                    f"<ack-{k}@bench>",
                    "outbound",
                    inquiry_id,
                    received + dt.timedelta(seconds=30),
                    None,
                    b"",
                    True,
                    "sent",
                    now,
                )
                if answered:
                    k += 1
                    yield (k, f"<ans-{k}@bench>", "outbound", inquiry_id, answered, None, b"", False, "", now)

        msg.copy(raw, mail_rows())

        esc = Copier(Escalation, ["id", "inquiry_id", "target", "escalated_at", "created_at"])
        targets = [
            "internal",
            "responsible_section",
            "responsible_section_designee",
            "operations_vendor",
            "other_external",
        ]

        def esc_rows():
            k = 0
            for i in range(1, n_inquiries + 1):
                if rng.random() < 0.08:
                    for _ in range(1 if rng.random() < 0.8 else 2):
                        k += 1
                        yield (k, i, rng.choice(targets), dt.datetime(2026, 10, 31, tzinfo=TOKYO), now)

        esc.copy(raw, esc_rows())
        comp = Copier(Complaint, ["id", "inquiry_id", "received_at", "cause", "confirmed_at", "created_at"])
        comp.copy(
            raw,
            (
                (k, rng.randrange(1, n_inquiries + 1), month_instant(rng), c, None if c == "unconfirmed" else now, now)
                for k, c in enumerate(["operator_error"] * 9 + ["policy", "system", "unconfirmed"] * 3, start=1)
            ),
        )
        inc = Copier(SecurityIncident, ["id", "occurred_at", "detected_at", "severity", "kind", "created_at"])
        inc.copy(raw, [(1, month_instant(rng), now, "minor", "other", now)])
        for model in (Call, Inquiry, EmailMessage, Escalation, Complaint, SecurityIncident):
            table = model._meta.db_table
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))")
            cur.execute(f"ANALYZE {table}")
    return time.perf_counter() - t0


HAND_SQL = """
WITH m AS (SELECT %(start)s::timestamptz AS s, %(end)s::timestamptz AS e, %(limit)s::float8 AS lim),
-- (b) of docs/kpi.md §2 as a DBA would write it: per agent, the answers of the month (and of
-- a day plus the limit after it) and the ends of the month's answered calls that need (b),
-- as one event stream; walking it backwards, the running MIN of the answers seen so far is,
-- at an end, the first answer at or after it (an answer at the same instant sorts first).
-- The bench's calls all last >= 60 s, so a call's own answer is never at or after its end.
ev AS (
  SELECT a.agent, a.answered_at AS t, 1 AS kind, NULL::bigint AS id FROM helpdesk_call a, m
   WHERE a.answered_at >= m.s AND a.answered_at < m.e + interval '1 day' + make_interval(secs => m.lim)
     AND a.agent <> ''
  UNION ALL
  SELECT c.agent, COALESCE(c.ended_at, c.answered_at), 0, c.id FROM helpdesk_call c, m
   WHERE c.arrived_at >= m.s AND c.arrived_at < m.e AND c.outcome = 'answered' AND c.in_service_hours
     AND c.acw_seconds IS NULL AND c.agent <> ''
),
nx AS (
  SELECT id, next_at FROM (
    SELECT id, kind, min(t) FILTER (WHERE kind = 1)
             OVER (PARTITION BY agent ORDER BY t DESC, kind DESC ROWS UNBOUNDED PRECEDING) AS next_at
    FROM ev) w
  WHERE kind = 0
),
ca AS (
  SELECT c.in_service_hours AND c.outcome = 'answered' AS ans, c.acw_seconds,
         COALESCE(EXTRACT(EPOCH FROM c.ended_at - c.answered_at), 0) AS connected,
         EXTRACT(EPOCH FROM i.wrapup_completed_at - COALESCE(c.ended_at, c.answered_at)) AS wrapup,
         LEAST(EXTRACT(EPOCH FROM nx.next_at - COALESCE(c.ended_at, c.answered_at)), m.lim) AS bound,
         c.in_service_hours, c.outcome
  FROM helpdesk_call c LEFT JOIN helpdesk_inquiry i ON i.call_id = c.id LEFT JOIN nx ON nx.id = c.id, m
  WHERE c.arrived_at >= m.s AND c.arrived_at < m.e
),
c AS (
  SELECT count(*) FILTER (WHERE c.in_service_hours) AS total,
         count(*) FILTER (WHERE ans) AS answered,
         count(*) FILTER (WHERE c.in_service_hours AND c.outcome = 'ivr_abandoned') AS ivr,
         count(*) FILTER (WHERE c.in_service_hours AND c.outcome IN
                          ('queue_abandoned','queue_timeout','queue_exit_key','queue_empty')) AS queue,
         count(*) FILTER (WHERE NOT c.in_service_hours) AS ooh,
         avg(connected + COALESCE(acw_seconds, CASE WHEN wrapup IS NULL THEN bound
                                                    ELSE GREATEST(LEAST(wrapup, bound), 0) END))
           FILTER (WHERE ans) AS aht,
         count(*) FILTER (WHERE ans AND acw_seconds IS NULL AND wrapup IS NULL) AS missing,
         count(*) FILTER (WHERE ans AND acw_seconds IS NULL AND wrapup > bound) AS capped
  FROM ca c
),
q AS MATERIALIZED (
  SELECT i.id, i.channel, i.received_at,
         EXISTS (SELECT 1 FROM helpdesk_escalation x WHERE x.inquiry_id = i.id AND x.target <> 'internal') AS ext,
         EXISTS (SELECT 1 FROM helpdesk_escalation x WHERE x.inquiry_id = i.id
                 AND x.target IN ('responsible_section','responsible_section_designee')) AS sect,
         COALESCE((SELECT min(e.sent_at) FROM helpdesk_emailmessage e WHERE e.inquiry_id = i.id
                   AND e.direction = 'outbound' AND NOT e.is_auto_acknowledgement
                   AND e.send_status IN ('', 'sent')), i.first_answered_at) AS answer_at
  FROM helpdesk_inquiry i, m WHERE i.received_at >= m.s AND i.received_at < m.e
),
qa AS (
  SELECT count(*) AS inquiries, count(*) FILTER (WHERE ext) AS handed,
         avg(EXTRACT(EPOCH FROM answer_at - received_at))
           FILTER (WHERE channel IN ('email','form') AND NOT sect AND answer_at IS NOT NULL) AS email_s,
         count(*) FILTER (WHERE channel IN ('email','form') AND NOT sect AND answer_at IS NULL) AS unanswered
  FROM q
)
SELECT c.*, qa.*,
  (SELECT count(*) FROM helpdesk_complaint k, m WHERE k.received_at >= m.s AND k.received_at < m.e
     AND k.cause = 'operator_error') AS complaints,
  (SELECT count(*) FROM helpdesk_securityincident s, m WHERE s.occurred_at >= m.s AND s.occurred_at < m.e
     AND s.severity = 'major') AS incidents
FROM c, qa
"""


def timed(fn, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), result


def main() -> int:
    args = parse_args()
    url = bench_database_url(args.db)
    ensure_database(url, recreate=args.recreate)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    if os.environ.get("TEST_REDIS_URL") and not os.environ.get("REDIS_URL"):
        os.environ["REDIS_URL"] = os.environ["TEST_REDIS_URL"].rsplit("/", 1)[0] + "/5"
    import django

    django.setup()
    from django.core.cache import cache, caches
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from helpdesk.clock import Month
    from helpdesk.models import Call, Inquiry
    from kpi import metrics, selectors, services
    from kpi.models import KpiSnapshot

    call_command("migrate", verbosity=0)
    month = Month.parse(MONTH)
    filler = filler_for(args.inquiries, args.outgrow_cache)
    phone = min(
        args.inquiries // 3 if args.mail_share is None else round(args.inquiries * (1 - args.mail_share)), args.calls
    )
    have = (Call.objects.count(), Inquiry.objects.count(), Inquiry.objects.filter(channel="phone").count())
    if have != (args.calls, args.inquiries + filler, phone):
        if any(have):
            ensure_database(url, recreate=True)
            connection.close()
            call_command("migrate", verbosity=0)
        print(f"generating {args.calls:,} calls and {args.inquiries:,} inquiries with COPY …", flush=True)
        seconds = generate(args.calls, args.inquiries, mail_share=args.mail_share, filler=filler)
        print(f"  generated in {seconds:.1f} s", flush=True)
    in_month = Inquiry.objects.filter(received_at__gte=month.start, received_at__lt=month.end)
    with connection.cursor() as cur:
        cur.execute("SELECT pg_table_size('helpdesk_inquiry'), current_setting('shared_buffers')")
        table_bytes, shared = cur.fetchone()
    print(
        f"data: {Call.objects.count():,} calls, {in_month.count():,} inquiries in {MONTH} "
        f"({in_month.exclude(channel='phone').count() / max(in_month.count(), 1):.0%} mail/form), "
        f"{Inquiry.objects.count():,} in the table ({table_bytes / 2**20:.0f} MB; shared_buffers {shared})"
    )

    # --- hand-written SQL: the practical limit
    limit = selectors.kpi_target_for(month=month).acw_limit_seconds
    params = {"start": month.start, "end": month.end, "limit": limit}

    def run_hand(sql: str, jit: bool):
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute(f"SET LOCAL jit = {'on' if jit else 'off'}")
            cur.execute(sql, params)
            return cur.fetchone()

    inlined = HAND_SQL.replace("AS MATERIALIZED (", "AS (")  # letting PostgreSQL inline the CTE
    run_hand(HAND_SQL, False)  # warm the buffer cache the same way for both
    variants = {}
    for label, sql, jit in (
        ("materialized, jit off", HAND_SQL, False),
        ("materialized, jit on", HAND_SQL, True),
        ("inlined, jit off", inlined, False),
        ("inlined, jit on", inlined, True),
    ):
        variants[label], row_v = timed(lambda sql=sql, jit=jit: run_hand(sql, jit), args.repeat)
        row = row_v
    best = min(variants, key=variants.get)
    t_hand = variants[best]  # the practical limit: the fastest plan a DBA could pick

    # --- the engine, cold (no cache) — with and without the business-hours figure
    def cold():
        cache.delete(selectors.cache_key(month))
        return selectors.kpi_month_compute(month=month)

    with CaptureQueriesContext(connection) as ctx:
        data = cold()
    n_queries = len(ctx.captured_queries)
    n_selects = sum(q["sql"].lstrip().upper().startswith("SELECT") for q in ctx.captured_queries)
    t_cold, data = timed(cold, args.repeat)

    def jit_off(fn):
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute("SET LOCAL jit = off")
            return fn()

    t_calls, _ = timed(lambda: jit_off(lambda: metrics.call_aggregates(month)), args.repeat)
    t_inq, _ = timed(lambda: jit_off(lambda: metrics.inquiry_aggregates(month)), args.repeat)

    # the same figures by both routes
    ar = data["answer_rate"]
    assert ar["total_calls"] == row[0] and ar["answered_calls"] == row[1], (ar, row)
    aht = data["average_handle_time"]
    assert abs(aht["seconds"] - float(row[5])) < 0.01, (aht, row)
    assert (aht["calls_missing_wrapup"], aht["calls_acw_capped"]) == (row[6], row[7]), (aht, row)
    assert data["first_contact_resolution"]["handed_over"] == row[9]
    assert abs(data["email_average_response_time"]["seconds"] - float(row[10])) < 0.01

    # --- cache and snapshot reads
    selectors.kpi_month_current(month=month, fresh=True)
    t_cache, _ = timed(lambda: selectors.kpi_month_current(month=month), max(args.repeat, 20))
    if not KpiSnapshot.objects.filter(month=MONTH).exists():
        services.kpi_snapshot_publish(month=month, actor=None, note="bench")
    t_snap, _ = timed(lambda: KpiSnapshot.objects.filter(month=MONTH).order_by("-version").first().data, 20)
    t_get, _ = timed(lambda: selectors.kpi_month_get(month=month), 20)
    with CaptureQueriesContext(connection) as ctx2:
        selectors.kpi_month_get(month=month)

    # --- the ratio on a shared machine: rounds of both, back to back, order alternating
    best_sql, best_jit = {
        "materialized, jit off": (HAND_SQL, False),
        "materialized, jit on": (HAND_SQL, True),
        "inlined, jit off": (inlined, False),
        "inlined, jit on": (inlined, True),
    }[best]
    rounds = []
    for r in range(args.rounds):
        pair = {}
        for which in ("hand", "engine") if r % 2 == 0 else ("engine", "hand"):
            t = time.perf_counter()
            if which == "hand":
                run_hand(best_sql, best_jit)
            else:
                cold()
            pair[which] = time.perf_counter() - t
        rounds.append((pair["engine"] / pair["hand"], pair["engine"], pair["hand"]))

    print(f"backend: {connection.vendor}, cache: {caches['default'].__class__.__name__}")
    print(f"hand-written SQL aggregate           : {t_hand * 1000:9.1f} ms   (best plan: {best})")
    print("  " + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in variants.items()))
    print(f"kpi_month_compute cold (all metrics)  : {t_cold * 1000:9.1f} ms   ({t_cold / t_hand:.2f}× hand-written)")
    if rounds:
        ratios = sorted(r[0] for r in rounds)
        print(
            f"  interleaved, {len(rounds)} rounds: median ratio {statistics.median(ratios):.2f}× "
            f"(min {ratios[0]:.2f}, max {ratios[-1]:.2f}); engine median "
            f"{statistics.median(r[1] for r in rounds) * 1000:.0f} ms, hand-written median "
            f"{statistics.median(r[2] for r in rounds) * 1000:.0f} ms"
        )
        print("    rounds (engine ÷ hand-written): " + ", ".join(f"{r[0]:.2f}" for r in rounds))
    print(f"  of which the call scan              : {t_calls * 1000:9.1f} ms")
    print(f"  of which the inquiry scan (+business): {t_inq * 1000:9.1f} ms")
    print(f"  SQL statements per month            : {n_queries} ({n_selects} SELECTs; the rest SET LOCAL/savepoints)")
    print(f"from cache (kpi_month_current)       : {t_cache * 1000:9.3f} ms")
    print(f"published snapshot row read          : {t_snap * 1000:9.3f} ms")
    print(f"API object (cache + snapshot compare): {t_get * 1000:9.3f} ms   ({len(ctx2.captured_queries)} queries)")
    print(
        f"answer rate {ar['display']}, AHT {data['average_handle_time']['display']}, "
        f"email {data['email_average_response_time']['display']} "
        f"(business {data['email_average_response_time']['business_display']}), "
        f"FCR {data['first_contact_resolution']['display']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
