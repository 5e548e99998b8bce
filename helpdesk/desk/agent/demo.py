"""Today's work on the demo desk (`make demo`): the seed's two months are all answered, so
the agent's queue would be empty. This adds what an agent finds on a morning, relative to
the moment the demo is seeded, through the same importers and services as the rest:

- four citizens' mails: one already past the 24 h mail target, one near it, two fresh —
  new and unassigned, except the overdue one and one fresh one that `agent` has taken and
  is working on (in progress; an internal note on the overdue one);
- two calls `agent` (PBX login op01) answered: one 50 minutes ago, logged as an inquiry
  in progress whose wrap-up is still open, and one 8 minutes ago not logged yet ("my call
  now")."""

import csv
import datetime as dt
import mailbox
import tempfile
from email.utils import make_msgid
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from helpdesk.demo.mime import demo_mail
from helpdesk.imports.services import import_run_start
from helpdesk.inquiries.notes import inquiry_note_add
from helpdesk.inquiries.services import inquiry_assign, inquiry_transition
from helpdesk.mail.files import mail_import_paths
from helpdesk.models import Call, ImportRun, Inquiry
from helpdesk.phone.importer import calls_import_run
from helpdesk.phone.linking import call_log_inquiry

TODAY_MAILS = [
    (
        30,
        "小林 直樹",
        "e-Govアプリで申請データの送信エラーになります",
        "申請データを送信すると「送信に失敗しました」と表示されます。到達番号は表示されていません。",
    ),
    (21, "加藤 恵", "電子証明書の有効期限について", "電子証明書の有効期限が切れた場合、申請中の手続はどうなりますか。"),
    (
        5,
        "吉田 翔",
        "ｅ－Ｇｏｖアカウントのパスワードを忘れました",
        "パスワード再設定のメールが届きません。迷惑メールフォルダも確認しました。",
    ),
    (
        0.7,
        "山本 千尋",
        "Mac版e-Govアプリのインストール",
        "Macにe-Govアプリをインストールしようとすると「開発元を検証できません」と表示されます。",
    ),
]


def desk_demo_today(*, agent, admin, now: dt.datetime | None = None) -> list[str]:
    """Add today's open work for the demo desk; returns report lines."""
    now = now or timezone.now()
    center = settings.HELPDESK_FROM_ADDRESS
    with tempfile.TemporaryDirectory() as tmp:
        box_path, calls_path = Path(tmp) / "today.mbox", Path(tmp) / "today-calls.csv"
        box = mailbox.mbox(str(box_path), create=True)
        for n, (hours, name, subject, body) in enumerate(TODAY_MAILS):
            box.add(
                demo_mail(
                    sender=(name, f"today-{n}@example.com"),
                    to=center,
                    subject=subject,
                    body=body,
                    date=now - dt.timedelta(hours=hours),
                    charset="utf-8",
                    msgid=make_msgid(domain="example.com"),
                )
            )
        box.flush()
        box.close()
        mail_import_paths(paths=[box_path], created_by=admin)
        with calls_path.open("w", newline="", encoding="utf-8") as fh:
            out = csv.writer(fh)
            out.writerow(["call_id", "arrived_at", "caller", "outcome", "queue", "queued_at", "answered_at",
                          "ended_at", "agent", "acw_seconds"])  # fmt: skip
            for call_id, minutes, caller in (("demo-today-1", 50, "0355550101"), ("demo-today-2", 8, "0455550202")):
                arrived = now - dt.timedelta(minutes=minutes)
                out.writerow([call_id, arrived.isoformat(), caller, "answered", "egov",
                              (arrived + dt.timedelta(seconds=20)).isoformat(),
                              (arrived + dt.timedelta(seconds=65)).isoformat(),
                              (arrived + dt.timedelta(minutes=6)).isoformat(), "op01", ""])  # fmt: skip
        run = import_run_start(kind=ImportRun.Kind.CALLS_GENERIC, source_name="demo today.csv", created_by=admin)
        calls_import_run(run=run, paths=[calls_path], names=["demo today.csv"])

    today = {i.requester_email: i for i in Inquiry.objects.filter(requester_email__startswith="today-")}
    overdue, fresh = today.get("today-0@example.com"), today.get("today-2@example.com")
    for inquiry in (overdue, fresh):
        if inquiry is not None:  # taken and being worked on; the other two wait, new
            inquiry = inquiry_assign(inquiry=inquiry, actor=agent, assignee=agent)
            inquiry_transition(inquiry=inquiry, actor=agent, status=Inquiry.Status.IN_PROGRESS)
    if overdue is not None:
        inquiry_note_add(inquiry=overdue, actor=agent, body="到達番号が出ていないので未送信。再送信手順を案内する。")
    logged = call_log_inquiry(
        call=Call.objects.get(call_id="demo-today-1"),
        actor=agent,
        data={
            "subject": "マイナンバーカードが読み取れない",
            "body": "ICカードリーダーでエラーになる",
            "category": "mynumber_card",
        },
    )
    # logged during the call, the record not finished yet: the agent's, in progress
    inquiry_transition(inquiry=logged, actor=agent, status=Inquiry.Status.IN_PROGRESS)
    return [f"desk today: {len(today)} open mails (1 past 24 h), 1 call to wrap up, 1 call to log (agent)"]
