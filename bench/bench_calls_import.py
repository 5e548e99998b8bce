"""Phone import throughput and memory on PostgreSQL, against PostgreSQL's own COPY.

    eval "$(scripts/services.sh)"
    .venv/bin/python bench/bench_calls_import.py [--rows 1000000] [--no-asterisk] [--no-double] [--rounds N]

Generates into /tmp (or $CALLS_BENCH_TMP) a generic call CSV of --rows rows and an Asterisk queue_log +
Master.csv pair of about the same number of lines, creates a fresh database
`helpdesk_bench_calls` on the DATABASE_URL server and migrates it, then measures, each in
its own process (so peak RSS is that run's own):

  * COPY of the same files into bare tables (no indexes, no checks): the practical limit;
  * COPY of the generic file into a table with the calls table's indexes, by one and by two
    connections (the import writes with two): what index maintenance alone costs — the
    floor under any import into that table;
  * `import_calls` (the real service: parse, validate, hash, bulk upsert, rejects, progress)
    into an empty calls table, then the same file again (every row unchanged);
  * the same on a file twice the size (peak RSS must not grow: the file is streamed).

Prints rows/s and peak RSS for each and the ratio to COPY. Goal: ≥ 1/3 of COPY's rate.

With --rounds N, then N interleaved rounds (order alternating) of the three that the bars
are about: the two-connection indexed COPY (the floor), the new import and the unchanged
re-import; prints the median of each ratio to the floor — the re-import's goal ≤ 1.5×, the
new import's ≤ 2× — with every round's figures.

With --asterisk-rounds N, N rounds of the Asterisk pair against its bare COPY: the steps of
--asterisk-steps (the SQL path, the floor under its writes, the Python path, the bounds of the
proposed in-run split), each with its wall time and its CPU seconds (client + PostgreSQL backend).
"""

import argparse
import datetime as dt
import json
import os
import random
import resource
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
# The source tree whose code a child imports: this one, or --baseline's (spawn sets it).
ROOT = Path(os.environ.get("CALLS_BENCH_ROOT") or BENCH.parent)
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(ROOT))

from common import bench_database_url, django_setup, ensure_database  # noqa: E402

TOKYO = dt.timezone(dt.timedelta(hours=9))
DB_NAME = os.environ.get("CALLS_BENCH_DB", "helpdesk_bench_calls")
START = dt.datetime(2026, 10, 1, 9, 0, tzinfo=TOKYO)


# --- data ---------------------------------------------------------------------------------


def generate_generic(path: Path, rows: int) -> None:
    """A month of calls at national scale: ~75 % answered, the rest spread over every other
    outcome, naive Tokyo times, 1 % of rows contradictory (rejected)."""
    if path.exists():
        return
    rnd = random.Random(rows)
    with path.open("w", buffering=1 << 20) as out:
        out.write("call_id,arrived_at,caller,outcome,queue,queued_at,answered_at,ended_at,agent,acw_seconds\n")
        for i in range(rows):
            arrived = START + dt.timedelta(seconds=i * 2)
            a = arrived.strftime("%Y-%m-%d %H:%M:%S")
            caller = f"03{rnd.randrange(10**8):08d}"
            roll = rnd.random()
            if roll < 0.01:
                out.write(f"gen-{i},{a},{caller},answered,egov,,,,op01,\n")  # answered without times
                continue
            q = (arrived + dt.timedelta(seconds=20)).strftime("%Y-%m-%d %H:%M:%S")
            if roll < 0.76:
                ans = arrived + dt.timedelta(seconds=20 + rnd.randrange(120))
                end = ans + dt.timedelta(seconds=60 + rnd.randrange(900))
                acw = str(rnd.randrange(300)) if roll < 0.3 else ""
                out.write(
                    f"gen-{i},{a},{caller},answered,egov,{q},{ans:%Y-%m-%d %H:%M:%S},"
                    f"{end:%Y-%m-%d %H:%M:%S},op{rnd.randrange(1, 80):02d},{acw}\n"
                )
            elif roll < 0.86:
                end = arrived + dt.timedelta(seconds=15)
                out.write(f"gen-{i},{a},{caller},ivr_abandoned,,,,{end:%Y-%m-%d %H:%M:%S},,\n")
            elif roll < 0.96:
                kind = ("queue_abandoned", "queue_timeout", "queue_exit_key", "queue_empty")[i % 4]
                end = arrived + dt.timedelta(seconds=20 + rnd.randrange(600))
                out.write(f"gen-{i},{a},{caller},{kind},egov,{q},,{end:%Y-%m-%d %H:%M:%S},,\n")
            else:
                end = arrived + dt.timedelta(seconds=30)
                out.write(f"gen-{i},{a},{caller},out_of_hours,,,,{end:%Y-%m-%d %H:%M:%S},,\n")


