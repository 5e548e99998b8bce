"""Demo data for the README's `make demo`: two months of the e-Gov center built the way
production data arrives — a PBX call CSV and a mailbox imported through the real importers,
phone inquiries logged and wrapped up by agents, web-form inquiries, escalations, complaints
and an incident recorded through the services. Japanese texts come from
`demo_data/inquiries_dev.jsonl` (296 realistic inquiries with a planted surge of browser
errors in weeks 6–7, during which the demo's answer rate and mail answers suffer)."""

import csv
import datetime as dt
import json
import mailbox
import random
import tempfile
from email.utils import make_msgid
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction

from helpdesk.clock import TOKYO
from helpdesk.complaints.services import complaint_classify, complaint_record
from helpdesk.demo.mime import demo_mail
from helpdesk.desk.agent.demo import desk_demo_today
from helpdesk.escalations.services import escalation_create, escalation_record_return
from helpdesk.imports.services import import_run_start
from helpdesk.incidents.services import security_incident_create
from helpdesk.inquiries.services import inquiry_complete_wrapup, inquiry_create, inquiry_transition, inquiry_update
from helpdesk.mail.files import mail_import_paths
from helpdesk.models import AgentProfile, Call, Complaint, Escalation, ImportRun, Inquiry, Role, SecurityIncident
from helpdesk.notifications.demo import demo_seed_desk
from helpdesk.phone.importer import calls_import_run
from helpdesk.phone.parse_generic import COLUMNS
from helpdesk.roles import assign_roles

DATA = Path(__file__).resolve().parent.parent / "demo_data" / "inquiries_dev.jsonl"
# Web-form inquiries answered from this day on are left 回答済 (awaiting the citizen).
FORM_AWAITING_CITIZEN_FROM = dt.datetime(2026, 9, 24, tzinfo=TOKYO)
DEMO_USERS = [
    ("agent", Role.AGENT, "op01"),
    ("agent2", Role.AGENT, "op02"),
    ("supervisor", Role.SUPERVISOR, None),
    ("admin", Role.ADMIN, None),
    ("reviewer", Role.REVIEWER, None),
]
NAMES = ["山田 太郎", "佐藤 花子", "鈴木 一郎", "高橋 美咲", "田中 健", "渡辺 由美", "伊藤 誠", "中村 彩"]
# What agents answered, per topic: the resolution texts FAQ drafts are proposed from.
ANSWERS = {
    "browser": "e-Govアプリの最新版をインストールし、ブラウザのキャッシュを削除してから再度お試しください。",
    "mynumber_card": "ICカードリーダーの接続とカードの置き方を確認し、JPKI利用者ソフトで動作確認をお願いします。",
    "app_install": "e-Govアプリのインストーラを管理者権限で実行してください。",
    "gbizid": "gBizIDに関する手続はgBizIDヘルプデスクをご案内しました。",
    "kobunsho": "公文書はe-Govアプリの「公文書」タブから表示・印刷できます。",
    "account": "e-Govアカウントのパスワード再設定手順をご案内しました。",
    "data_error": "申請データのエラー箇所と入力形式をご案内しました。",
    "cert_file": "電子証明書ファイルの形式（.p12）とパスワードをご確認ください。",
    "send_error": "送信エラーの際は到達番号の有無を確認し、再送信の手順をご案内しました。",
    "status": "申請状況は「申請案件一覧」から照会できます。",
    "payeasy": "電子納付はPay-easy対応の金融機関からお手続きください。",
    "procedure_content": "手続の内容については所管府省の窓口をご案内しました。",
    "mac_mobile": "Mac版e-Govアプリの対応環境とインストール方法をご案内しました。",
    "api_software": "API対応ソフトウェアについては各ソフトウェア開発元へお問い合わせください。",
    "notification": "通知メールの受信設定と迷惑メールフォルダの確認をお願いします。",
}


def _tokyo(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value).astimezone(TOKYO)


def _iso(value: dt.datetime | None) -> str:
    return value.isoformat() if value else ""


