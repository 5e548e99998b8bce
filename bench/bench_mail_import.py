"""Mail import benchmark: generate an mbox (mixed Japanese encodings, 10 % with attachments,
a third of the questions answered by the center), import it into a fresh PostgreSQL
database on the row path and on the bulk path (`import_mail --bulk`) in interleaved rounds
(row, bulk, bulk, row, …: a shared machine's load falls on both alike), and print for each
messages/s, CPU-seconds of the importer and of its parsing processes, the CPU-seconds of the
PostgreSQL backends serving it (every connection it opens, the bulk path's writer's too; read
from /proc when the server runs on this machine), CPU-seconds per 1 000 messages and the rate they allow on 2 otherwise idle
cores, the peak RSS of the importer and of its largest parsing process, the ratio bulk/row,
and the load average before and after. Run at two sizes to show that memory is
flat in the size of the mailbox.

    .venv/bin/python bench/bench_mail_import.py                              # 50 000 and 100 000 messages
    .venv/bin/python bench/bench_mail_import.py --messages 5000               # one quick run
    .venv/bin/python bench/bench_mail_import.py --messages 10000 40000 --rounds 2
    .venv/bin/python bench/bench_mail_import.py --messages 40000 --paths bulk  # the bulk path alone

Needs DATABASE_URL pointing at PostgreSQL (eval "$(scripts/services.sh)"); the bench uses
its own database (`--database`, default `helpdesk_bench_mail`, dropped and re-created per
run, dropped at the end).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

REPO = Path(__file__).resolve().parent.parent
BENCH_DB = "helpdesk_bench_mail"  # --database
CHARSETS = ["iso-2022-jp", "shift_jis", "euc-jp", "utf-8"]
SUBJECTS = [
    "電子申請の送信エラー",
    "マイナンバーカードの読み取り",
    "e-Govアカウントのログイン",
    "添付ファイルの形式",
    "①手続の検索",
]
BODIES = [
    "お世話になっております。\n申請データを送信すると「送信に失敗しました」と表示されます。\n対処方法を教えてください。\n",
    "e-Govアプリでマイナンバーカードを読み取れません。ICカードリーダーは認識されています。\n",
    "パスワードを忘れました。再設定の方法を教えてください。髙橋\n",
]


def _jis(text: str) -> bytes:
    sys.path.insert(0, str(REPO))
    from tests.helpdesk.mail.builders import cp50220

    return cp50220(text)


def _encode(text: str, charset: str) -> bytes:
    if charset == "iso-2022-jp":
        return _jis(text)
    if charset == "euc-jp":
        text = text.replace("髙", "高").replace("①", "1")  # CP932/CP50220 extensions, not in EUC-JP
    return text.encode({"shift_jis": "cp932", "euc-jp": "euc_jp"}.get(charset, charset))


def _word(text: str, charset: str) -> str:
    return f"=?{charset.upper()}?B?{base64.b64encode(_encode(text, charset)).decode()}?="


def generate(path: Path, n: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    attachment = base64.encodebytes(os.urandom(24 * 1024)).decode()
    with path.open("w", encoding="ascii", newline="\n") as out:
        questions: list[str] = []
        for i in range(n):
            charset = CHARSETS[i % 4]
            day = 1 + (i // 4000) % 28
            hour = 9 + i % 9
            answer = questions and rng.random() < 0.33
            if answer:
                parent = questions.pop(rng.randrange(len(questions)))
                sender = "support@e-gov-help.example.jp"
                name = "電子政府利用支援センター"
                threading = f"In-Reply-To: {parent}\nReferences: {parent}\n"
                subject = "Re: " + SUBJECTS[i % len(SUBJECTS)]
                body = "お問い合わせありがとうございます。以下の手順をお試しください。\n"
                minute = 50
            else:
                sender = f"citizen{i}@example.jp"
                name = ["山田 太郎", "髙橋 花子", "ｻﾄｳ ｲﾁﾛｳ", "佐藤 一郎"][i % 4]
                threading = ""
                subject = SUBJECTS[i % len(SUBJECTS)]
                body = BODIES[i % len(BODIES)]
                minute = 5
            mid = f"<bench-{i}@{'e-gov-help.example.jp' if answer else 'example.jp'}>"
            if not answer:
                questions.append(mid)
                if len(questions) > 5000:
                    questions.pop(0)
            date = f"{['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'][day % 7]}, {day:02d} Oct 2026 {hour:02d}:{minute:02d}:00 +0900"
            headers = (
                f"From MAILER-DAEMON Thu Oct  1 10:00:00 2026\n"
                f"Received: from mx.example.jp by mail.e-gov-help.example.jp; {date}\n"
                f"From: {_word(name, charset if charset != 'euc-jp' else 'utf-8')} <{sender}>\n"
                f"To: support@e-gov-help.example.jp\nSubject: {_word(subject, charset)}\nDate: {date}\n"
                f"Message-ID: {mid}\n{threading}MIME-Version: 1.0\n"
            )
            text = (
                base64.encodebytes(_encode(body, charset)).decode()
                if charset != "iso-2022-jp"
                else _jis(body).decode("ascii")
            )
            cte = "7bit" if charset == "iso-2022-jp" else "base64"
            if i % 10 == 0:
                out.write(
                    headers + 'Content-Type: multipart/mixed; boundary="b1"\n\n--b1\n'
                    f"Content-Type: text/plain; charset={charset}\nContent-Transfer-Encoding: {cte}\n\n{text}\n"
                    '--b1\nContent-Type: image/png\nContent-Disposition: attachment; filename="screen.png"\n'
                    f"Content-Transfer-Encoding: base64\n\n{attachment}--b1--\n\n"
                )
            else:
                out.write(
                    headers
                    + f"Content-Type: text/plain; charset={charset}\nContent-Transfer-Encoding: {cte}\n\n{text}\n"
                )


def _db_url(base: str, name: str) -> str:
    parts = urlparse(base)
    return urlunparse(parts._replace(path=f"/{name}"))


def _admin(base_url: str):
    import psycopg

    parts = urlparse(base_url)
    return psycopg.connect(
        host=parts.hostname, port=parts.port or 5432, user=parts.username, password=parts.password,
        dbname="postgres", autocommit=True,
    )  # fmt: skip


def drop_database(base_url: str) -> None:
    with _admin(base_url) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')


def fresh_database(base_url: str) -> str:
    admin = _admin(base_url)
    admin.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
    admin.execute(f'CREATE DATABASE "{BENCH_DB}"')
    admin.close()
    url = _db_url(base_url, BENCH_DB)
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "config.settings.local", "DEBUG": "false"}
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=REPO, env=env, check=True)
    return url


def child(path: str, mode: str) -> None:
    """Runs in its own process so its peak RSS and CPU time are the importer's alone."""
    sys.path.insert(0, str(REPO))
    import django

    django.setup()
    from django.db import connection
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.db.backends.signals import connection_created

    from helpdesk.mail.files import mail_import_paths
    from helpdesk.models import EmailMessage, Inquiry

    # Every PostgreSQL backend the import uses (the bulk path's writer thread has its own
    # connection): its CPU-seconds when it opened and when it closed (or at the end).
    # The importer's other threads (the writer) report their own CPU-seconds when they close
    # their connection.
    opened: dict[int, tuple[float | None, bool]] = {}  # pid → (CPU-s at open, opened by the main thread)
    closed: dict[int, float | None] = {}
    thread_cpu: list[float] = []

    def on_open(sender, connection, **kwargs):
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            pid = cursor.fetchone()[0]
        connection.bench_backend_pid = pid
        opened[pid] = (_proc_cpu(pid), threading.current_thread() is threading.main_thread())

    real_close = BaseDatabaseWrapper.close

    def close(self):
        pid = getattr(self, "bench_backend_pid", None)
        if pid is not None and self.connection is not None:
            closed[pid] = _proc_cpu(pid)
            if threading.current_thread() is not threading.main_thread():
                thread_cpu.append(time.thread_time())
        real_close(self)

    connection_created.connect(on_open)
    BaseDatabaseWrapper.close = close
    connection.ensure_connection()
    start = time.perf_counter()
    run = mail_import_paths(paths=[path], bulk=(mode == "bulk"))
    elapsed = time.perf_counter() - start
    pg = [(closed[pid] if pid in closed else _proc_cpu(pid), at_open, main) for pid, (at_open, main) in opened.items()]
    readable = all(end is not None and begin is not None for end, begin, _ in pg)
    pg_cpu = sum(end - begin for end, begin, _ in pg) if readable else None
    pg_main = sum(end - begin for end, begin, main in pg if main) if readable else None
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    print(
        json.dumps(
            {
                "summary": run.summary(),
                "read": run.read,
                "elapsed": elapsed,
                "cpu_s": me.ru_utime + me.ru_stime,
                "workers_cpu_s": kids.ru_utime + kids.ru_stime,
                # The PostgreSQL backend serving the import (None when the server's processes
                # cannot be read: another machine, another user).
                "pg_cpu_s": pg_cpu,
                "pg_main_cpu_s": pg_main,  # … of them, the backend of the importer's main thread
                "writer_cpu_s": sum(thread_cpu),  # the importer's writer thread (in cpu_s too)
                "backends": len(opened),
                "maxrss_kb": me.ru_maxrss,
                "workers_maxrss_kb": kids.ru_maxrss,
                "messages": EmailMessage.objects.count(),
                "inquiries": Inquiry.objects.count(),
                "answered": Inquiry.objects.filter(first_answered_at__isnull=False).count(),
            }
        )
    )