def generate_asterisk(qlog: Path, master: Path, lines: int) -> None:
    """Calls as Asterisk writes them: ENTERQUEUE/CONNECT/COMPLETE* (answered), ENTERQUEUE/
    ABANDON…, IVR-only calls in the CDR; member pauses; CDR in 18 columns, local time."""
    if qlog.exists() and master.exists():
        return
    rnd = random.Random(lines)
    written = 0
    epoch0 = int(START.timestamp())
    with qlog.open("w", buffering=1 << 20) as q, master.open("w", buffering=1 << 20) as m:
        i = 0
        while written < lines:
            t = epoch0 + i * 3
            uid = f"{t}.{i}"
            caller = f"03{rnd.randrange(10**8):08d}"
            roll = rnd.random()
            start = dt.datetime.fromtimestamp(t, TOKYO)
            if roll < 0.1:  # IVR abandon: CDR only
                end = start + dt.timedelta(seconds=25)
                ctx, app = "ivr-1", "BackGround"
            else:
                ctx, app = "ext-queues", "Queue"
                q.write(f"{t + 10}|{uid}|egov|NONE|ENTERQUEUE||{caller}|1\n")
                written += 1
                if roll < 0.8:
                    hold = rnd.randrange(5, 90)
                    talk = rnd.randrange(60, 900)
                    agent = f"op{rnd.randrange(1, 80):02d}"
                    q.write(f"{t + 10 + hold}|{uid}|egov|{agent}|CONNECT|{hold}|{t + 5}.{i}|3\n")
                    q.write(f"{t + 10 + hold + talk}|{uid}|egov|{agent}|COMPLETECALLER|{hold}|{talk}|1\n")
                    written += 2
                    end = start + dt.timedelta(seconds=10 + hold + talk)
                else:
                    wait = rnd.randrange(5, 300)
                    q.write(f"{t + 10 + wait}|{uid}|egov|NONE|ABANDON|1|1|{wait}\n")
                    written += 1
                    end = start + dt.timedelta(seconds=10 + wait)
                if i % 50 == 0:
                    q.write(f"{t + 11}|NONE|egov|op{i % 80:02d}|PAUSE|ACW\n")
                    written += 1
            m.write(
                f'"","{caller}","0570000000","{ctx}","""{caller}"" <{caller}>","SIP/trunk-{i:08x}","","{app}",'
                f'"egov,t","{start:%Y-%m-%d %H:%M:%S}","{start:%Y-%m-%d %H:%M:%S}","{end:%Y-%m-%d %H:%M:%S}",'
                f'{int((end - start).total_seconds())},{int((end - start).total_seconds())},"ANSWERED","DOCUMENTATION","{uid}",""\n'
            )
            written += 1
            i += 1
        q.write(f"{epoch0 + i * 3 + 100000}|NONE|NONE|NONE|QUEUESTART|\n")


def count_lines(path: Path) -> int:
    n = 0
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            n += chunk.count(b"\n")
    return n


# --- children: each measured in its own process -------------------------------------------


def backend_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a PostgreSQL backend on this machine, from /proc: on a
    shared machine wall time is mostly waiting; CPU time is the work."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def client_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class CpuClock:
    """Client and backend CPU seconds spent between start() and stop()."""

    def __init__(self, backend_pid: int) -> None:
        self.pid = backend_pid

    def start(self) -> None:
        self.client, self.backend = client_cpu(), backend_cpu(self.pid)

    def stop(self) -> dict:
        return {"client_cpu": client_cpu() - self.client, "backend_cpu": backend_cpu(self.pid) - self.backend}