@transaction.atomic
def _users(password: str) -> tuple[dict, list[str]]:
    User = get_user_model()
    users, report = {}, []
    for username, role, pbx in DEMO_USERS:
        user, created = User.objects.get_or_create(
            username=username, defaults={"email": f"{username}@center.example.jp"}
        )
        if created:
            user.set_password(password)
            user.is_staff = role == Role.ADMIN
            user.save()
        assign_roles(user, [role])
        if pbx:
            AgentProfile.objects.get_or_create(user=user, defaults={"pbx_login": pbx})
        users[username] = user
        report.append(f"user {username!r} ({role.label}) password {password!r}")
    return users, report


def _is_surge_week(moment: dt.datetime) -> bool:
    return dt.date(2026, 9, 7) <= moment.date() < dt.date(2026, 9, 21)


def _write_calls(path: Path, phone_rows: list[dict], rng: random.Random) -> None:
    """One answered call per phone inquiry, plus the calls nobody logged: IVR hang-ups, every
    kind of queue abandon (many more in the surge weeks) and calls after hours."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(COLUMNS)  # the generic format's header
        for row in phone_rows:
            arrived = _tokyo(row["received_at"])
            queued = arrived + dt.timedelta(seconds=rng.randint(15, 40))
            answered = queued + dt.timedelta(seconds=rng.randint(5, 240 if _is_surge_week(arrived) else 90))
            ended = answered + dt.timedelta(seconds=rng.randint(150, 540))
            out.writerow(
                [
                    f"demo-{row['id']}",
                    _iso(arrived),
                    f"03{rng.randint(10000000, 99999999)}",
                    "answered",
                    "egov",
                    _iso(queued),
                    _iso(answered),
                    _iso(ended),
                    rng.choice(["op01", "op02"]),
                    "",
                ]
            )
        day = dt.date(2026, 8, 3)
        n = 0
        while day <= dt.date(2026, 9, 30):
            if day.weekday() < 5:
                surge = _is_surge_week(dt.datetime.combine(day, dt.time(), TOKYO))
                kinds = ["ivr_abandoned"] * (rng.random() < 0.12) + ["out_of_hours"] * rng.randint(0, 2)
                kinds += rng.choices(
                    ["queue_abandoned", "queue_timeout", "queue_exit_key", "queue_empty"],
                    weights=[6, 2, 1, 1],
                    k=rng.randint(1, 3) if surge else int(rng.random() < 0.15),
                )
                for kind in kinds:
                    n += 1
                    hour = rng.choice([18, 19, 7]) if kind == "out_of_hours" else rng.randint(9, 16)
                    arrived = dt.datetime.combine(day, dt.time(hour, rng.randint(0, 59), rng.randint(0, 59)), TOKYO)
                    queued_at = arrived + dt.timedelta(seconds=20) if kind.startswith("queue") else None
                    ended = (queued_at or arrived) + dt.timedelta(seconds=rng.randint(10, 300))
                    out.writerow(
                        [
                            f"demo-x{n:05d}",
                            _iso(arrived),
                            f"090{rng.randint(10000000, 99999999)}",
                            kind,
                            "egov" if queued_at else "",
                            _iso(queued_at),
                            "",
                            _iso(ended),
                            "",
                            "",
                        ]
                    )
            day += dt.timedelta(days=1)


def _write_mailbox(path: Path, mail_rows: list[dict], form_refs: dict[str, str], rng: random.Random) -> None:
    """Citizens' mails (ISO-2022-JP, as many Japanese mail clients still send, or UTF-8) and
    the center's answers; form inquiries are answered with their [EG-…] reference."""
    center = settings.HELPDESK_FROM_ADDRESS
    box = mailbox.mbox(str(path), create=True)
    for row in mail_rows:
        received = _tokyo(row["received_at"])
        citizen = (rng.choice(NAMES), f"citizen-{row['id']}@example.com")
        question_id = make_msgid(domain="example.com")
        if row["id"] not in form_refs:
            box.add(
                demo_mail(
                    sender=citizen,
                    to=center,
                    subject=row["subject"],
                    body=row["body"],
                    date=received,
                    charset=rng.choice(["iso-2022-jp", "utf-8"]),
                    msgid=question_id,
                )
            )
        hours = rng.uniform(0.5, 60 if _is_surge_week(received) else 20)
        subject = f"Re: {row['subject']}"
        if row["id"] in form_refs:
            subject = f"[{form_refs[row['id']]}] {subject}"
        answer = f"{citizen[0]} 様\n\nお問い合わせありがとうございます。\n{ANSWERS.get(row['topic'], '')}\n\ne-Gov利用者サポートデスク"
        box.add(
            demo_mail(
                sender=("e-Gov利用者サポートデスク", center),
                to=citizen[1],
                subject=subject,
                body=answer,
                date=received + dt.timedelta(hours=hours),
                charset="utf-8",
                msgid=make_msgid(domain="e-gov-help.example.jp"),
                in_reply_to="" if row["id"] in form_refs else question_id,
            )
        )
    box.flush()
    box.close()


