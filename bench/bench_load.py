"""Load test: 100 agents' mixed traffic against gunicorn + PostgreSQL + Redis on loopback,
p50/p95/p99 per endpoint and the errors. Goal: p95 < 100 ms overall, 0 errors.

    eval "$(scripts/services.sh)"
    .venv/bin/python bench/bench_load.py            # --users 100 --run-time 5m --inquiries 60000
    .venv/bin/python bench/bench_load.py --users 20 --run-time 1m   # quick

1. Prepares its own database (`hd_load` on the DATABASE_URL server): migrated, 100 agents
   and 5 supervisors, `--inquiries` inquiries over five years by bench_inquiry_api.py's COPY
   loader (their open ones assigned to the agents), `--calls` calls in the KPI month, and one
   API token per user issued by the service (`api_token_issue`), not the throttled endpoint.
2. Starts gunicorn with the production settings (a generated SECRET_KEY, no SSL redirect,
   Redis db `--redis-url` for cache and broker, emptied first) on 127.0.0.1, a free port,
   2 × cores + 1 workers.
3. Runs locust headless (bench/locustfile.py) for `--run-time`, then prints the table and
   stops gunicorn. Traffic goes to 127.0.0.1 only.

Exits 0 when the goal is met, 1 otherwise (the figures are printed either way).
"""

import argparse
import csv
import datetime as dt
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unicodedata
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common import bench_database_url, ensure_database  # noqa: E402 — bench/common.py

GOAL_P95_MS = 100
KPI_MONTH = "2026-10"


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--users", type=int, default=100, help="concurrent locust users (agents + supervisors)")
    p.add_argument("--spawn-rate", type=float, default=20)
    p.add_argument("--run-time", default="5m", help="locust's --run-time (e.g. 30s, 5m)")
    p.add_argument("--supervisors", type=int, default=5)
    p.add_argument("--wait", default="1,3", help="think time between two requests of a user, min,max seconds")
    p.add_argument("--inquiries", type=int, default=60_000)
    p.add_argument("--calls", type=int, default=20_000)
    p.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1) + 1)
    p.add_argument("--db", default=os.environ.get("BENCH_LOAD_DB", "hd_load"))
    p.add_argument("--redis-url", default=os.environ.get("BENCH_LOAD_REDIS_URL", "redis://127.0.0.1:6390/15"))
    p.add_argument("--recreate", action="store_true", help="drop and rebuild the bench database")
    return p.parse_args()


