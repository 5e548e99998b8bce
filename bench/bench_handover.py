"""Contractor handover: import throughput and memory on PostgreSQL, old path against new.

    eval "$(scripts/services.sh)"
    nice .venv/bin/python bench/bench_handover.py [--records 100000] [--seed 17]
    nice .venv/bin/python bench/bench_handover.py --roundtrip [--inquiries 20000]
    nice .venv/bin/python bench/bench_handover.py --years 5 [--scale 0.002]

--years N: a national center's N years (per five years: 20 M inquiries, 60 M calls, 18 M
mails — issue 17's figures) scaled by --scale (default 1/500: 40,000 inquiries and about
200,000 records for five years), spread over the N years, imported by the bulk path into a
fresh database (a first handover: secondary indexes built at the end, their build included);
prints records/s, CPU seconds of the importer and of its PostgreSQL backend, and the time
the full N years would take at the measured rate and on an idle machine (the bulk path's
cost per record is flat: the file streams in batches, memory flat).

Default: generates a handover file of about --records records with a fixed seed (users, the
service week, calls answered and abandoned, inbound mail with a raw RFC 822 message (about
2 KB, 5 % with an attachment) and its inquiry, outbound replies and auto-acknowledgements that
refer to their inquiry by ref (a forward reference, as the export writes them), phone
inquiries by call_id, agents' internal notes (every 10th inquiry, a second one every 50th),
escalations, complaints, security incidents, FAQ entries, 40 canned responses, and the kpi
records: a contract period, the fiscal-month calendar, published snapshots), in the export's
type order. --without-desk-texts leaves out the notes and canned responses: the file of the
rounds before they were handed over (2026-12-03), for figures comparable with those. Then, each in its own process after a CHECKPOINT, into a fresh, empty
`helpdesk_bench_handover_to`: the row-by-row path (`import_records --row-by-row`), the bulk
path (the default on PostgreSQL), and the bulk path again over its own import (all
unchanged). Prints records/s and peak RSS of each, and the ratio new/old.

--roundtrip: creates `helpdesk_bench_handover` on the DATABASE_URL server, fills it with --inquiries
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
import json
import os
import resource
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common import bench_database_url, django_setup, ensure_database, peak_rss_mb  # noqa: E402

TOKYO = dt.timezone(dt.timedelta(hours=9))
SOURCE_DB = "helpdesk_bench_handover"
TARGET_DB = os.environ.get("HANDOVER_BENCH_DB", "helpdesk_bench_handover_to")
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
    from helpdesk.imports.services import import_run_start
    from helpdesk.models import ImportRun

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


# --- generated file (fixed seed) --------------------------------------------------------------

BODY = "e-Govアプリで申請データを送信すると「送信に失敗しました」と表示されます。"
AGENTS = [f"op{n:02d}" for n in range(1, 41)]
CATEGORIES = ["login", "send_error", "certificate", "other"]


def _t(at: dt.datetime) -> str:
    return at.isoformat()


def _raw_mail(i: int, rng, attach: bool) -> bytes:
    import base64
    from email.header import Header

    body = (BODY * rng.randint(3, 8)).encode("iso-2022-jp", errors="replace")
    head = (
        f"Message-ID: <q{i}@citizen.example.jp>\r\nFrom: citizen{i}@example.com\r\n"
        f"To: support@egov-help.example.jp\r\nSubject: {Header('申請の送信エラー', 'iso-2022-jp').encode()}\r\n"
        f"Date: Wed, 1 Apr 2026 09:00:00 +0900\r\nMIME-Version: 1.0\r\n"
    )
    if not attach:
        return (head + 'Content-Type: text/plain; charset="ISO-2022-JP"\r\n\r\n').encode() + body + b"\r\n"
    png = base64.encodebytes(rng.randbytes(3000)).replace(b"\n", b"\r\n")
    return (
        (
            head + 'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n'
            'Content-Type: text/plain; charset="ISO-2022-JP"\r\n\r\n'
        ).encode()
        + body
        + b"\r\n--b\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + png
        + b"--b--\r\n"
    )


# A national center's five years (issue 17): per inquiry, 3 calls and 0.9 mails.
NATIONAL_FIVE_YEARS = {"inquiries": 20_000_000, "calls": 60_000_000, "mails": 18_000_000}


def generate(
    path: str,
    records: int,
    seed: int,
    *,
    inquiries: int | None = None,
    years: float | None = None,
    mail_share: float = 0.5,
    abandoned_per_inquiry: float = 1.0,
    desk_texts: bool = True,
) -> dict[str, int]:
    """Write the handover file; returns the lines per type. About 4.3 records per inquiry
    by default (half the inquiries by mail, three messages each; one abandoned call per
    inquiry); `years` spreads the inquiries over that many years before START. `desk_texts`:
    with internal notes (0.12 per inquiry) and 40 canned responses (the file of the rounds
    before 2026-12-03 had neither)."""
    import base64
    import json
    import random
    from collections import Counter

    inquiries = inquiries or max(10, int(records / 4.3))
    counts: Counter = Counter()
    step = 97.0 if years is None else years * 365 * 86400 / inquiries
    first = START if years is None else START - dt.timedelta(days=365 * years)
    mail_every = max(1, round(1 / mail_share)) if mail_share > 0 else 0

    def rng_for(kind: str, i: int) -> random.Random:
        return random.Random(f"{seed}:{kind}:{i}")

    def at(i: int) -> dt.datetime:
        return first + dt.timedelta(seconds=int(step * i))

    def is_mail(i: int) -> bool:
        # Every other inquiry by default (the odd ones), every mail_every-th otherwise.
        return bool(mail_every) and i % mail_every == mail_every - 1

    with open(path, "w", encoding="utf-8") as out:

        def w(obj: dict) -> None:
            out.write(json.dumps(obj, ensure_ascii=False, separators=(",", ":")))
            out.write("\n")
            counts[obj["type"]] += 1

        w({"type": "header", "format_version": 1, "exported_at": _t(START), "counts": {}})
        for name in AGENTS:
            w({"type": "user", "username": name, "first_name": "太郎", "last_name": "山田", "pbx_login": name})
        for day in range(7):
            open_ = day < 5
            w(
                {
                    "type": "service_hours",
                    "weekday": day,
                    "opens_at": "09:00:00" if open_ else None,
                    "closes_at": "17:00:00" if open_ else None,
                }
            )
        for n in range(40 if desk_texts else 0):
            w(
                {
                    "type": "canned_response",
                    "title": f"定型文{n:02d}：{CATEGORIES[n % len(CATEGORIES)]}",
                    "created_at": _t(first + dt.timedelta(hours=n)),
                    "body": "{citizen_name} 様\n\nお問い合わせ（{inquiry_ref}）ありがとうございます。" + BODY,
                    "category": CATEGORIES[n % len(CATEGORIES)] if n % 4 else "",
                    "active": n % 10 != 9,
                    "order": n,
                    "created_by": AGENTS[0],
                    "updated_at": _t(first + dt.timedelta(days=1, hours=n)),
                }
            )
        for i in range(inquiries):  # calls
            r, t = rng_for("call", i), at(i)
            if not is_mail(i):
                talk = r.randint(60, 900)
                w(
                    {
                        "type": "call",
                        "call_id": f"{1775000000 + i}.{i % 997}",
                        "arrived_at": _t(t),
                        "caller": f"03{r.randint(10**7, 10**8 - 1)}",
                        "outcome": "answered",
                        "in_service_hours": True,
                        "queue": "egov",
                        "queued_at": _t(t + dt.timedelta(seconds=3)),
                        "answered_at": _t(t + dt.timedelta(seconds=3 + r.randint(5, 120))),
                        "ended_at": _t(t + dt.timedelta(seconds=130 + talk)),
                        "agent": r.choice(AGENTS),
                        "acw_seconds": r.randint(10, 300),
                        "source": "asterisk",
                        "content_hash": f"{r.getrandbits(256):064x}",
                        "created_at": _t(t),
                        "updated_at": _t(t),
                    }
                )
            for k in range(int(abandoned_per_inquiry * (i + 1)) - int(abandoned_per_inquiry * i)):
                w(
                    {
                        "type": "call",
                        "call_id": f"x{1775000000 + i}" + (f"-{k}" if k else ""),
                        "arrived_at": _t(t + dt.timedelta(seconds=40 + k)),
                        "caller": "",
                        "outcome": r.choice(["queue_abandoned", "ivr_abandoned", "queue_timeout"]),
                        "in_service_hours": True,
                        "queue": "egov",
                        "created_at": _t(t),
                        "updated_at": _t(t),
                    }
                )
        for i in range(inquiries):  # mail: the question, the acknowledgement, the answer
            if not is_mail(i):
                continue
            r, t = rng_for("mail", i), at(i)
            attach = r.random() < 0.05
            raw = _raw_mail(i, r, attach)
            attachments = []
            if attach:
                content = r.randbytes(3000)
                attachments = [
                    {
                        "filename": "error.png",
                        "content_type": "image/png",
                        "size": len(content),
                        "content": base64.b64encode(content).decode(),
                        "truncated": False,
                    }
                ]
            ref = {"ref": f"EG-{t:%Y%m%d}-{i:06d}"}
            w(
                {
                    "type": "email",
                    "message_id": f"<q{i}@citizen.example.jp>",
                    "direction": "inbound",
                    "source": "imap",
                    "inquiry": ref,
                    "from_address": f"citizen{i}@example.com",
                    "from_name": "山田 太郎",
                    "to_addresses": "support@egov-help.example.jp",
                    "subject": "申請の送信エラー",
                    "body_text": BODY * 4,
                    "sent_at": _t(t),
                    "received_at": _t(t + dt.timedelta(seconds=4)),
                    "raw": base64.b64encode(raw).decode(),
                    "attachments": attachments,
                    "created_at": _t(t),
                }
            )
            for kind, delay, ack in (("ack", 6, True), ("a", 3600 * r.randint(1, 30), False)):
                reply = f"Message-ID: <{kind}{i}@egov-help.example.jp>\r\nSubject: Re\r\n\r\n{BODY}\r\n".encode()
                w(
                    {
                        "type": "email",
                        "message_id": f"<{kind}{i}@egov-help.example.jp>",
                        "direction": "outbound",
                        "source": "helpdesk",
                        "inquiry": ref,
                        "to_addresses": f"citizen{i}@example.com",
                        "subject": "Re: 申請の送信エラー",
                        "body_text": BODY * 2,
                        "in_reply_to": f"<q{i}@citizen.example.jp>",
                        "references": f"<q{i}@citizen.example.jp>",
                        "sent_at": _t(t + dt.timedelta(seconds=delay)),
                        "is_auto_acknowledgement": ack,
                        "send_status": "sent",
                        "send_attempts": 1,
                        "raw": base64.b64encode(reply).decode(),
                        "attachments": [],
                        "created_at": _t(t),
                    }
                )
        for i in range(inquiries):
            r, t = rng_for("inquiry", i), at(i)
            phone = not is_mail(i)
            agent = r.choice(AGENTS)
            w(
                {
                    "type": "inquiry",
                    "ref": f"EG-{t:%Y%m%d}-{i:06d}",
                    "channel": "phone" if phone else "email",
                    "status": "resolved",
                    "received_at": _t(t),
                    "call_id": f"{1775000000 + i}.{i % 997}" if phone else None,
                    "message_id": None if phone else f"<q{i}@citizen.example.jp>",
                    "category": r.choice(CATEGORIES),
                    "subject": "申請の送信エラー",
                    "body": BODY * r.randint(1, 6),
                    "resolution": "再送信の手順を案内",
                    "ministry_guidance": r.random() < 0.1,
                    "requester_name": "山田 太郎",
                    "requester_email": f"citizen{i}@example.com",
                    "requester_phone": "",
                    "requester_organization": "",
                    "assigned_to": agent,
                    "created_by": agent,
                    "first_answered_at": _t(t + dt.timedelta(minutes=10)),
                    "wrapup_completed_at": _t(t + dt.timedelta(minutes=15)) if phone else None,
                    "resolved_at": _t(t + dt.timedelta(hours=2)),
                    "version": 3,
                    "created_at": _t(t),
                    "updated_at": _t(t),
                }
            )
        for i in range(0, inquiries, 10) if desk_texts else ():
            r, t = rng_for("note", i), at(i)
            for k in range(2 if i % 50 == 0 else 1):
                w(
                    {
                        "type": "inquiry_note",
                        "inquiry": {"ref": f"EG-{t:%Y%m%d}-{i:06d}"},
                        "created_at": _t(t + dt.timedelta(minutes=20 + 90 * k, microseconds=r.randint(0, 999_999))),
                        "author": r.choice(AGENTS),
                        "body": "申請者に電話で確認済み。ブラウザの拡張機能を無効にして再送信するよう案内。"
                        if k == 0
                        else "再送信できたとの連絡あり。",
                    }
                )
        for i in range(0, inquiries, 10):
            r, t = rng_for("escalation", i), at(i)
            w(
                {
                    "type": "escalation",
                    "key": str(uuid.UUID(int=r.getrandbits(128), version=4)),
                    "inquiry": {"ref": f"EG-{t:%Y%m%d}-{i:06d}"},
                    "target": "responsible_section",
                    "organization": "デジタル庁",
                    "escalated_at": _t(t + dt.timedelta(minutes=30)),
                    "returned_at": _t(t + dt.timedelta(days=2)),
                    "note": "制度の解釈",
                    "answer": "通知のとおり",
                    "requested_by": r.choice(AGENTS),
                    "escalated_by": r.choice(AGENTS),
                    "created_at": _t(t),
                }
            )
        for i in range(0, inquiries, 50):
            r, t = rng_for("complaint", i), at(i)
            w(
                {
                    "type": "complaint",
                    "key": str(uuid.UUID(int=r.getrandbits(128), version=4)),
                    "inquiry": {"ref": f"EG-{t:%Y%m%d}-{i:06d}"},
                    "received_at": _t(t + dt.timedelta(hours=3)),
                    "cause": "operator_error",
                    "description": "説明が不十分",
                    "recorded_by": r.choice(AGENTS),
                    "confirmed_by": AGENTS[0],
                    "confirmed_at": _t(t + dt.timedelta(days=1)),
                    "created_at": _t(t),
                }
            )
        for i in range(0, inquiries, 1000):
            r, t = rng_for("incident", i), at(i)
            w(
                {
                    "type": "security_incident",
                    "key": str(uuid.UUID(int=r.getrandbits(128), version=4)),
                    "occurred_at": _t(t),
                    "detected_at": _t(t + dt.timedelta(hours=1)),
                    "severity": "minor",
                    "kind": "other",
                    "description": "誤送信",
                    "reported_by": AGENTS[1],
                    "created_at": _t(t),
                }
            )
        w({"type": "kpi_target", "valid_from": "2026-04-01", "name": "bench contract", "valid_to": None})
        for n in range(12):
            w(
                {
                    "type": "fiscal_month_period",
                    "fiscal_year": 2026,
                    "month": n + 1,
                    "period_type": "busy" if n in (5, 6) else "normal",
                    "note": "",
                }
            )
        for n in range(12):
            month = f"{2026 + (n + 3) // 12}-{(n + 3) % 12 + 1:02d}"
            w(
                {
                    "type": "kpi_snapshot",
                    "month": month,
                    "version": 1,
                    "published_at": _t(START),
                    "published_by": AGENTS[0],
                    "note": "",
                    "data": {"month": month, "answer_rate": {"value": 0.93}},
                }
            )
        for i in range(0, inquiries, 500):
            t = at(i)
            w(
                {
                    "type": "faq_entry",
                    "question": f"申請データの送信に失敗する（{i}）",
                    "answer": "再送信してください。",
                    "status": "published",
                    "created_at": _t(t),
                    "published_at": _t(t),
                    "version": 1,
                }
            )
    return dict(counts)


def phase_import_path(path: str, label: str, bulk: str) -> None:
    django_setup(bench_database_url(TARGET_DB))
    from django.db import connection

    from helpdesk.handover.services import file_size, records_import
    from helpdesk.imports.services import import_run_start
    from helpdesk.models import ImportRun

    with connection.cursor() as cursor:
        cursor.execute("CHECKPOINT")
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    cpu0, t0 = _cpu_seconds(backend), time.perf_counter()
    with open(path, "rb") as stream:
        run = import_run_start(kind=ImportRun.Kind.RECORDS, source_name=Path(path).name, total=file_size(stream))
        records_import(run=run, stream=stream, bulk=bulk == "bulk")
    seconds = time.perf_counter() - t0
    cpu = [b - a for a, b in zip(cpu0, _cpu_seconds(backend), strict=True)]
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    child_cpu = children.ru_utime + children.ru_stime  # the parsing process (none before it)
    print(
        f"RESULT {label}|{run.read}|{seconds:.2f}|{peak_rss_mb():.0f}|{run.summary()}|{cpu[0]:.2f}|{cpu[1]:.2f}"
        f"|{child_cpu:.2f}|{children.ru_maxrss / 1024:.0f}",
        flush=True,
    )


def _cpu_seconds(backend_pid: int) -> tuple[float, float]:
    """CPU seconds used so far by this process and by its PostgreSQL backend (read from
    /proc when the server runs on this machine, else NaN). On a shared machine the wall
    time depends on the others' load; the CPU time much less: an unloaded estimate of the
    import is records ÷ (importer CPU + backend CPU) — the two mostly take turns."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    mine = usage.ru_utime + usage.ru_stime
    try:
        fields = Path(f"/proc/{backend_pid}/stat").read_text().rsplit(")", 1)[1].split()
        theirs = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        theirs = float("nan")
    return mine, theirs


