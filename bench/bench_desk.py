"""The agent's desk on 1 M inquiries in PostgreSQL: server time (p50/p95) of the queue's
views and of the inquiry page, and SQL queries per page.

    eval "$(scripts/services.sh)"
    .venv/bin/python bench/bench_desk.py [--size 1000000] [--requests 40] [--recreate]

Uses its own database (`helpdesk_bench_desk` on the DATABASE_URL server), migrated here
and filled with COPY (indexes dropped during the load, rebuilt after): inquiries over five
years (repeat requesters, so the history panel has rows), an inbound mail for every mail
inquiry of the last 90 days and an answer for the answered ones, escalations for the
escalated ones. A second run reuses the data when the row count matches. Requests go
through Django's test client in-process, signed in as an agent: server time, no network.
"""

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_inquiry_api import (  # noqa: E402 — bench/: the same generated inquiries
    CATEGORIES,
    CHANNEL_WEIGHTS,
    CHANNELS,
    NAMES,
    STATUS_WEIGHTS,
    STATUSES,
    load_texts,
    pad,
    percentile,
)
from common import bench_database_url, ensure_database  # noqa: E402 — bench/common.py

AGENTS = 20
P95_TARGET_MS = 100.0


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", "--rows", dest="size", type=int, default=1_000_000, help="inquiries")
    p.add_argument("--requests", type=int, default=40, help="requests per kind")
    p.add_argument("--db", default="helpdesk_bench_desk")
    p.add_argument("--recreate", action="store_true", help="drop and rebuild the bench database")
    # bench/run_all.py hands every bench the same arguments: ignore the others' options.
    args, _unknown = p.parse_known_args()
    return args


def _drop_indexes(cursor, table: str) -> list[tuple[str, str]]:
    cursor.execute(
        """SELECT i.indexname, i.indexdef FROM pg_indexes i
           WHERE i.tablename = %s AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)""",
        [table],
    )
    indexes = cursor.fetchall()
    for name, _ in indexes:
        cursor.execute(f'DROP INDEX "{name}"')
    return indexes


