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
   as production runs it: cores + 1 gthread workers × 4 threads, keep-alive 10 s (`--workers`,
   `--threads`, `--keep-alive`; `--worker-class sync --workers 5 --threads 1` for sync workers,
   which close the connection after every response).
3. Runs locust headless (bench/locustfile.py, `--client fast`: FastHttpUser; `requests`:
   HttpUser) for `--run-time`, then prints the table, the server's and locust's own CPU per
   request, and stops gunicorn. Traffic goes to 127.0.0.1 only.

Exits 0 when the goal is met, 1 otherwise (the figures are printed either way).
"""

import argparse
import csv
import datetime as dt
import json
import os
import resource
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
    # The documented production set-up (docs/operations.md, "Gunicorn's worker class"): cores + 1
    # threaded workers × 4 threads, connections kept alive longer than a client's pause.
    # Sync workers to compare: --worker-class sync --workers 5 --threads 1.
    p.add_argument("--workers", type=int, default=(os.cpu_count() or 1) + 1)
    p.add_argument("--worker-class", default="gthread", help="gunicorn's --worker-class (gthread, sync)")
    p.add_argument(
        "--threads", type=int, default=4, help="gunicorn's --threads per worker (above 1, gunicorn runs gthread)"
    )
    p.add_argument(
        "--keep-alive",
        type=int,
        default=10,
        help="gunicorn's --keep-alive seconds (gthread; longer than the think time, or idle connections close under locust)",
    )
    p.add_argument(
        "--client",
        default="fast",
        choices=["fast", "requests"],
        help="locust's HTTP client: FastHttpUser (geventhttpclient) or HttpUser (python-requests)",
    )
    p.add_argument(
        "--locust-python",
        default=os.environ.get("BENCH_LOCUST_PYTHON", sys.executable),
        help="the Python that runs locust (default: this one; `pip install -e '.[bench]'` installs it)",
    )
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
    from bench_inquiry_api import generate
    from django.core.management import call_command

    from helpdesk.accounts.tokens import api_token_issue
    from helpdesk.models import Call, Inquiry, Role
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


def warm_up(base: str, data: dict, workers: int) -> None:
    """A few requests per worker before measuring: the first request of a worker imports the
    views and opens its database connection (seconds on a busy machine), which a server
    that has been up for a while has long done."""
    token = data["agents"][0]["token"]
    for n in range(10 * workers):
        path = "/api/inquiries/?page_size=10" if n % 2 else f"/api/inquiries/{data['refs'][n]}/"
        request = urllib.request.Request(base + path, headers={"Authorization": f"Token {token}"})
        urllib.request.urlopen(request, timeout=30).read()


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process on this machine, 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_cpu(server: subprocess.Popen, url: str) -> tuple[dict[int, float], dict[int, float]]:
    """CPU seconds so far of each gunicorn worker and of each PostgreSQL backend serving the
    bench database: the fair figure on a shared machine is their growth per request."""
    import psycopg

    try:
        children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    except OSError:
        children = []
    with psycopg.connect(url, autocommit=True) as conn:
        backends = [
            pid
            for (pid,) in conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ]
    return {int(pid): cpu_seconds(int(pid)) for pid in children}, {pid: cpu_seconds(pid) for pid in backends}


def cpu_growth(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds spent between two samples (a process that appeared in between counts whole)."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def pad(text: str, width: int) -> str:
    """Left-align in a terminal where CJK characters take two columns."""
    shown = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    return text + " " * max(width - shown, 0)


def percentile(histogram: dict[int, int], pct: float) -> float:
    """The response time below which `pct` % of the requests fall, from locust's histogram
    (milliseconds rounded to 2 significant digits above 100 ms, as its own tables)."""
    total = sum(histogram.values())
    need, seen = pct / 100 * total, 0
    for ms in sorted(histogram):
        seen += histogram[ms]
        if seen >= need:
            return ms
    return max(histogram, default=0)


def report(
    stats_json: Path, load_before: tuple, load_after: tuple, cpu: tuple[float, float, float], client: str
) -> bool:
    entries = json.loads(stats_json.read_text(encoding="utf-8"))
    print()
    print(f"{'endpoint':<34} {'requests':>9} {'errors':>7} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'max ms':>7}")
    print("-" * 84)
    everything: dict[int, int] = {}
    requests = errors = 0
    slowest = 0.0
    errors_by_kind: dict[str, dict] = {}
    for entry in sorted(entries, key=lambda e: e["name"]):
        histogram = {int(float(k)): v for k, v in entry["response_times"].items()}
        for ms, n in histogram.items():
            everything[ms] = everything.get(ms, 0) + n
        requests += entry["num_requests"]
        errors += entry["num_failures"]
        slowest = max(slowest, entry["max_response_time"] or 0)
        print(
            f"{pad(entry['name'], 34)} {entry['num_requests']:>9,} {entry['num_failures']:>7} "
            f"{percentile(histogram, 50):>7.0f} {percentile(histogram, 95):>7.0f} {percentile(histogram, 99):>7.0f} "
            f"{entry['max_response_time'] or 0:>7.0f}"
        )
        if entry["num_failures"]:
            errors_by_kind[entry["name"]] = entry
    print("-" * 84)
    p95 = percentile(everything, 95)
    print(
        f"{pad('all', 34)} {requests:>9,} {errors:>7} {percentile(everything, 50):>7.0f} {p95:>7.0f} "
        f"{percentile(everything, 99):>7.0f} {slowest:>7.0f}"
    )
    if not requests:
        print("no request was made")
        return False
    seconds = max((e["last_request_timestamp"] or 0) for e in entries) - min((e["start_time"] or 0) for e in entries)
    print(
        f"\n{requests:,} requests in {seconds:.0f} s ({requests / max(seconds, 1):.1f}/s); overall p95 {p95:.0f} ms, "
        f"{errors} errors; load average before {load_before[0]:.2f}, after (1/5/15 min) "
        f"{' '.join(f'{x:.2f}' for x in load_after)} on {os.cpu_count()} cores"
    )
    web_cpu, db_cpu, client_cpu = cpu
    print(
        f"server CPU per request: {web_cpu / requests * 1000:.1f} ms gunicorn + {db_cpu / requests * 1000:.1f} ms "
        f"PostgreSQL = {(web_cpu + db_cpu) / requests * 1000:.1f} ms ({web_cpu + db_cpu:.0f} CPU-s in {seconds:.0f} s)"
    )
    print(
        f"client CPU per request: {client_cpu / requests * 1000:.1f} ms locust ({client}; {client_cpu:.0f} CPU-s, "
        "on the same cores as the server)"
    )
    failures_csv = stats_json.with_name(stats_json.stem + "_failures.csv")
    if failures_csv.exists():
        with failures_csv.open(encoding="utf-8") as fh:
            for f in list(csv.DictReader(fh))[:10]:
                print(f"  error ×{f['Occurrences']}: {f['Method']} {f['Name']}: {f['Error'][:160]}")
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
        [
            str(bin_dir / "gunicorn"),
            "config.wsgi",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            str(args.workers),
            "--worker-class",
            args.worker_class,
            "--threads",
            str(args.threads),
            "--keep-alive",
            str(args.keep_alive),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    try:
        wait_until_up(base, server)
        print(
            f"gunicorn on {base}, {args.workers} {args.worker_class} workers × {args.threads} threads; "
            f"locust {args.users} users for {args.run_time}",
            flush=True,
        )
        warm_up(base, data, args.workers)
        load_before = os.getloadavg()
        web_before, db_before = server_cpu(server, url)
        prefix = work / "locust"
        locust_env = {
            **os.environ,
            "BENCH_LOAD_USERS": str(users_json),
            "BENCH_LOAD_SUPERVISORS": str(min(args.supervisors, args.users - 1)),
            "BENCH_LOAD_WAIT": args.wait,
            "BENCH_LOAD_CLIENT": args.client,
        }
        # locust's own CPU: the growth of the waited-for children's (locust is the only child
        # waited for meanwhile; gunicorn is waited for after the report).
        children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run(
            [
                args.locust_python, "-m", "locust", "-f", str(ROOT / "bench" / "locustfile.py"), "--headless",
                "-u", str(args.users), "-r", str(args.spawn_rate), "--run-time", args.run_time,
                "--host", base, "--json-file", str(prefix), "--csv", str(prefix), "--only-summary", "--loglevel", "ERROR",
                "--stop-timeout", "10",
            ],
            cwd=ROOT,
            env=locust_env,
            check=False,
            timeout=_seconds(args.run_time) + 120,
            stdout=subprocess.DEVNULL,  # its own summary; the table below is the report
        )  # fmt: skip
        children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
        load_after = os.getloadavg()
        web_after, db_after = server_cpu(server, url)
        client_cpu = sum(getattr(children_after, f) - getattr(children_before, f) for f in ("ru_utime", "ru_stime"))
        cpu = (cpu_growth(web_before, web_after), cpu_growth(db_before, db_after), client_cpu)
        met = report(Path(f"{prefix}.json"), load_before, load_after, cpu, client=args.client)
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