def child_copy(url: str, kind: str, files: list[str]) -> dict:
    import psycopg

    rows = 0
    t0 = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        if kind == "generic":
            conn.execute(
                "DROP TABLE IF EXISTS bare_calls; CREATE TABLE bare_calls (call_id text, arrived_at timestamptz, "
                "caller text, outcome text, queue text, queued_at timestamptz, answered_at timestamptz, "
                "ended_at timestamptz, agent text, acw_seconds integer)"
            )
            t0 = time.perf_counter()
            sql = "COPY bare_calls FROM STDIN WITH (FORMAT csv, HEADER true)"
            with conn.cursor() as cur, cur.copy(sql) as copy, open(files[0], "rb") as f:
                while chunk := f.read(1 << 20):
                    copy.write(chunk)
            rows = conn.execute("SELECT count(*) FROM bare_calls").fetchone()[0]
        elif kind in ("indexed", "indexed2"):
            # The same COPY into a table with helpdesk_call's columns and indexes (no checks):
            # what index maintenance alone costs; "indexed2" by two connections at once (each
            # half the lines), as the import writes.
            conn.execute(
                "DROP TABLE IF EXISTS indexed_calls; "
                "CREATE TABLE indexed_calls (LIKE helpdesk_call INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING INDEXES); "
                "ALTER TABLE indexed_calls ALTER in_service_hours DROP NOT NULL, ALTER source DROP NOT NULL, "
                "ALTER content_hash DROP NOT NULL, ALTER created_at DROP NOT NULL, ALTER updated_at DROP NOT NULL, "
                "ALTER caller DROP NOT NULL, ALTER queue DROP NOT NULL, ALTER agent DROP NOT NULL"
            )
            sql = (
                "COPY indexed_calls (call_id, arrived_at, caller, outcome, queue, queued_at, answered_at, ended_at, "
                "agent, acw_seconds) FROM STDIN WITH (FORMAT csv, HEADER {})"
            )
            if kind == "indexed":
                t0 = time.perf_counter()
                with conn.cursor() as cur, cur.copy(sql.format("true")) as copy, open(files[0], "rb") as f:
                    while chunk := f.read(1 << 20):
                        copy.write(chunk)
            else:
                data = Path(files[0]).read_bytes()
                body = data[data.index(b"\n") + 1 :]
                middle = body.index(b"\n", len(body) // 2) + 1
                halves = (body[:middle], body[middle:])

                backends: list[float] = []

                def copy_half(half: bytes) -> None:
                    with psycopg.connect(url, autocommit=True) as c:
                        with c.cursor() as cur, cur.copy(sql.format("false")) as copy:
                            for at in range(0, len(half), 1 << 20):
                                copy.write(half[at : at + (1 << 20)])
                        backends.append(backend_cpu(c.info.backend_pid))  # (a backend of its own)

                client = client_cpu()
                t0 = time.perf_counter()
                threads = [threading.Thread(target=copy_half, args=(h,)) for h in halves]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
                seconds = time.perf_counter() - t0
                cpu = {"client_cpu": client_cpu() - client, "backend_cpu": sum(backends)}
                rows = conn.execute("SELECT count(*) FROM indexed_calls").fetchone()[0]
                conn.execute("DROP TABLE indexed_calls")
                return {"seconds": seconds, "rows": rows, **cpu}
            rows = conn.execute("SELECT count(*) FROM indexed_calls").fetchone()[0]
            conn.execute("DROP TABLE indexed_calls")
        else:
            conn.execute(
                "DROP TABLE IF EXISTS bare_qlog, bare_cdr; CREATE TABLE bare_qlog (line text); CREATE TABLE bare_cdr ("
                + ", ".join(f"c{i} text" for i in range(18))
                + ")"
            )
            clock = CpuClock(conn.info.backend_pid)
            clock.start()
            t0 = time.perf_counter()
            for path in files:
                sql = (
                    "COPY bare_qlog FROM STDIN WITH (FORMAT text, DELIMITER E'\\x01')"
                    if "queue_log" in path
                    else "COPY bare_cdr FROM STDIN WITH (FORMAT csv)"
                )
                with conn.cursor() as cur, cur.copy(sql) as copy, open(path, "rb") as f:
                    while chunk := f.read(1 << 20):
                        copy.write(chunk)
            seconds = time.perf_counter() - t0
            cpu = clock.stop()
            rows = conn.execute("SELECT (SELECT count(*) FROM bare_qlog) + (SELECT count(*) FROM bare_cdr)").fetchone()[
                0
            ]
            return {"seconds": seconds, "rows": rows, **cpu}
    return {"seconds": time.perf_counter() - t0, "rows": rows}


def child_import(url: str, kind: str, files: list[str], truncate: bool) -> dict:
    django_setup(url)
    from django.db import connection

    from helpdesk.imports.services import import_run_start
    from helpdesk.models import Call, ImportRun
    from helpdesk.phone import importer
    from helpdesk.phone.importer import calls_import_run

    if kind == "asterisk-python":  # the Python assembly (SQLite's), on PostgreSQL: the "before"
        importer.asterisk_in_sql = lambda: False
        kind = "asterisk"
    if kind in ("asterisk-split", "asterisk-typing"):
        split_bound(typing_only=kind == "asterisk-typing", patch=setattr)
        kind = "asterisk"
    if kind == "asterisk-floor":
        return child_asterisk_floor(connection)
    if truncate:
        with connection.cursor() as cur:
            cur.execute(
                "TRUNCATE helpdesk_call, helpdesk_asteriskqueueevent, helpdesk_asteriskcdr, "
                "helpdesk_importreject CASCADE"
            )
    connection.ensure_connection()
    # The generic import writes with two connections of its own, each closed by its thread at
    # the end (`parallel._close_connection`): their backends' CPU is read just before.
    writers: list[float] = []
    if kind == "generic":
        from helpdesk.phone import parallel

        close = parallel._close_connection

        def close_and_count() -> None:
            if connection.connection is not None:
                writers.append(backend_cpu(connection.connection.info.backend_pid))
            close()

        parallel._close_connection = close_and_count
    clock = CpuClock(connection.connection.info.backend_pid)
    clock.start()
    t0 = time.perf_counter()
    run = import_run_start(
        kind=ImportRun.Kind.CALLS_ASTERISK if kind == "asterisk" else ImportRun.Kind.CALLS_GENERIC, source_name="bench"
    )
    run = calls_import_run(run=run, paths=files, fmt=kind, cdr_timezone="Asia/Tokyo")
    seconds = time.perf_counter() - t0
    cpu = clock.stop()
    cpu["backend_cpu"] += sum(writers)
    return {
        **cpu,
        "seconds": seconds,
        "rows": run.read,
        "summary": run.summary(),
        "calls": Call.objects.count(),
        "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def split_bound(*, typing_only: bool, patch: Callable[[Any, str, Any], None]) -> None:
    """The proposed split (issue 17), at its most favourable: the run's lines staged into
    UNINDEXED temporary tables, every call assembled there, NOTHING persisted in the indexed
    staging tables (as if every call were complete within the run and no line had to be kept
    for idempotency or for a later piece). The real design would add the waiting lines, a probe
    of the persistent staging per key and whatever idempotency keeps — so this bounds it from
    above. `typing_only`: the lines are read, COPYed and typed, and nothing else is done (no
    staging, no assembly, no calls): the bound of any import that types its lines in SQL.
    `patch`: setattr here, pytest's monkeypatch.setattr in the test that pins the bound's calls
    to the SQL path's."""
    from django.db import connection

    from helpdesk.models import AsteriskCdr, AsteriskQueueEvent
    from helpdesk.phone import asterisk_pg
    from helpdesk.phone.parse_asterisk import NON_CALL_IDS, Coverage

    queue_cols = "time, callid, queue, agent, event, data"
    cdr_cols = 'uniqueid, linkedid, src, dcontext, channel, lastapp, start, "end"'
    patch(
        asterisk_pg,
        "_SETUP_SQL",
        asterisk_pg._SETUP_SQL
        + (
            "CREATE TEMP TABLE IF NOT EXISTS run_qe (id bigint GENERATED ALWAYS AS IDENTITY, time timestamptz, "
            "callid text, queue text, agent text, event text, data jsonb);"
            "CREATE TEMP TABLE IF NOT EXISTS run_cdr (id bigint GENERATED ALWAYS AS IDENTITY, uniqueid text, "
            'linkedid text, src text, dcontext text, channel text, lastapp text, start timestamptz, "end" timestamptz);'
            "TRUNCATE run_qe, run_cdr;"
        ),
    )
    patch(asterisk_pg, "_TEARDOWN_SQL", asterisk_pg._TEARDOWN_SQL + ", run_qe, run_cdr")
    if typing_only:
        patch(asterisk_pg, "_QUEUE_STAGE_SQL", "SELECT %(name)s::text")
        patch(asterisk_pg, "_CDR_STAGE_SQL", "SELECT %(name)s::text")
        patch(asterisk_pg, "fill_touched", lambda event_ids, cdr_ids: False)
        return
    # (%(name)s: the staging statements are given the file's name.)
    staged = "INSERT INTO {} ({}) SELECT {} FROM {} WHERE %(name)s::text IS NOT NULL ORDER BY line"
    patch(asterisk_pg, "_QUEUE_STAGE_SQL", staged.format("run_qe", queue_cols, queue_cols, "ast_q"))
    patch(asterisk_pg, "_CDR_STAGE_SQL", staged.format("run_cdr", cdr_cols, cdr_cols, "ast_c"))
    assemble = asterisk_pg._ASSEMBLE_SQL.replace(AsteriskQueueEvent._meta.db_table, "run_qe")
    patch(asterisk_pg, "_ASSEMBLE_SQL", assemble.replace(AsteriskCdr._meta.db_table, "run_cdr"))

    def coverage() -> Coverage:
        with connection.cursor() as cur:
            cur.execute("SELECT to_regclass('pg_temp.run_qe') IS NOT NULL")
            if not cur.fetchone()[0]:  # before the run's tables exist: nothing covered before
                return Coverage(None, None)
            cur.execute("SELECT min(time), max(time) FROM run_qe")
            return Coverage(*cur.fetchone())

    def fill_touched(event_ids, cdr_ids) -> bool:
        with connection.cursor() as cur:
            cur.execute("CREATE TEMP TABLE IF NOT EXISTS calls_touched (id text PRIMARY KEY)")
            cur.execute("TRUNCATE calls_touched")
            cur.execute(
                "INSERT INTO calls_touched SELECT callid FROM run_qe WHERE callid <> ALL(%s) "
                "UNION SELECT uniqueid FROM run_cdr",
                [sorted(NON_CALL_IDS)],
            )
            cur.execute("ANALYZE calls_touched, run_qe, run_cdr")
        return True

    patch(asterisk_pg, "queue_log_coverage", coverage)
    patch(asterisk_pg, "fill_touched", fill_touched)


def child_asterisk_floor(connection) -> dict:
    """The rows an Asterisk import wrote (staged lines and calls, left by the import before),
    written again with no parsing or checks at all into copies of their tables with the same
    indexes and constraints: what index maintenance and WAL alone cost — the floor under any
    Asterisk import that stages every line."""
    tables = ("helpdesk_asteriskqueueevent", "helpdesk_asteriskcdr", "helpdesk_call")
    with connection.cursor() as cur:
        for t in tables:
            cur.execute(f"DROP TABLE IF EXISTS floor_{t}; CREATE TABLE floor_{t} (LIKE {t} INCLUDING ALL)")
        cur.execute("CHECKPOINT")
        rows = 0
        clock = CpuClock(connection.connection.info.backend_pid)
        clock.start()
        t0 = time.perf_counter()
        for t in tables:
            cur.execute(f"INSERT INTO floor_{t} SELECT * FROM {t}")
            rows += cur.rowcount
        seconds = time.perf_counter() - t0
        cpu = clock.stop()
        for t in tables:
            cur.execute(f"DROP TABLE floor_{t}")
    return {"seconds": seconds, "rows": rows, **cpu}


def spawn(*args: str, root: Path = ROOT) -> dict:
    # Start every measurement from a checkpoint, so none pays for the WAL of the one before.
    # `root`: the source tree whose import runs (another one's: --baseline).
    import psycopg

    with psycopg.connect(args[1], autocommit=True) as conn:
        conn.execute("CHECKPOINT")
    # This script (so every tree is measured the same way), importing `root`'s code.
    out = subprocess.run(
        [sys.executable, str(BENCH / "bench_calls_import.py"), "--child", *args],
        capture_output=True,
        text=True,
        cwd=root,
        env={**os.environ, "CALLS_BENCH_ROOT": str(root)},
    )
    if out.returncode:
        sys.stderr.write(out.stdout + out.stderr)
        sys.exit(f"child {args[:2]} failed")
    return json.loads(out.stdout.strip().splitlines()[-1])


def report(label: str, result: dict, copy_rate: float | None = None) -> float:
    rate = result["rows"] / result["seconds"]
    extra = f"  peak RSS {result['maxrss_mb']:.0f} MB" if "maxrss_mb" in result else ""
    ratio = f"  = {rate / copy_rate:.2f}× COPY" if copy_rate else ""
    summary = f"  [{result['summary']}]" if "summary" in result else ""
    print(
        f"{label:<44} {result['rows']:>9,} rows {result['seconds']:7.1f} s {rate:>9,.0f} rows/s{extra}{ratio}{summary}"
    )
    return rate


def rounds(url: str, path: str, n: int, baseline: Path | None = None) -> None:
    """On a shared machine: the floor (two-connection COPY into the indexed table), the new
    import (calls table emptied first) and the unchanged re-import (right after a new one),
    back to back, the floor first in even rounds and last in odd ones; the median ratios.
    With `baseline` (another source tree, e.g. a checkout of main), its new import and
    re-import run in every round too, alternating with this tree's, into the same database."""
    import statistics

    trees = {"": ROOT} if baseline is None else {"": ROOT, "baseline ": baseline}
    rows = []
    for r in range(n):
        results = {}
        steps = ["floor", *trees]
        for which in steps if r % 2 == 0 else steps[::-1]:
            if which == "floor":
                results["floor"] = spawn("copy", url, "indexed2", path)
            else:
                root = trees[which]
                results[which + "new"] = spawn("import", url, "generic", "truncate", path, root=root)
                results[which + "again"] = spawn("import", url, "generic", "keep", path, root=root)
        seconds = {key: result["seconds"] for key, result in results.items()}
        # CPU seconds: the client process and its PostgreSQL backends (the import's two writers).
        seconds.update({"cpu " + key: result["client_cpu"] + result["backend_cpu"] for key, result in results.items()})
        rows.append(seconds)

        def cpu(key: str, results: dict = results) -> str:
            return f"CPU {results[key]['client_cpu']:.1f} + {results[key]['backend_cpu']:.1f} s"

        print(
            f"  round {r + 1}: floor {seconds['floor']:.1f} s ({cpu('floor')}), "
            + ", ".join(
                f"{label}new {seconds[label + 'new']:.1f} s ({seconds[label + 'new'] / seconds['floor']:.2f}×; "
                f"{cpu(label + 'new')}), {label}unchanged {seconds[label + 'again']:.1f} s "
                f"({seconds[label + 'again'] / seconds['floor']:.2f}×; {cpu(label + 'again')})"
                for label in trees
            )
            + f", load average {os.getloadavg()[0]:.1f}",
            flush=True,
        )

    def median(key: str) -> float:
        return statistics.median(s[key] for s in rows)

    def ratio(key: str) -> str:
        return f"{statistics.median(s[key] / s['floor'] for s in rows):.2f}×"

    def cpu_ratio(key: str) -> str:
        return f"{statistics.median(s['cpu ' + key] / s['cpu floor'] for s in rows):.2f}×"

    print(
        f"generic, {n} interleaved rounds, medians: floor (two-connection indexed COPY) {median('floor'):.1f} s",
        flush=True,
    )
    for label in trees:
        print(
            f"  {label or 'this tree: '}new import {median(label + 'new'):.1f} s = {ratio(label + 'new')} the floor "
            f"(goal ≤ 2×); unchanged re-import {median(label + 'again'):.1f} s = {ratio(label + 'again')} the floor "
            f"(goal ≤ 1.5×); CPU client + backends: new {median('cpu ' + label + 'new'):.1f} s = "
            f"{cpu_ratio(label + 'new')} the floor's {median('cpu floor'):.1f} s, unchanged "
            f"{median('cpu ' + label + 'again'):.1f} s = {cpu_ratio(label + 'again')}",
            flush=True,
        )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--no-asterisk", action="store_true")
    p.add_argument("--no-double", action="store_true", help="skip the 2× file (memory flatness)")
    p.add_argument(
        "--rounds",
        type=int,
        default=0,
        help="then N interleaved rounds: the floor (two-connection indexed COPY), the new and the unchanged import",
    )
    p.add_argument("--only-rounds", action="store_true", help="the generic rounds alone (no single measurements)")
    p.add_argument(
        "--baseline",
        type=Path,
        help="in the rounds, also the import of this source tree (e.g. `git worktree add /tmp/base main`)",
    )
    p.add_argument("--no-generic", action="store_true", help="the Asterisk section only")
    p.add_argument(
        "--asterisk-rounds",
        type=int,
        default=0,
        help="then N interleaved rounds: the Asterisk pair's bare COPY and its import (new), order alternating",
    )
    p.add_argument(
        "--asterisk-rounds-only", action="store_true", help="skip the single Asterisk runs before the rounds"
    )
    p.add_argument(
        "--asterisk-steps",
        default="sql,floor,python",
        help="what the Asterisk rounds measure beside the bare COPY, comma-separated: sql, floor (after sql), "
        "python, split (the proposed in-run split, nothing persisted: its upper bound), typing (lines typed, "
        "nothing else)",
    )
    p.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = p.parse_args()

    if args.child:
        what, url, kind, *rest = args.child
        if what == "copy":
            result = child_copy(url, kind, rest)
        else:
            truncate = rest[0] == "truncate"
            result = child_import(url, kind, rest[1:], truncate)
        print(json.dumps(result))
        return 0

    url = bench_database_url(DB_NAME)
    tmp = Path(os.environ.get("CALLS_BENCH_TMP", "/tmp"))
    print(f"phone import benchmark: {args.rows:,} rows, database {DB_NAME}", flush=True)
    ensure_database(url, recreate=True)
    django_setup(url)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)

    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    sizes = [args.rows] + ([] if args.no_double else [args.rows * 2])
    if not args.no_generic:
        bench_generic(args, url, tmp, sizes)
    if not args.no_asterisk:
        bench_asterisk(args, url, tmp, sizes)
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    return 0


def bench_generic(args, url: str, tmp: Path, sizes: list[int]) -> None:
    generic = {n: tmp / f"bench_calls_{n}.csv" for n in sizes}
    for n, path in generic.items():
        generate_generic(path, n)
    if args.only_rounds:
        rounds(url, str(generic[args.rows]), args.rounds or 1, args.baseline)
        return 0
    copy_rate = report(
        "generic: PostgreSQL COPY into a bare table", spawn("copy", url, "generic", str(generic[args.rows]))
    )
    report(
        "generic: COPY into a table with Call's indexes",
        spawn("copy", url, "indexed", str(generic[args.rows])),
        copy_rate,
    )
    report(
        "generic: the same, two connections",
        spawn("copy", url, "indexed2", str(generic[args.rows])),
        copy_rate,
    )
    for n in sizes:
        report(
            f"generic: import_calls ({n:,} rows, new)",
            spawn("import", url, "generic", "truncate", str(generic[n])),
            copy_rate,
        )
        if n == args.rows:
            report(
                "generic: import_calls again (unchanged)",
                spawn("import", url, "generic", "keep", str(generic[n])),
                copy_rate,
            )
    if args.rounds:
        rounds(url, str(generic[args.rows]), args.rounds, args.baseline)


def bench_asterisk(args, url: str, tmp: Path, sizes: list[int]) -> None:
    """The Asterisk pair: its bare COPY, `import_calls` (PostgreSQL: the SQL assembly of
    helpdesk/phone/asterisk_pg.py) new and again, the pair twice the size; then, with
    --asterisk-rounds, the COPY and the new import back to back, order alternating, and the
    median of the ratios."""
    pairs = {}
    for n in sizes:
        qlog, master = tmp / f"bench_queue_log_{n}", tmp / f"bench_Master_{n}.csv"
        generate_asterisk(qlog, master, n)
        pairs[n] = [str(qlog), str(master)]
    lines = count_lines(Path(pairs[args.rows][0])) + count_lines(Path(pairs[args.rows][1]))
    print(f"asterisk pair: {lines:,} lines (queue_log + Master.csv)")
    if args.asterisk_rounds_only:
        sizes = []
    acopy = (
        0.0
        if not sizes
        else report("asterisk: COPY of both files into bare tables", spawn("copy", url, "asterisk", *pairs[args.rows]))
    )
    for n in sizes:
        report(
            f"asterisk: import_calls ({n:,}-line pair, new)",
            spawn("import", url, "asterisk", "truncate", *pairs[n]),
            acopy,
        )
        if n == args.rows:
            report(
                "asterisk: import_calls again (unchanged)",
                spawn("import", url, "asterisk", "keep", *pairs[n]),
                acopy,
            )
    if args.asterisk_rounds:
        import statistics

        # Back to back, order rotating: the bare COPY, the import on its SQL path (new), the
        # floor (the rows that import wrote, written again into indexed copies of their
        # tables), and the Python assembly on PostgreSQL (the path before), each new.
        pair = pairs[args.rows]
        steps = {
            "copy": lambda: spawn("copy", url, "asterisk", *pair),
            "sql": lambda: spawn("import", url, "asterisk", "truncate", *pair),
            "floor": lambda: spawn("import", url, "asterisk-floor", "keep"),
            "python": lambda: spawn("import", url, "asterisk-python", "truncate", *pair),
            "split": lambda: spawn("import", url, "asterisk-split", "truncate", *pair),
            "typing": lambda: spawn("import", url, "asterisk-typing", "truncate", *pair),
        }
        labels = {
            "copy": "bare COPY",
            "sql": "SQL path",
            "floor": "floor (its writes again)",
            "python": "Python path",
            "split": "split bound (nothing persisted)",
            "typing": "typing only",
        }
        chosen = ["copy", *(s for s in args.asterisk_steps.split(",") if s != "copy")]
        # "floor" rewrites what the SQL path left: it runs right after it.
        if "floor" in chosen and "sql" not in chosen:
            sys.exit("--asterisk-steps: floor needs sql")
        base = [s for s in chosen if s != "floor"]
        rounds = []
        for r in range(args.asterisk_rounds):
            order = base if r % 2 == 0 else base[::-1]
            if "floor" in chosen:
                order = [x for s in order for x in ((s, "floor") if s == "sql" else (s,))]
            results = {name: steps[name]() for name in order}
            rounds.append(results)
            copy = results["copy"]["seconds"]
            print(f"  round {r + 1} (load {os.getloadavg()[0]:.2f}):", flush=True)
            for name in order:
                res = results[name]
                print(
                    f"    {labels[name]:<32} {res['seconds']:7.2f} s wall = {copy / res['seconds']:.3f}× COPY; "
                    f"CPU {res.get('client_cpu', 0):.2f} s client + {res.get('backend_cpu', 0):.2f} s backend"
                    + (f"  [{res['summary']}]" if "summary" in res else ""),
                    flush=True,
                )

        def cpu(res: dict) -> float:
            return res.get("client_cpu", 0) + res.get("backend_cpu", 0)

        print(
            f"asterisk, {args.asterisk_rounds} interleaved rounds, medians of the per-round ratios to the bare COPY "
            "(goal ≥ 0.15×), by wall time and by CPU time (client + backend):",
            flush=True,
        )
        for name in chosen:
            wall = statistics.median(r[name]["seconds"] for r in rounds)
            wall_ratio = statistics.median(r["copy"]["seconds"] / r[name]["seconds"] for r in rounds)
            cpu_seconds = statistics.median(cpu(r[name]) for r in rounds)
            cpu_ratio = statistics.median(cpu(r["copy"]) / cpu(r[name]) for r in rounds)
            print(
                f"  {labels[name]:<32} wall {wall:7.2f} s = {wall_ratio:.3f}× COPY; "
                f"CPU {cpu_seconds:6.2f} s = {cpu_ratio:.3f}× COPY's CPU",
                flush=True,
            )


if __name__ == "__main__":
    sys.exit(main())