def generate(rows: int, user_ids: list[int], now: dt.datetime) -> float:
    """COPY `rows` inquiries (and their recent mail and escalations); returns seconds."""
    from django.db import connection

    texts = load_texts()
    rng = random.Random(1234)
    start = now - dt.timedelta(days=5 * 365)
    step = (now - start).total_seconds() / rows
    alphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
    recent = now - dt.timedelta(days=90)
    requesters = max(rows // 3, 1)  # about three inquiries per requester
    t0 = time.perf_counter()
    mails: list[tuple] = []
    escalations: list[tuple] = []
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE helpdesk_inquiry, helpdesk_emailmessage, helpdesk_escalation, helpdesk_inquirynote "
            "RESTART IDENTITY CASCADE"
        )
        dropped = {t: _drop_indexes(cursor, t) for t in ("helpdesk_inquiry", "helpdesk_emailmessage")}
        pg = cursor.cursor
        columns = (
            "ref, channel, status, category, subject, body, resolution, ministry_guidance, requester_name, "
            "requester_email, requester_phone, requester_organization, assigned_to_id, received_at, "
            "first_answered_at, resolved_at, version, created_at, updated_at, idempotency_key"
        )
        with pg.copy(f"COPY helpdesk_inquiry ({columns}) FROM STDIN") as copy:
            for n in range(rows):
                received = start + dt.timedelta(seconds=int(n * step + rng.random() * step))
                subject, body = texts[rng.randrange(len(texts))]
                status = rng.choices(STATUSES, STATUS_WEIGHTS)[0]
                channel = rng.choices(CHANNELS, CHANNEL_WEIGHTS)[0]
                done = status in ("resolved", "closed")
                answered_at = received + dt.timedelta(minutes=rng.randint(1, 600))
                # open mail waiting for an answer has none yet (the mail target runs for it)
                first_answer = answered_at if (done or status == "answered" or channel == "phone") else None
                if first_answer and first_answer > now:
                    first_answer = now
                who = rng.randrange(requesters)
                ref = f"EG-{received:%Y%m%d}-" + "".join(rng.choice(alphabet) for _ in range(6)) + f"{n:07d}"
                copy.write_row(
                    (
                        ref,
                        channel,
                        status,
                        rng.choice(CATEGORIES),
                        f"{subject}（{n % 997}）",
                        body,
                        "",
                        False,
                        rng.choice(NAMES),
                        f"citizen{who}@example.com" if channel != "phone" else "",
                        f"090{who:08d}",
                        "",
                        rng.choice(user_ids) if status != "new" else None,
                        received,
                        first_answer,
                        max(answered_at, received) if done and answered_at <= now else (received if done else None),
                        1,
                        now,
                        now,
                        "",
                    )
                )
                if channel != "phone" and received >= recent:
                    mails.append((n + 1, "inbound", received, f"citizen{who}@example.com", subject, body))
                    if first_answer:
                        mails.append(
                            (n + 1, "outbound", first_answer, "support@egov.example.jp", subject, "回答します。")
                        )
                if status == "escalated":
                    escalations.append((n + 1, received + dt.timedelta(minutes=30)))
        with pg.copy(
            "COPY helpdesk_emailmessage (message_id, direction, source, inquiry_id, from_address, from_name, "
            'to_addresses, subject, body_text, body_html, in_reply_to, "references", sent_at, received_at, raw, '
            "is_auto_acknowledgement, charset_problem, send_status, send_attempts, last_send_error, created_at) "
            "FROM STDIN"
        ) as copy:
            for i, (inquiry_id, direction, at, sender, subject, body) in enumerate(mails):
                copy.write_row(
                    (f"<bench-{i}@example.com>", direction, "file", inquiry_id, sender, "", "", subject, body, "",
                     "", "", at, at, b"bench", False, False, "", 0, "", now)
                )  # fmt: skip
        with pg.copy(
            "COPY helpdesk_escalation (inquiry_id, handover_key, target, organization, escalated_at, note, answer, "
            "created_at) FROM STDIN"
        ) as copy:
            for inquiry_id, at in escalations:
                copy.write_row((inquiry_id, _uuid(rng), "internal", "", min(at, now), "確認をお願いします", "", now))
        print(
            f"  COPY {rows:,} inquiries, {len(mails):,} mails, {len(escalations):,} escalations: "
            f"{time.perf_counter() - t0:.1f} s",
            flush=True,
        )
        cursor.execute("SET maintenance_work_mem = '512MB'")
        for indexes in dropped.values():
            for name, definition in indexes:
                t = time.perf_counter()
                cursor.execute(definition)
                print(f"  index {name}: {time.perf_counter() - t:.1f} s", flush=True)
        for table in ("helpdesk_inquiry", "helpdesk_emailmessage", "helpdesk_escalation"):
            cursor.execute(f"ANALYZE {table}")
    return time.perf_counter() - t0


