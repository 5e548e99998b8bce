"""CPU per request of bench_load.py's endpoints, one at a time, in-process: the fair figure on
a shared machine, where latencies under load say more about the neighbours than the code.

    eval "$(scripts/services.sh)"
    .venv/bin/python bench/bench_load.py --run-time 15s      # once: fills hd_load
    .venv/bin/python bench/profile_load.py                   # --requests 200 [--profile "detail"]

Runs against bench_load.py's database (`--db`, default hd_load) with the production settings
(DEBUG off, persistent connections, Redis cache `--redis-url`), through Django's test client,
so each request passes the whole middleware stack, token authentication, the view and the
serializer — everything but gunicorn and the socket. For each endpoint of bench/locustfile.py
it prints, per request: the Python CPU of this process (time.process_time, median), the CPU
of the PostgreSQL backend serving it (/proc/<backend pid>/stat: the database runs on this
machine; mean, as it is counted in 10 ms ticks), their sum, the wall time (median), the SQL
queries and how long the request held the audit chain's lock. To compare two versions of the
code on a shared machine, run both at the same time (one from each checkout), so that both
see the same neighbours. `--profile NAME` adds cProfile's top functions
for the endpoints whose name contains NAME.
"""

import argparse
import cProfile
import io
import json
import os
import pstats
import random
import secrets
import statistics
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common import bench_database_url  # noqa: E402 — bench/common.py

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
OPEN = [("status", "in_progress"), ("status", "escalated")]
CATEGORIES = ["send_error", "mynumber_card", "gbizid", "kobunsho", "login", "mac_mobile", "install", "other"]


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--requests", type=int, default=200, help="requests per endpoint")
    p.add_argument("--db", default=os.environ.get("BENCH_LOAD_DB", "hd_load"))
    p.add_argument("--redis-url", default=os.environ.get("BENCH_LOAD_REDIS_URL", "redis://127.0.0.1:6390/15"))
    p.add_argument("--profile", default="", help="cProfile (CPU time) the endpoints whose name contains this")
    p.add_argument("--sort", default="cumulative", help="cProfile sort key (cumulative, tottime)")
    p.add_argument("--lines", type=int, default=45, help="cProfile lines printed per endpoint")
    p.add_argument("--only", default="", help="measure only the endpoints whose name contains this (comma-separated)")
    p.add_argument("--sql", default="", help="print the SQL of one request of the endpoints whose name contains this")
    p.add_argument("--json", action="store_true", help="print the figures as JSON too")
    return p.parse_args()


