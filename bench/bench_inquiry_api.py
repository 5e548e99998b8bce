"""Inquiry API on 1 M inquiries in PostgreSQL: p50/p95 per request kind and SQL queries
per request (must not grow with page size).

    eval "$(scripts/services.sh)"
    .venv/bin/python bench/bench_inquiry_api.py [--rows 1000000] [--requests 50] [--recreate]

Uses its own database (`helpdesk_bench` on the DATABASE_URL server), migrated here and
filled with COPY (indexes dropped during the load and rebuilt after). A second run reuses
the data when the row count already matches. Requests go through the DRF test client
in-process: the figures are server-side time, without the network.
"""

import argparse
import base64
import datetime as dt
import json
import os
import random
import statistics
import sys
import time
import unicodedata
from pathlib import Path
from urllib.parse import urlencode, urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common import bench_database_url, ensure_database  # noqa: E402 — bench/common.py

TOKYO = dt.timezone(dt.timedelta(hours=9))
CATEGORIES = ["send_error", "mynumber_card", "gbizid", "kobunsho", "login", "mac_mobile", "install", "other"]
STATUSES = ["new", "in_progress", "escalated", "answered", "resolved", "closed"]
STATUS_WEIGHTS = [2, 3, 1, 2, 60, 32]
CHANNELS = ["phone", "email", "form"]
CHANNEL_WEIGHTS = [70, 22, 8]
NAMES = ["山田 太郎", "佐藤 花子", "鈴木 一郎", "高橋 美咲", "田中 健", "伊藤 由美"]


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--requests", type=int, default=50, help="requests per kind")
    p.add_argument("--db", default="helpdesk_bench")
    p.add_argument("--recreate", action="store_true", help="drop and rebuild the bench database")
    return p.parse_args()


def load_texts() -> list[tuple[str, str]]:
    rows = (ROOT / "helpdesk" / "demo_data" / "inquiries_dev.jsonl").read_text(encoding="utf-8").splitlines()
    return [(r["subject"], r["body"]) for r in map(json.loads, filter(None, rows))]


def generate(rows: int, user_ids: list[int]) -> float:
    """COPY `rows` inquiries over five years into helpdesk_inquiry; returns seconds."""
    from django.db import connection

    texts = load_texts()
    rng = random.Random(1234)
    start = dt.datetime(2021, 11, 1, tzinfo=TOKYO)
    span = int((dt.datetime(2026, 11, 1, tzinfo=TOKYO) - start).total_seconds())
    step = span / rows
    alphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
    t0 = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE helpdesk_inquiry RESTART IDENTITY CASCADE")
        cursor.execute(
            """SELECT i.indexname, i.indexdef FROM pg_indexes i
               WHERE i.tablename = 'helpdesk_inquiry' AND NOT EXISTS (
                 SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)"""
        )
        indexes = cursor.fetchall()
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        pg = cursor.cursor  # the psycopg cursor underneath
        columns = (
            "ref, channel, status, category, subject, body, resolution, ministry_guidance, requester_name, "
            "requester_email, requester_phone, requester_organization, assigned_to_id, received_at, "
            "first_answered_at, resolved_at, version, created_at, updated_at, idempotency_key"
        )
        now = dt.datetime.now(tz=TOKYO)
        with pg.copy(f"COPY helpdesk_inquiry ({columns}) FROM STDIN") as copy:
            for n in range(rows):
                received = start + dt.timedelta(seconds=int(n * step + rng.random() * step))
                subject, body = texts[rng.randrange(len(texts))]
                status = rng.choices(STATUSES, STATUS_WEIGHTS)[0]
                answered = received + dt.timedelta(minutes=rng.randint(1, 600))
                done = status in ("resolved", "closed")
                ref = f"EG-{received:%Y%m%d}-" + "".join(rng.choice(alphabet) for _ in range(6)) + f"{n:07d}"
                copy.write_row(
                    (
                        ref,
                        rng.choices(CHANNELS, CHANNEL_WEIGHTS)[0],
                        status,
                        rng.choice(CATEGORIES),
                        f"{subject}（{n % 997}）",
                        body,
                        "",
                        False,
                        rng.choice(NAMES),
                        f"citizen{n}@example.com",
                        f"090{n:08d}",
                        "",
                        rng.choice(user_ids) if status != "new" else None,
                        received,
                        answered if status != "new" else None,
                        answered if done else None,
                        1,
                        now,
                        now,
                        "",
                    )
                )
        load = time.perf_counter() - t0
        print(f"  COPY {rows:,} rows: {load:.1f} s", flush=True)
        cursor.execute("SET maintenance_work_mem = '512MB'")
        for name, definition in indexes:
            t = time.perf_counter()
            cursor.execute(definition)
            print(f"  index {name}: {time.perf_counter() - t:.1f} s", flush=True)
        cursor.execute("VACUUM (ANALYZE) helpdesk_inquiry") if connection.connection.autocommit else cursor.execute(
            "ANALYZE helpdesk_inquiry"
        )
    return time.perf_counter() - t0