def _uuid(rng: random.Random) -> str:
    import uuid

    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def main() -> int:
    args = parse_args()
    url = bench_database_url(args.db)
    ensure_database(url, recreate=args.recreate)
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    os.environ.pop("REDIS_URL", None)

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, setup_test_environment
    from django.utils import timezone

    from helpdesk.models import EmailMessage, Inquiry, Role
    from tests.factories import UserFactory

    setup_test_environment()  # the test client records the context of each response
    settings.ALLOWED_HOSTS = ["*"]
    print(f"database {args.db} on {urlparse(url).hostname}:{urlparse(url).port}", flush=True)
    call_command("migrate", verbosity=0)
    agents = [UserFactory(username=f"bench_agent{i}", roles=[Role.AGENT]) for i in range(AGENTS)]
    have = Inquiry.objects.count()
    now = timezone.now()
    if have != args.size:
        print(f"generating {args.size:,} inquiries (found {have:,})", flush=True)
        seconds = generate(args.size, [a.pk for a in agents], now)
        print(f"  data ready in {seconds:.1f} s", flush=True)
    else:
        print(f"reusing {have:,} inquiries", flush=True)

    client = Client()
    me = agents[0]
    client.force_login(me)
    rng = random.Random(99)
    with_mail = list(
        EmailMessage.objects.filter(direction="inbound")
        .order_by("?")
        .values_list("inquiry__ref", flat=True)[: args.requests]
    )
    phone = list(
        Inquiry.objects.filter(channel="phone", status__in=["in_progress", "escalated"])
        .order_by("?")
        .values_list("ref", flat=True)[: args.requests]
    )
    pages = (with_mail + phone) or list(Inquiry.objects.values_list("ref", flat=True)[: args.requests])
    cursor_page = client.get("/desk/", {"view": "all"}).context["page"]
    deep = client.get("/desk/", {"view": "all", "received_to": (now - dt.timedelta(days=900)).date().isoformat()})
    deep_cursor = deep.context["page"].next_cursor or cursor_page.next_cursor or ""

    kinds = {
        "queue: mine": lambda i: ("/desk/", {"view": "mine"}),
        "queue: unassigned": lambda i: ("/desk/", {"view": "unassigned"}),
        "queue: due (mail target)": lambda i: ("/desk/", {"view": "due"}),
        "queue: all": lambda i: ("/desk/", {"view": "all"}),
        "queue: all, deep cursor": lambda i: ("/desk/", {"view": "all", "cursor": deep_cursor}),
        "queue: status+channel": lambda i: (
            "/desk/",
            {"view": "all", "status": rng.choice(["in_progress", "answered"]), "channel": "email"},
        ),
        "queue: q=電子証明書": lambda i: ("/desk/", {"view": "all", "q": "電子証明書"}),
        "queue: mine + q=ｴﾗｰ": lambda i: ("/desk/", {"view": "mine", "q": "ｴﾗｰ"}),
        "inquiry page": lambda i: (f"/desk/inquiries/{pages[i % len(pages)]}/", {}),
    }

    client.get("/desk/")  # warm the connection and the roles cache
    results = []
    for kind, request_for in kinds.items():
        timings: list[float] = []
        cpu: list[float] = []
        for i in range(args.requests):
            path, params = request_for(i)
            t, c = time.perf_counter(), time.process_time()
            response = client.get(path, params)
            timings.append((time.perf_counter() - t) * 1000)
            cpu.append((time.process_time() - c) * 1000)
            assert response.status_code == 200, (path, params, response.status_code)
        path, params = request_for(0)
        with CaptureQueriesContext(connection) as ctx:
            client.get(path, params)
        results.append(
            (kind, statistics.median(timings), percentile(timings, 95), percentile(cpu, 95), len(ctx.captured_queries))
        )

    # "cpu" is the Django process's own CPU time (no database, no waiting for a core): on a
    # shared, loaded machine it tells the code's cost apart from the queueing for CPU.
    print()
    print(f"{'page (25 rows a queue page)':<30} {'p50 ms':>8} {'p95 ms':>8} {'cpu p95':>8} {'SQL':>5}")
    print("-" * 64)
    for kind, p50, p95, cpu95, queries in results:
        print(f"{pad(kind, 30)} {p50:>8.1f} {p95:>8.1f} {cpu95:>8.1f} {queries:>5}")
    load = os.getloadavg()[0]
    print(f"load average {load:.1f} on {os.cpu_count()} cores")
    worst = max(r[2] for r in results)
    print(
        f"\n{args.requests} requests per kind, {Inquiry.objects.count():,} inquiries; "
        f"worst p95 {worst:.1f} ms (target < {P95_TARGET_MS:.0f} ms): {'met' if worst < P95_TARGET_MS else 'NOT met'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