def backend_cpu_seconds(pid: int) -> float:
    """utime + stime of a process on this machine (the PostgreSQL backend of our connection)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def main() -> int:
    args = parse_args()
    os.environ.update(
        DATABASE_URL=bench_database_url(args.db),
        DJANGO_SETTINGS_MODULE="config.settings.production",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="testserver",
        SECURE_SSL_REDIRECT="false",
        REDIS_URL=args.redis_url,
        LOG_LEVEL="WARNING",
    )
    import django

    django.setup()
    from django.db import connection, transaction
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from helpdesk import audit
    from helpdesk.accounts.tokens import api_token_issue
    from helpdesk.models import Inquiry

    # How long each request holds the audit chain's lock (pg_advisory_xact_lock until the commit):
    # every audit-writing request of every worker waits for it in turn.
    # A transaction that writes two audit rows takes the (reentrant) lock twice: its hold runs
    # from the first to the commit.
    held: list[float] = []
    holding: list[bool] = []
    lock_chain = audit._lock_chain

    def timed_lock_chain() -> None:
        lock_chain()
        if holding:
            return
        holding.append(True)
        start = time.perf_counter()

        def released() -> None:
            held.append(time.perf_counter() - start)
            holding.clear()

        transaction.on_commit(released)

    audit._lock_chain = timed_lock_chain

    User = django.contrib.auth.get_user_model()
    agents = list(User.objects.filter(username__startswith="load_agent").order_by("username")[:20])
    supervisor = User.objects.filter(username__startswith="load_sv").order_by("username").first()
    if not agents or supervisor is None:
        sys.exit(f"no load_agent users in {args.db}: run bench/bench_load.py once first")
    tokens = {u.pk: api_token_issue(user=u)[0] for u in [*agents, supervisor]}
    refs = list(Inquiry.objects.order_by("?").values_list("ref", flat=True)[:500])
    rng = random.Random(7)
    client = Client(HTTP_ACCEPT="application/json")

    def as_user(user) -> dict:
        return {"HTTP_AUTHORIZATION": f"Token {tokens[user.pk]}"}

    def get(path: str, user, params=None):
        return client.get(path, params or {}, **as_user(user))

    def my_queue(user):
        return get("/api/inquiries/", user, _qs([("assigned_to", str(user.pk)), *OPEN, ("page_size", "50")]))

    def mine(user) -> list[str]:
        rows = json.loads(my_queue(user).content)["results"]
        return [r["ref"] for r in rows] or refs

    def patch(user):
        ref = rng.choice(mine(user))
        etag = get(f"/api/inquiries/{ref}/", user)["ETag"]
        body = {"resolution": f"対応メモ {uuid.uuid4().hex[:8]}", "category": rng.choice(CATEGORIES)}
        return ("PATCH", ref, etag, body)

    def reply_target(user) -> str | None:
        params = [("assigned_to", str(user.pk)), ("channel", "email"), *OPEN, ("status", "answered")]
        rows = json.loads(get("/api/inquiries/", user, _qs(params)).content)["results"]
        return rng.choice(rows)["ref"] if rows else None

    kpi_month = "2026-10"
    get(f"/api/kpi/months/{kpi_month}/", supervisor)  # computed once, then cached as under load
    endpoints = {
        "list: my open queue": lambda u: my_queue(u),
        "list: status+channel": lambda u: get(
            "/api/inquiries/",
            u,
            {"status": rng.choice(["in_progress", "escalated", "answered"]), "channel": "email", "page_size": 50},
        ),
        "list: category+unassigned": lambda u: get(
            "/api/inquiries/", u, {"category": rng.choice(CATEGORIES), "unassigned": "true"}
        ),
        "list: received 7 days": lambda u: get(
            "/api/inquiries/",
            u,
            {"received_after": f"2026-10-{(d := rng.randint(1, 20)):02d}", "received_before": f"2026-10-{d + 7:02d}"},
        ),
        "list: q=電子証明書": lambda u: get("/api/inquiries/", u, {"q": "電子証明書", "page_size": 50}),
        "inquiry detail": lambda u: get(f"/api/inquiries/{rng.choice(refs)}/", u),
        "create phone inquiry": lambda u: client.post(
            "/api/inquiries/",
            {
                "channel": "phone",
                "subject": "マイナンバーカードで署名できない",
                "body": "お客様より電話。手順を案内し、解決を確認した。",
                "category": rng.choice(CATEGORIES),
                "requester_name": "負荷 試験",
                "requester_phone": "0312345678",
            },
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex,
            **as_user(u),
        ),
        "PATCH inquiry (If-Match)": None,  # prepared outside the measurement (list + detail)
        "reply (email)": None,
        "KPI month (supervisor)": lambda u: get(f"/api/kpi/months/{kpi_month}/", supervisor),
        "list: escalated (supervisor)": lambda u: get(
            "/api/inquiries/", supervisor, {"status": "escalated", "page_size": 50}
        ),
    }
    expected = {"create phone inquiry": 201, "reply (email)": 201}
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]

    results = {}
    print(f"database {args.db}; {args.requests} requests per endpoint; load average {os.getloadavg()[0]:.2f}")
    print(
        f"\n{'endpoint':<32} {'py CPU ms':>9} {'db CPU ms':>9} {'CPU ms':>7} {'wall ms':>8} {'queries':>8} "
        f"{'lock ms':>8}"
    )
    print("-" * 87)
    for name, call in endpoints.items():
        if args.only and not any(part and part in name for part in args.only.split(",")):
            continue
        py, db, wall, queries, locks = [], [], [], [], []
        profiler = cProfile.Profile(time.process_time) if args.profile and args.profile in name else None
        for n in range(args.requests + 5):
            user = agents[n % len(agents)]
            if name == "PATCH inquiry (If-Match)":
                _, ref, etag, body = patch(user)

                def call(u, ref=ref, etag=etag, body=body):
                    return client.patch(
                        f"/api/inquiries/{ref}/",
                        body,
                        content_type="application/json",
                        HTTP_IF_MATCH=etag,
                        **as_user(u),
                    )
            elif name == "reply (email)":
                ref = reply_target(user)
                if ref is None:
                    continue

                def call(u, ref=ref):
                    return client.post(
                        f"/api/inquiries/{ref}/reply/",
                        {"body": "お問い合わせありがとうございます。\n手順をご案内します。\n"},
                        content_type="application/json",
                        **as_user(u),
                    )

            held.clear()
            db0, py0, wall0 = backend_cpu_seconds(backend), time.process_time(), time.perf_counter()
            if profiler and n >= 5:
                profiler.enable()
            with CaptureQueriesContext(connection) as captured:
                response = call(user)
            if profiler:
                profiler.disable()
            wall1, py1, db1 = time.perf_counter(), time.process_time(), backend_cpu_seconds(backend)
            if response.status_code not in (expected.get(name, 200), 202):
                sys.exit(f"{name}: {response.status_code} {response.content[:300]!r}")
            if args.sql and args.sql in name and n == 5:
                print(f"-- {name}: {len(captured)} queries")
                for q in captured.captured_queries:
                    print("   ", q["sql"][:300])
            if n < 5:
                continue  # warm-up
            py.append((py1 - py0) * 1000)
            db.append((db1 - db0) * 1000)
            wall.append((wall1 - wall0) * 1000)
            queries.append(len(captured))
            locks.append(sum(held) * 1000)
        if not wall:
            print(f"{name:<32} (no request: nothing to reply to)")
            continue
        row = {
            "py_cpu_ms": statistics.median(py),  # medians: a shared machine's noise is in the tail
            "db_cpu_ms": statistics.fmean(db),  # in clock ticks (10 ms): only the mean means anything
            "wall_ms_p50": statistics.median(wall),
            "queries": statistics.fmean(queries),
            "audit_lock_ms": statistics.fmean(locks),
        }
        row["cpu_ms"] = row["py_cpu_ms"] + row["db_cpu_ms"]
        results[name] = row
        print(
            f"{_pad(name, 32)} {row['py_cpu_ms']:>9.2f} {row['db_cpu_ms']:>9.2f} {row['cpu_ms']:>7.2f} "
            f"{row['wall_ms_p50']:>8.2f} {row['queries']:>8.1f} {row['audit_lock_ms']:>8.2f}"
        )
        if profiler:
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats(args.sort).print_stats(args.lines)
            print(out.getvalue())
    weights = _locust_weights()
    if set(results) != set(weights):
        print("-" * 87)
        print(f"(--only: no mix figure) load average after {os.getloadavg()[0]:.2f}")
        return 0
    total = sum(weights[n] for n in results)
    mix = sum(results[n]["cpu_ms"] * weights[n] for n in results) / total
    mix_py = sum(results[n]["py_cpu_ms"] * weights[n] for n in results) / total
    print("-" * 87)
    print(
        f"weighted by the locustfile's mix: {mix_py:.2f} ms Python + {mix - mix_py:.2f} ms PostgreSQL = {mix:.2f} CPU-ms a request"
    )
    print(f"load average after {os.getloadavg()[0]:.2f}")
    if args.json:
        print(json.dumps({"endpoints": results, "mix_cpu_ms": mix}, ensure_ascii=False, indent=1))
    return 0


def _qs(pairs: list[tuple[str, str]]) -> dict:
    """Repeated query parameters (status=a&status=b) as the test client takes them."""
    out: dict[str, list[str]] = {}
    for k, v in pairs:
        out.setdefault(k, []).append(v)
    return out


def _locust_weights() -> dict[str, float]:
    """Requests each endpoint gets under bench_load.py (per agent task weight; the PATCH task also
    lists and reads; supervisors are 5 of 100 users with weights 3/3/2)."""
    agent = {
        "list: my open queue": 30 + 5 + 0,
        "list: status+channel": 10,
        "list: category+unassigned": 6,
        "list: received 7 days": 4,
        "list: q=電子証明書": 10,
        "inquiry detail": 25 + 5,
        "create phone inquiry": 8,
        "PATCH inquiry (If-Match)": 5,
        "reply (email)": 2,
    }
    agent_total = 30 + 10 + 6 + 4 + 10 + 25 + 8 + 5 + 2
    weights = {k: v / agent_total * 95 for k, v in agent.items()}
    weights["list: my open queue"] += 2 / agent_total * 95  # the reply task's own list
    weights["KPI month (supervisor)"] = 3 / 8 * 5
    weights["list: escalated (supervisor)"] = 3 / 8 * 5
    weights["inquiry detail"] += 2 / 8 * 5
    return weights


def _pad(text: str, width: int) -> str:
    import unicodedata

    shown = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    return text + " " * max(width - shown, 0)


if __name__ == "__main__":
    sys.exit(main())