def _proc_cpu(pid: int) -> float | None:
    """user + system CPU-seconds of a process on this machine, from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def mailbox(n: int) -> tuple[Path, float]:
    path = Path(f"/tmp/bench_mail_{n}.mbox")
    t0 = time.perf_counter()
    generate(path, n)
    return path, time.perf_counter() - t0


def bench(path: Path, n: int, mode: str, base_url: str) -> dict:
    url = fresh_database(base_url)
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "config.settings.local", "DEBUG": "false",
           "LOG_LEVEL": "WARNING", "REDIS_URL": ""}  # fmt: skip
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(path), "--mode", mode],
        cwd=REPO, env=env, check=True, capture_output=True, text=True,
    )  # fmt: skip
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result.update(n=n, mode=mode, mbox_mb=path.stat().st_size / 1e6)
    return result


def idle_estimate(r: dict) -> tuple[float, str] | None:
    """Messages/s on an otherwise idle 2-core machine, from the CPU-seconds (docs/mail.md,
    "Benchmark"): the import is bound by the largest of all its CPU shared by two cores, the
    importer's CPU (its threads share one interpreter lock), and each serial chain — the
    importer's main thread with the backend it waits for at each lookup, and the writer thread
    (the bulk path) with its own backend, which it waits for at each COPY."""
    pg, pg_main = r.get("pg_cpu_s"), r.get("pg_main_cpu_s")
    if pg is None or pg_main is None:
        return None
    writer = r.get("writer_cpu_s", 0.0)
    bounds = {
        "all CPU / 2": (r["cpu_s"] + r["workers_cpu_s"] + pg) / 2,
        "importer": r["cpu_s"],
        "main thread + its backend": r["cpu_s"] - writer + pg_main,
        "writer thread + its backend": writer + pg - pg_main,
    }
    name = max(bounds, key=lambda k: bounds[k])
    return r["read"] / bounds[name], name


def _line(r: dict) -> str:
    cpu = r["cpu_s"] + r["workers_cpu_s"]
    pg = r.get("pg_cpu_s")
    total = cpu + (pg or 0)
    per = 1000 / r["read"]  # CPU-ms per message
    estimate = idle_estimate(r)
    pg_main = r.get("pg_main_cpu_s")
    return (
        f"{r['mode']:>4} {r['n']:>7} messages ({r['mbox_mb']:.0f} MB mbox): {r['read'] / r['elapsed']:.0f} messages/s, "
        f"{r['elapsed']:.1f} s, CPU {cpu:.1f} s ({r['read'] / cpu:.0f} messages per CPU-second; importer "
        f"{r['cpu_s']:.1f} s (writer thread {r.get('writer_cpu_s', 0):.1f} s), parsers {r['workers_cpu_s']:.1f} s), "
        f"PostgreSQL {'?' if pg is None else f'{pg:.1f}'} s ({r.get('backends', 1)} backends; importer's main "
        f"thread's {'?' if pg_main is None else f'{pg_main:.1f}'} s), "
        f"all {1000 * total / r['read']:.2f} CPU-s per 1 000 messages (CPU-ms a message: importer "
        f"{r['cpu_s'] * per:.2f}, parsers {r['workers_cpu_s'] * per:.2f}, PostgreSQL "
        f"{'?' if pg is None else f'{pg * per:.2f}'}); 2 idle cores: "
        f"{'?' if estimate is None else f'≈ {estimate[0]:.0f} messages/s (bound: {estimate[1]})'}; peak RSS "
        f"{r['maxrss_kb'] / 1024:.0f} MB (parser {r['workers_maxrss_kb'] / 1024:.0f} MB) | {r['summary']} | "
        f"{r['inquiries']} inquiries, {r['answered']} answered"
    )


def main() -> int:
    global BENCH_DB
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, nargs="+", default=[50_000, 100_000])
    parser.add_argument("--paths", nargs="+", choices=["row", "bulk"], default=["row", "bulk"])
    parser.add_argument("--rounds", type=int, default=1, help="interleaved rounds of the paths per size")
    parser.add_argument("--database", default=BENCH_DB)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--mode", default="row", help=argparse.SUPPRESS)
    args = parser.parse_args()
    BENCH_DB = args.database
    if args.child:
        child(args.child, args.mode)
        return 0
    base_url = os.environ.get("DATABASE_URL", "")
    if not base_url.startswith("postgres"):
        print('DATABASE_URL must point at PostgreSQL: eval "$(scripts/services.sh)"', file=sys.stderr)
        return 2
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} CPUs)", flush=True)
    by_size: dict[int, dict[str, list[dict]]] = {}
    try:
        for n in args.messages:
            path, _gen = mailbox(n)
            runs: dict[str, list[dict]] = {mode: [] for mode in args.paths}
            for round_ in range(args.rounds):
                order = args.paths if round_ % 2 == 0 else list(reversed(args.paths))
                for mode in order:
                    r = bench(path, n, mode, base_url)
                    r["load"] = os.getloadavg()[0]
                    runs[mode].append(r)
                    print(_line(r) + f" | load {r['load']:.2f}", flush=True)
            path.unlink()
            by_size[n] = runs
            if "row" in runs and "bulk" in runs:
                row = sum(r["read"] for r in runs["row"]) / sum(r["elapsed"] for r in runs["row"])
                blk = sum(r["read"] for r in runs["bulk"]) / sum(r["elapsed"] for r in runs["bulk"])
                row_cpu = sum(r["read"] for r in runs["row"]) / sum(
                    r["cpu_s"] + r["workers_cpu_s"] for r in runs["row"]
                )
                blk_cpu = sum(r["read"] for r in runs["bulk"]) / sum(
                    r["cpu_s"] + r["workers_cpu_s"] for r in runs["bulk"]
                )
                print(
                    f"{n:>7} messages: row {row:.0f} messages/s, bulk {blk:.0f} messages/s: bulk/row {blk / row:.1f}x "
                    f"(per CPU-second of the importer: {row_cpu:.0f} vs {blk_cpu:.0f}, {blk_cpu / row_cpu:.1f}x)",
                    flush=True,
                )
    finally:
        drop_database(base_url)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    if len(by_size) > 1:
        lo_n, hi_n = min(by_size), max(by_size)
        for mode in args.paths:
            lo = max(r["maxrss_kb"] + r["workers_maxrss_kb"] for r in by_size[lo_n][mode]) / 1024
            hi = max(r["maxrss_kb"] + r["workers_maxrss_kb"] for r in by_size[hi_n][mode]) / 1024
            print(
                f"{mode}: peak RSS (importer + largest parser) {lo:.0f} MB at {lo_n} vs {hi:.0f} MB at {hi_n} "
                f"messages ({hi - lo:+.0f} MB for {hi_n / lo_n:.1f}x the mailbox): "
                f"{'flat' if hi - lo < 0.1 * lo + 5 else 'GROWS'}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