def run_capture(*args: str) -> tuple[str, int, float, float, str]:
    label, read, seconds, rss, summary, *_cpu = run_capture_cpu(*args)
    return label, read, seconds, rss, summary


def run_capture_cpu(*args: str) -> tuple[str, int, float, float, str, float, float]:
    label, read, seconds, rss, summary, mine, backend, _child, _child_rss = run_capture_all(*args)
    return label, read, seconds, rss, summary, mine, backend


def run_capture_all(*args: str) -> tuple[str, int, float, float, str, float, float, float, float]:
    """The phase's figures, with the CPU seconds and peak RSS of its parsing process."""
    done = subprocess.run(
        [sys.executable, __file__, "--phase", *args], check=True, cwd=ROOT, capture_output=True, text=True
    )
    line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
    label, read, seconds, rss, summary, mine, backend, child, child_rss = line[7:].split("|")
    return (
        label,
        int(read),
        float(seconds),
        float(rss),
        summary,
        float(mine),
        float(backend),
        float(child),
        float(child_rss),
    )


def main_generated(records: int, seed: int, *, desk_texts: bool = True) -> None:
    path = f"/tmp/bench_handover_gen_{records}_{seed}{'' if desk_texts else '_without'}.jsonl"
    t0 = time.perf_counter()
    counts = generate(path, records, seed, desk_texts=desk_texts)
    size = Path(path).stat().st_size / 1e6
    total = sum(v for k, v in counts.items() if k != "header")
    print(f"handover bench: {total} records ({size:.0f} MB, seed {seed}) generated in {time.perf_counter() - t0:.1f} s")
    print("  " + ", ".join(f"{k} {v}" for k, v in counts.items() if k != "header"), flush=True)
    results = {}
    for label, bulk, fresh in (
        ("old: row by row", "row", True),
        ("new: bulk", "bulk", True),
        ("new: again, unchanged", "bulk", False),
    ):
        if fresh:
            ensure_database(bench_database_url(TARGET_DB), recreate=True)
            run_phase("migrate")
        _, read, seconds, rss, summary, mine, backend = run_capture_cpu("import-path", path, label, bulk)
        results[label] = read / seconds
        print(
            f"  {label:24} {read / seconds:9,.0f} records/s  {seconds:7.1f} s  peak RSS {rss:4.0f} MB  ({summary}); "
            f"CPU {mine:.1f} s + backend {backend:.1f} s = {read / (mine + backend):,.0f} records/CPU-s, "
            f"{read / max(mine, backend):,.0f}/s on two idle cores; load {os.getloadavg()[0]:.1f}",
            flush=True,
        )
    print(f"  ratio new/old: {results['new: bulk'] / results['old: row by row']:.1f}x", flush=True)
    Path(path).unlink(missing_ok=True)
    # Memory flat: twice the records through the bulk path, peak RSS must not grow.
    generate(path, records * 2, seed, desk_texts=desk_texts)
    ensure_database(bench_database_url(TARGET_DB), recreate=True)
    run_phase("migrate")
    _, read, seconds, rss, summary = run_capture("import-path", path, "new: twice the records", "bulk")
    label = "new: twice the records"
    print(f"  {label:24} {read / seconds:9,.0f} records/s  {seconds:7.1f} s  peak RSS {rss:4.0f} MB  ({summary})")
    Path(path).unlink(missing_ok=True)


