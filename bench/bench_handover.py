"""Contractor handover: export and import throughput and memory on PostgreSQL.

    eval "$(scripts/services.sh)"
    .venv/bin/python bench/bench_handover.py [--inquiries 20000]

Creates `helpdesk_bench_handover` on the DATABASE_URL server, fills it with --inquiries
inquiries (half phone with their calls, half email with an inbound message of about 2 KB
and an outbound reply), plus as many unanswered calls, an escalation for every 10th inquiry
and a complaint for every 50th, with COPY-speed bulk inserts. Then, each in its own process
(so peak RSS is that step's own):

  * `export_records` to a file in /tmp;
  * `import_records` of that file into a fresh, empty `helpdesk_bench_handover_to`;
  * the same import again (every line unchanged);
  * export and import of twice the data (peak RSS must not grow with the data: both stream).

Prints lines/s, MB/s and peak RSS for each.
"""

import argparse
import datetime as dt
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common import bench_database_url, django_setup, ensure_database, peak_rss_mb  # noqa: E402

TOKYO = dt.timezone(dt.timedelta(hours=9))
SOURCE_DB = "helpdesk_bench_handover"
TARGET_DB = "helpdesk_bench_handover_to"
START = dt.datetime(2026, 4, 1, 9, 0, tzinfo=TOKYO)


# --- phases (each runs in its own process) ----------------------------------------------------


def phase_fill(inquiries: int) -> None:
    django_setup(bench_database_url(SOURCE_DB))
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from helpdesk.models import Call, Complaint, EmailMessage, Escalation, Inquiry

    body = "e-Govアプリで申請データを送信すると「送信に失敗しました」と表示されます。" * 12
    batch = 5000
    t0 = time.perf_counter()
    for start in range(0, inquiries, batch):
        n = min(batch, inquiries - start)
        calls, messages, rows = [], [], []
        for i in range(start, start + n):
            at = START + dt.timedelta(minutes=7 * i)
            if i % 2 == 0:
                calls.append(
                    Call(
                        call_id=f"pbx-{i}",
                        arrived_at=at,
                        caller=f"03{i:08d}",
                        outcome="answered",
                        queue="egov",
                        queued_at=at + dt.timedelta(seconds=5),
                        answered_at=at + dt.timedelta(seconds=25),
                        ended_at=at + dt.timedelta(seconds=325),
                        agent="op01",
                        acw_seconds=60,
                    )
                )
            calls.append(Call(call_id=f"pbx-x{i}", arrived_at=at, outcome="queue_abandoned", queue="egov"))
            if i % 2 == 1:
                raw = f"Message-ID: <q{i}@citizen.example.jp>\r\nSubject: test\r\n\r\n{body}\r\n".encode()
                messages.append(
                    EmailMessage(
                        message_id=f"<q{i}@citizen.example.jp>",
                        direction="inbound",
                        from_address=f"citizen{i}@example.com",
                        subject="申請の送信エラー",
                        body_text=body,
                        received_at=at,
                        sent_at=at,
                        raw=raw,
                    )
                )
        Call.objects.bulk_create(calls, batch_size=2000)
        EmailMessage.objects.bulk_create(messages, batch_size=1000)
        by_call = dict(Call.objects.filter(call_id__in=[c.call_id for c in calls]).values_list("call_id", "pk"))
        by_msg = dict(
            EmailMessage.objects.filter(message_id__in=[m.message_id for m in messages]).values_list("message_id", "pk")
        )
        for i in range(start, start + n):
            at = START + dt.timedelta(minutes=7 * i)
            phone = i % 2 == 0
            rows.append(
                Inquiry(
                    ref=f"EG-{at:%Y%m%d}-{i:06d}",
                    channel="phone" if phone else "email",
                    status="resolved",
                    received_at=at,
                    call_id=by_call[f"pbx-{i}"] if phone else None,
                    source_message_id=None if phone else by_msg[f"<q{i}@citizen.example.jp>"],
                    subject="申請の送信エラー",
                    body=body,
                    requester_name="山田 太郎",
                    first_answered_at=at + dt.timedelta(hours=1),
                    resolved_at=at + dt.timedelta(hours=2),
                )
            )
        Inquiry.objects.bulk_create(rows, batch_size=2000)
        created = list(
            Inquiry.objects.filter(ref__in=[r.ref for r in rows]).values_list("pk", "received_at", "channel")
        )
        Escalation.objects.bulk_create(
            [
                Escalation(inquiry_id=pk, target="responsible_section", escalated_at=at + dt.timedelta(minutes=30))
                for pk, at, _ in created[::10]
            ]
        )
        Complaint.objects.bulk_create(
            [Complaint(inquiry_id=pk, received_at=at + dt.timedelta(hours=3)) for pk, at, _ in created[::50]]
        )
        replies = [
            EmailMessage(
                message_id=f"<a{pk}@center.example.jp>",
                direction="outbound",
                source="helpdesk",
                inquiry_id=pk,
                subject="Re: 申請の送信エラー",
                body_text=body,
                sent_at=at + dt.timedelta(hours=1),
                raw=b"Message-ID: <a@center>\r\n\r\n" + body.encode(),
            )
            for pk, at, channel in created
            if channel == "email"
        ]
        EmailMessage.objects.bulk_create(replies, batch_size=1000)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE helpdesk_emailmessage m SET inquiry_id = i.id FROM helpdesk_inquiry i "
            "WHERE i.source_message_id = m.id AND m.inquiry_id IS NULL"
        )
    print(f"  filled {inquiries} inquiries in {time.perf_counter() - t0:.1f} s", flush=True)