def cursor_for(received_at: dt.datetime) -> str:
    """A DRF cursor pointing into the middle of the list (what `next` links look like)."""
    token = urlencode({"p": str(received_at)})
    return base64.b64encode(token.encode("ascii")).decode("ascii")


def pad(text: str, width: int) -> str:
    """Left-align in a terminal where CJK characters take two columns."""
    shown = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    return text + " " * max(width - shown, 0)


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def main() -> int:
    args = parse_args()
    url = bench_database_url(args.db)
    ensure_database(url, recreate=args.recreate)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from rest_framework.test import APIClient

    from helpdesk.models import Inquiry, Role
    from tests.factories import UserFactory

    settings.ALLOWED_HOSTS = ["*"]
    print(f"database {args.db} on {urlparse(url).hostname}:{urlparse(url).port}", flush=True)
    call_command("migrate", verbosity=0)
    agents = [UserFactory(username=f"bench_agent{i}", roles=[Role.AGENT]) for i in range(20)]
    have = Inquiry.objects.count()
    if have != args.rows:
        print(f"generating {args.rows:,} inquiries (found {have:,})", flush=True)
        seconds = generate(args.rows, [a.pk for a in agents])
        print(f"  data ready in {seconds:.1f} s", flush=True)
    else:
        print(f"reusing {have:,} inquiries", flush=True)

    client = APIClient()
    me = agents[0]
    client.force_authenticate(me)
    rng = random.Random(99)
    received = list(
        Inquiry.objects.order_by("?").values_list("received_at", flat=True)[: args.requests]
    )  # random positions for deep cursors and ranges
    weeks = [r - dt.timedelta(days=7) for r in received]

    kinds = {
        "first page": lambda i: {},
        "deep cursor page": lambda i: {"cursor": cursor_for(received[i])},
        "filter status+channel": lambda i: {
            "status": rng.choice(["in_progress", "escalated", "answered"]),
            "channel": rng.choice(["email", "form"]),
        },
        "received range (7 days)": lambda i: {
            "received_after": weeks[i].isoformat(),
            "received_before": received[i].isoformat(),
        },
        "agent's open queue": lambda i: {"assigned_to": agents[i % 20].pk, "status": ["in_progress", "escalated"]},
        "q=電子証明書 (3+ chars)": lambda i: {"q": "電子証明書"},
        "q=ﾏｲﾅﾝﾊﾞｰ (half-width)": lambda i: {"q": "ﾏｲﾅﾝﾊﾞｰ"},
        "q=申請 (2 chars)": lambda i: {"q": "申請"},
        "q=rare term (no hit)": lambda i: {"q": "存在しない語句ですよ"},
        "q + status + range": lambda i: {
            "q": "エラー",
            "status": "resolved",
            "received_after": weeks[i].isoformat(),
            "received_before": received[i].isoformat(),
        },
    }

    client.get("/api/inquiries/", {"page_size": 1})  # warm connection, roles cache
    rows = []
    for kind, params_for in kinds.items():
        timings: list[float] = []
        queries: dict[int, int] = {}
        for i in range(args.requests):
            params = {"page_size": 50, **params_for(i)}
            t = time.perf_counter()
            response = client.get("/api/inquiries/", params)
            timings.append((time.perf_counter() - t) * 1000)
            assert response.status_code == 200, response.content[:300]
        for size in (10, 100):
            with CaptureQueriesContext(connection) as ctx:
                response = client.get("/api/inquiries/", {**params_for(0), "page_size": size})
            assert response.status_code == 200
            queries[size] = len(ctx.captured_queries)
        rows.append((kind, statistics.median(timings), percentile(timings, 95), queries[10], queries[100]))

    print()
    print(f"{'request (page_size 50)':<28} {'p50 ms':>8} {'p95 ms':>8} {'SQL@10':>7} {'SQL@100':>8}")
    print("-" * 64)
    for kind, p50, p95, q10, q100 in rows:
        print(f"{pad(kind, 28)} {p50:>8.1f} {p95:>8.1f} {q10:>7} {q100:>8}")
    constant = all(q10 == q100 for *_, q10, q100 in rows)
    print(
        f"\n{args.requests} requests per kind, {Inquiry.objects.count():,} inquiries; "
        f"queries per request constant across page sizes: {'yes' if constant else 'NO'}"
    )
    return 0 if constant else 1


if __name__ == "__main__":
    sys.exit(main())