def main_years(years: float, scale: float, seed: int, *, keep: bool = False, desk_texts: bool = True) -> None:
    """A national center's `years` years at `scale`, through the bulk path; extrapolated.
    `keep`: leave the generated file in /tmp and use it again next time (same arguments)."""
    per_year = {k: v / 5 for k, v in NATIONAL_FIVE_YEARS.items()}
    inquiries = max(10, round(per_year["inquiries"] * years * scale))
    mail_share = per_year["mails"] / per_year["inquiries"] / 3  # three messages per mail inquiry
    # Calls per inquiry: the phone inquiries' answered call, plus the abandoned ones.
    abandoned = per_year["calls"] / per_year["inquiries"] - (1 - mail_share)
    # (The file of the rounds before the desk texts kept its name; this one is another file.)
    path = f"/tmp/bench_handover_years_{years}_{scale}_{seed}{'_desk' if desk_texts else ''}.jsonl"
    t0 = time.perf_counter()
    counts_path = Path(path + ".counts")
    if keep and counts_path.exists() and Path(path).exists():
        counts = json.loads(counts_path.read_text())
    else:
        counts = generate(
            path,
            0,
            seed,
            inquiries=inquiries,
            years=years,
            mail_share=mail_share,
            abandoned_per_inquiry=abandoned,
            desk_texts=desk_texts,
        )
        if keep:
            counts_path.write_text(json.dumps(counts))
    size = Path(path).stat().st_size / 1e6
    total = sum(v for k, v in counts.items() if k != "header")
    print(
        f"handover bench, {years:g} years at scale {scale:g} (1/{1 / scale:,.0f}): {total:,} records "
        f"({size:,.0f} MB) generated in {time.perf_counter() - t0:.1f} s"
    )
    print("  " + ", ".join(f"{k} {v:,}" for k, v in counts.items() if k != "header"), flush=True)
    ensure_database(bench_database_url(TARGET_DB), recreate=True)
    run_phase("migrate")
    load0 = os.getloadavg()[0]
    _, read, seconds, rss, summary, mine, backend, child, child_rss = run_capture_all(
        "import-path", path, "bulk", "bulk"
    )
    rate = read / seconds
    cpu_rate = read / (mine + backend + child)
    # Two idle cores. With a parsing process (child > 0): it types batch N + 1 on one core
    # while the importer and its backend, which take turns, write batch N on the other —
    # the larger of the two. Without (a parsing thread, one interpreter lock): the importer
    # on one core, its backend overlapping it on the other at best.
    two_core_rate = read / (max(child, mine + backend) if child > 0 else max(mine, backend))
    full = total / scale
    print(
        f"  bulk import              {rate:9,.0f} records/s  {seconds:7.1f} s  peak RSS {rss:4.0f} MB"
        f" (parsing process {child_rss:.0f} MB)  ({summary})"
    )
    per = 100_000 / read
    print(
        f"  CPU: importer {mine:.1f} s, parsing process {child:.1f} s, its PostgreSQL backend {backend:.1f} s"
        f" (per 100 k records: {mine * per:.1f} + {child * per:.1f} + {backend * per:.1f} s)"
        f" → {cpu_rate:,.0f} records per CPU second (one core); {two_core_rate:,.0f} records/s on two idle cores"
        f" (load average {load0:.1f} before, {os.getloadavg()[0]:.1f} after)"
    )
    print(
        f"  the full {years:g} years: {full:,.0f} records, {size / scale / 1e3:,.0f} GB of file → "
        f"{full / rate / 3600:.1f} h at the measured rate, {full / cpu_rate / 3600:.1f} h on one idle core, "
        f"{full / two_core_rate / 3600:.1f} h on two idle cores (bar: < 4 h for five years)",
        flush=True,
    )
    if not keep:
        Path(path).unlink(missing_ok=True)