def phase_export(path: str) -> None:
    django_setup(bench_database_url(SOURCE_DB))
    from helpdesk.handover.services import records_export

    t0 = time.perf_counter()
    with open(path, "w", encoding="utf-8") as out:
        written = records_export(out=out, actor="bench")
    seconds = time.perf_counter() - t0
    lines = sum(written.values())
    size = Path(path).stat().st_size / 1e6
    print(
        f"  export: {lines} lines, {size:.1f} MB in {seconds:.1f} s = {lines / seconds:,.0f} lines/s, "
        f"{size / seconds:.1f} MB/s; peak RSS {peak_rss_mb():.0f} MB",
        flush=True,
    )


def phase_import(path: str, label: str) -> None:
    django_setup(bench_database_url(TARGET_DB))
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from helpdesk.handover.services import file_size, records_import
    from helpdesk.models import ImportRun
    from helpdesk.services.imports import import_run_start

    t0 = time.perf_counter()
    with open(path, "rb") as stream:
        run = import_run_start(kind=ImportRun.Kind.RECORDS, source_name=Path(path).name, total=file_size(stream))
        records_import(run=run, stream=stream)
    seconds = time.perf_counter() - t0
    size = Path(path).stat().st_size / 1e6
    print(
        f"  import ({label}): {run.summary()} in {seconds:.1f} s = {run.read / seconds:,.0f} lines/s, "
        f"{size / seconds:.1f} MB/s; peak RSS {peak_rss_mb():.0f} MB",
        flush=True,
    )


def run_phase(*args: str) -> None:
    subprocess.run([sys.executable, __file__, "--phase", *args], check=True, cwd=ROOT)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--inquiries", type=int, default=20000)
    parser.add_argument("--phase", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        name, *rest = args.phase
        {
            "fill": lambda: phase_fill(int(rest[0])),
            "export": lambda: phase_export(rest[0]),
            "import": lambda: phase_import(rest[0], rest[1]),
        }[name]()
        return 0

    bench_database_url(SOURCE_DB)  # fails early without PostgreSQL
    path = f"/tmp/bench_handover_{args.inquiries}.jsonl"
    print(f"handover bench: {args.inquiries} inquiries", flush=True)
    ensure_database(bench_database_url(SOURCE_DB), recreate=True)
    run_phase("fill", str(args.inquiries))
    run_phase("export", path)
    ensure_database(bench_database_url(TARGET_DB), recreate=True)
    run_phase("import", path, "empty database")
    run_phase("import", path, "again, unchanged")
    print(f"twice the data ({args.inquiries * 2} inquiries): peak RSS must not grow", flush=True)
    ensure_database(bench_database_url(SOURCE_DB), recreate=True)
    run_phase("fill", str(args.inquiries * 2))
    run_phase("export", path + ".2x")
    ensure_database(bench_database_url(TARGET_DB), recreate=True)
    run_phase("import", path + ".2x", "twice the data, empty database")
    for p in (path, path + ".2x"):
        Path(p).unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