@transaction.atomic
def demo_seed(*, password: str) -> list[str]:
    users, report = _users(password)
    if Inquiry.objects.exists():
        report.append("demo records already present: nothing added")
        return report
    rng = random.Random(20261129)
    rows = [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line.strip()]
    phone_rows = [r for r in rows if r["channel"] == "phone"]
    mail_rows = [r for r in rows if r["channel"] != "phone"]
    agent, agent2, supervisor, admin = users["agent"], users["agent2"], users["supervisor"], users["admin"]
    by_login = {"op01": agent, "op02": agent2}

    # Web-form inquiries (a quarter of the written ones) exist before their answers arrive by mail.
    form_refs: dict[str, str] = {}
    for row in mail_rows[::4]:
        inquiry = inquiry_create(
            channel=Inquiry.Channel.FORM,
            received_at=_tokyo(row["received_at"]),
            subject=row["subject"],
            body=row["body"],
            category=row["topic"],
            requester_name=rng.choice(NAMES),
            requester_email=f"citizen-{row['id']}@example.com",
        )
        form_refs[row["id"]] = inquiry.ref

    with tempfile.TemporaryDirectory() as tmp:
        calls_csv, mbox = Path(tmp) / "calls.csv", Path(tmp) / "mail.mbox"
        _write_calls(calls_csv, phone_rows, rng)
        _write_mailbox(mbox, mail_rows, form_refs, rng)
        run = import_run_start(kind=ImportRun.Kind.CALLS_GENERIC, source_name="demo calls.csv", created_by=admin)
        calls = calls_import_run(run=run, paths=[calls_csv], names=["demo calls.csv"])
        report.append(f"calls: {calls.summary()}")
        mail = mail_import_paths(paths=[mbox], created_by=admin)
        report.append(f"mail: {mail.summary()}")

    # Agents log each answered call as a phone inquiry and complete its wrap-up.
    for row in phone_rows:
        call = Call.objects.get(call_id=f"demo-{row['id']}")
        actor = by_login[call.agent]
        inquiry = inquiry_create(
            channel=Inquiry.Channel.PHONE,
            call=call,
            subject=row["subject"],
            body=row["body"],
            category=row["topic"],
            resolution=ANSWERS.get(row["topic"], ""),
            requester_name=rng.choice(NAMES),
            requester_phone=call.caller,
            assigned_to=actor,
            created_by=actor,
        )
        if rng.random() < 0.97:  # a few wrap-ups are forgotten: supervisors see them
            assert call.ended_at is not None  # every demo call the agents log was answered and ended
            done = call.ended_at + dt.timedelta(seconds=rng.randint(30, 200))
            inquiry_complete_wrapup(inquiry=inquiry, actor=actor, at=done)
            inquiry_transition(inquiry=inquiry, actor=actor, status=Inquiry.Status.RESOLVED, at=done)
        else:  # logged during the call, the record never finished: still the agent's
            inquiry_transition(inquiry=inquiry, actor=actor, status=Inquiry.Status.IN_PROGRESS, at=call.ended_at)

    # Written inquiries: the imported answers moved them to 回答済 (services.mail threads each
    # answer and applies the status rules). Agents set the topic and the resolution, then
    # resolve them; the web-form ones answered in the last days still await the citizen.
    topic_by_subject = {r["subject"]: r["topic"] for r in mail_rows}
    for inquiry in Inquiry.objects.filter(channel=Inquiry.Channel.EMAIL).order_by("received_at"):
        topic = topic_by_subject.get(inquiry.subject, "")
        inquiry = inquiry_update(
            inquiry=inquiry,
            actor=agent,
            expected_version=inquiry.version,
            data={"category": topic, "resolution": ANSWERS.get(topic, "")},
        )
        if inquiry.first_answered_at:
            inquiry_transition(
                inquiry=inquiry, actor=agent, status=Inquiry.Status.RESOLVED, at=inquiry.first_answered_at
            )
    for inquiry in Inquiry.objects.filter(channel=Inquiry.Channel.FORM).order_by("received_at"):
        inquiry = inquiry_update(
            inquiry=inquiry,
            actor=agent,
            expected_version=inquiry.version,
            data={"resolution": ANSWERS.get(inquiry.category, "")},
        )
        if inquiry.first_answered_at and inquiry.first_answered_at < FORM_AWAITING_CITIZEN_FROM:
            inquiry_transition(
                inquiry=inquiry, actor=agent, status=Inquiry.Status.RESOLVED, at=inquiry.first_answered_at
            )

    # Supervisors hand some inquiries over, and record complaints; an admin records an incident.
    written = list(Inquiry.objects.exclude(channel=Inquiry.Channel.PHONE).order_by("received_at"))
    spoken = list(Inquiry.objects.filter(channel=Inquiry.Channel.PHONE).order_by("received_at"))
    targets = [
        Escalation.Target.RESPONSIBLE_SECTION,
        Escalation.Target.OPERATIONS_VENDOR,
        Escalation.Target.RESPONSIBLE_SECTION_DESIGNEE,
        Escalation.Target.OTHER_EXTERNAL,
    ]
    for i, inquiry in enumerate(rng.sample(written, 6) + rng.sample(spoken, 4)):
        internal = escalation_create(
            inquiry=inquiry,
            actor=agent,
            target=Escalation.Target.INTERNAL,
            escalated_at=inquiry.received_at + dt.timedelta(minutes=10),
            note="SVに確認依頼",
        )
        external = escalation_create(
            inquiry=inquiry,
            actor=supervisor,
            target=targets[i % len(targets)],
            escalated_at=inquiry.received_at + dt.timedelta(minutes=40),
            organization="所管府省 担当係",
            note="手続の内容について確認を依頼",
        )
        # The supervisor's answer to the agent is the hand-over itself.
        escalation_record_return(
            escalation=internal,
            actor=supervisor,
            answer="受託者外へ確認を依頼しました",
            returned_at=external.escalated_at,
        )
        escalation_record_return(
            escalation=external,
            actor=supervisor,
            answer="回答を受領し、お客様へ連絡済み",
            returned_at=external.escalated_at + dt.timedelta(days=1),
        )
    causes = [
        Complaint.Cause.OPERATOR_ERROR,
        Complaint.Cause.OPERATOR_ERROR,
        Complaint.Cause.SYSTEM,
        Complaint.Cause.POLICY,
        Complaint.Cause.UNCONFIRMED,
    ]
    for cause, inquiry in zip(causes, rng.sample(spoken, len(causes)), strict=True):
        complaint = complaint_record(
            inquiry=inquiry,
            actor=supervisor,
            description="案内が分かりにくいとのご意見",
            received_at=inquiry.received_at + dt.timedelta(hours=3),
        )
        if cause != Complaint.Cause.UNCONFIRMED:
            complaint_classify(
                complaint=complaint,
                actor=supervisor,
                cause=cause,
                confirmed_at=complaint.received_at + dt.timedelta(days=1),
            )
    security_incident_create(
        actor=admin,
        occurred_at=dt.datetime(2026, 8, 20, 14, 0, tzinfo=TOKYO),
        detected_at=dt.datetime(2026, 8, 20, 15, 30, tzinfo=TOKYO),
        severity=SecurityIncident.Severity.MINOR,
        kind=SecurityIncident.Kind.OTHER_INFORMATION,
        description="回答メールの宛先誤り（送信前に検知、漏えいなし）",
    )
    report += demo_seed_desk(users=users)
    report.append(
        f"{Inquiry.objects.count()} inquiries ({len(phone_rows)} phone, {len(form_refs)} form, "
        f"{Inquiry.objects.filter(channel=Inquiry.Channel.EMAIL).count()} email), "
        f"{Call.objects.count()} calls, months 2026-08 and 2026-09"
    )
    # Today's open work on the agent's desk.
    report += desk_demo_today(agent=agent, admin=admin)
    return report