def phase_migrate() -> None:
    django_setup(bench_database_url(TARGET_DB))
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def run_phase(*args: str) -> None:
    subprocess.run([sys.executable, __file__, "--phase", *args], check=True, cwd=ROOT)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=100_000, help="records in the generated file")
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--roundtrip", action="store_true", help="fill, export, import (the older bench)")
    parser.add_argument("--inquiries", type=int, default=20000, help="with --roundtrip")
    parser.add_argument("--years", type=float, help="a national center's N years, scaled (see --scale)")
    parser.add_argument("--scale", type=float, default=1 / 500, help="with --years: share of the national volume")
    parser.add_argument("--keep-file", action="store_true", help="with --years: keep the file in /tmp, reuse it")
    parser.add_argument(
        "--without-desk-texts",
        action="store_true",
        help="no internal notes nor canned responses (the file of the rounds before 2026-12-03)",
    )
    parser.add_argument("--phase", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        name, *rest = args.phase
        {
            "fill": lambda: phase_fill(int(rest[0])),
            "export": lambda: phase_export(rest[0]),
            "import": lambda: phase_import(rest[0], rest[1]),
            "import-path": lambda: phase_import_path(rest[0], rest[1], rest[2]),
            "migrate": phase_migrate,
        }[name]()
        return 0

    bench_database_url(SOURCE_DB)  # fails early without PostgreSQL
    if args.years:
        main_years(args.years, args.scale, args.seed, keep=args.keep_file, desk_texts=not args.without_desk_texts)
        return 0
    if not args.roundtrip:
        main_generated(args.records, args.seed, desk_texts=not args.without_desk_texts)
        return 0
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