def prepare(args: argparse.Namespace, url: str) -> dict:
    """Data and users in the bench database; returns what the locustfile reads."""
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()
    from django.core.management import call_command

    from bench_inquiry_api import generate
    from helpdesk.models import Call, Inquiry, Role
    from helpdesk.services.tokens import api_token_issue
    from tests.factories import CallFactory, UserFactory, tokyo

    call_command("migrate", verbosity=0)
    from django.contrib.auth import get_user_model

    User = get_user_model()

    def staff(name: str, role: str):
        user = User.objects.filter(username=name).first()
        return user or UserFactory(username=name, roles=[role])

    agents = [staff(f"load_agent{i:03d}", Role.AGENT) for i in range(max(args.users, 100))]
    supervisors = [staff(f"load_sv{i}", Role.SUPERVISOR) for i in range(max(args.supervisors, 1))]
    have = Inquiry.objects.count()
    if have < args.inquiries:
        print(f"generating {args.inquiries:,} inquiries (found {have:,})", flush=True)
        seconds = generate(args.inquiries, [a.pk for a in agents])
        print(f"  inquiries ready in {seconds:.1f} s", flush=True)
    else:
        print(f"reusing {have:,} inquiries", flush=True)
    have = Call.objects.count()
    if have < args.calls:
        t = time.perf_counter()
        start = tokyo(2026, 10, 1, 9, 0)
        step = (31 * 86400 - 10 * 3600) / args.calls
        batch = [
            CallFactory.build(call_id=f"load-{n:08d}", arrived_at=start + dt.timedelta(seconds=n * step))
            for n in range(have, args.calls)
        ]
        Call.objects.bulk_create(batch, batch_size=2000)
        print(f"  {len(batch):,} calls in {time.perf_counter() - t:.1f} s", flush=True)
    else:
        print(f"reusing {have:,} calls", flush=True)

    refs = list(Inquiry.objects.order_by("?").values_list("ref", flat=True)[:2000])
    tokens = {u.pk: api_token_issue(user=u)[0] for u in [*agents, *supervisors]}
    return {
        "agents": [{"id": u.pk, "token": tokens[u.pk]} for u in agents],
        "supervisors": [{"id": u.pk, "token": tokens[u.pk]} for u in supervisors],
        "refs": refs,
        "kpi_month": KPI_MONTH,
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(base: str, server: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"gunicorn exited with {server.returncode}; see its log above")
        try:
            urllib.request.urlopen(f"{base}/api/inquiries/", timeout=2)
            return
        except urllib.error.HTTPError:
            return  # 401: up and answering
        except OSError:
            time.sleep(0.3)
    sys.exit(f"gunicorn did not answer on {base} within {timeout:.0f} s")


def pad(text: str, width: int) -> str:
    """Left-align in a terminal where CJK characters take two columns."""
    shown = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    return text + " " * max(width - shown, 0)


def report(stats_csv: Path, failures_csv: Path, load_before: tuple, load_after: tuple) -> bool:
    with stats_csv.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    print()
    print(f"{'endpoint':<34} {'requests':>9} {'errors':>7} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'max ms':>7}")
    print("-" * 84)
    total = None
    for row in rows:
        line = (
            f"{int(row['Request Count']):>9,} {int(row['Failure Count']):>7} {row['50%']:>7} {row['95%']:>7} "
            f"{row['99%']:>7} {float(row['Max Response Time']):>7.0f}"
        )
        if row["Name"] == "Aggregated":
            total = row
            print("-" * 84)
            print(f"{pad('all', 34)} {line}")
        else:
            print(f"{pad(row['Name'], 34)} {line}")
    if total is None:
        print("locust wrote no aggregate: no request was made")
        return False
    with failures_csv.open(encoding="utf-8") as fh:
        failures = list(csv.DictReader(fh))
    for f in failures[:10]:
        print(f"  error ×{f['Occurrences']}: {f['Method']} {f['Name']}: {f['Error'][:160]}")
    p95 = float(total["95%"])
    errors = int(total["Failure Count"])
    print(
        f"\n{int(total['Request Count']):,} requests, {float(total['Requests/s']):.1f}/s; overall p95 {p95:.0f} ms, "
        f"{errors} errors; load average before {load_before[0]:.2f}, after {load_after[0]:.2f} "
        f"(1/5/15 min: {' '.join(f'{x:.2f}' for x in load_after)}) on {os.cpu_count()} cores"
    )
    met = p95 < GOAL_P95_MS and errors == 0
    print(f"goal p95 < {GOAL_P95_MS} ms and 0 errors: {'MET' if met else 'NOT MET'}")
    return met


def main() -> int:
    args = parse_args()
    url = bench_database_url(args.db)
    ensure_database(url, recreate=args.recreate)
    print(f"database {args.db}; preparing", flush=True)
    data = prepare(args, url)

    import redis

    redis.Redis.from_url(args.redis_url).flushdb()  # the bench's own db: a cold KPI cache, no stale tasks
    work = Path(tempfile.mkdtemp(prefix="bench_load_"))
    users_json = work / "users.json"
    users_json.write_text(json.dumps(data), encoding="utf-8")
    users_json.chmod(0o600)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DATABASE_URL": url,
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "REDIS_URL": args.redis_url,
        "MEDIA_ROOT": str(work / "media"),
    }
    bin_dir = Path(sys.executable).parent
    server = subprocess.Popen(
        [str(bin_dir / "gunicorn"), "config.wsgi", "-b", f"127.0.0.1:{port}", "-w", str(args.workers), "--log-level", "warning"],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    try:
        wait_until_up(base, server)
        print(f"gunicorn on {base}, {args.workers} workers; locust {args.users} users for {args.run_time}", flush=True)
        load_before = os.getloadavg()
        prefix = work / "locust"
        locust_env = {
            **os.environ,
            "BENCH_LOAD_USERS": str(users_json),
            "BENCH_LOAD_SUPERVISORS": str(min(args.supervisors, args.users - 1)),
            "BENCH_LOAD_WAIT": args.wait,
        }
        subprocess.run(
            [
                sys.executable, "-m", "locust", "-f", str(ROOT / "bench" / "locustfile.py"), "--headless",
                "-u", str(args.users), "-r", str(args.spawn_rate), "--run-time", args.run_time,
                "--host", base, "--csv", str(prefix), "--only-summary", "--loglevel", "WARNING",
                "--stop-timeout", "10",
            ],
            cwd=ROOT,
            env=locust_env,
            check=False,
            timeout=_seconds(args.run_time) + 120,
        )  # fmt: skip
        load_after = os.getloadavg()
        met = report(Path(f"{prefix}_stats.csv"), Path(f"{prefix}_failures.csv"), load_before, load_after)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        shutil.rmtree(work, ignore_errors=True)
        redis.Redis.from_url(args.redis_url).flushdb()
    return 0 if met else 1


def _seconds(run_time: str) -> int:
    """locust's run time ("90", "30s", "5m", "1h30m") in seconds."""
    total, number = 0, ""
    for ch in run_time:
        if ch.isdigit():
            number += ch
        else:
            total += int(number or 0) * {"h": 3600, "m": 60, "s": 1}[ch]
            number = ""
    return total + int(number or 0)


if __name__ == "__main__":
    sys.exit(main())
