"""Demo data for the README's `make demo`: realistic Japanese inquiries over a few months,
the calls behind the phone ones, mail threads with answers, escalations, complaints."""

import datetime as dt
import json
import random
from pathlib import Path

from django.contrib.auth import get_user_model
from django.db import transaction

from helpdesk.models import AgentProfile, Call, Complaint, EmailMessage, Escalation, Inquiry, Role
from helpdesk.roles import assign_roles
from helpdesk.services.inquiries import inquiry_new_ref

DATA = Path(__file__).resolve().parent.parent / "demo_data" / "inquiries_dev.jsonl"
DEMO_USERS = [
    ("agent", Role.AGENT, "op01"),
    ("agent2", Role.AGENT, "op02"),
    ("supervisor", Role.SUPERVISOR, None),
    ("admin", Role.ADMIN, None),
    ("reviewer", Role.REVIEWER, None),
]


@transaction.atomic
def demo_seed(*, password: str) -> list[str]:
    User = get_user_model()
    report = []
    users = {}
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
    if Inquiry.objects.exists():
        report.append("demo records already present: nothing added")
        return report

    rng = random.Random(20261129)
    rows = [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line.strip()]
    created = 0
    for row in rows:
        received = dt.datetime.fromisoformat(row["received_at"])
        channel = row["channel"] if row["channel"] in Inquiry.Channel.values else Inquiry.Channel.EMAIL
        call = None
        message = None
        if channel == Inquiry.Channel.PHONE:
            wait = rng.randint(5, 90)
            talk = rng.randint(120, 600)
            call = Call.objects.create(
                call_id=f"demo-{row['id']}",
                arrived_at=received,
                caller=f"03{rng.randint(10000000, 99999999)}",
                outcome=Call.Outcome.ANSWERED,
                queue="egov",
                queued_at=received + dt.timedelta(seconds=8),
                answered_at=received + dt.timedelta(seconds=8 + wait),
                ended_at=received + dt.timedelta(seconds=8 + wait + talk),
                agent=rng.choice(["op01", "op02"]),
                source=Call.Source.GENERIC,
            )
        else:
            message = EmailMessage.objects.create(
                message_id=f"<{row['id']}@demo.example.com>",
                direction=EmailMessage.Direction.INBOUND,
                source=EmailMessage.Source.FORM if channel == Inquiry.Channel.FORM else EmailMessage.Source.FILE,
                from_address=f"citizen-{row['id']}@example.com",
                subject=row["subject"],
                body_text=row["body"],
                received_at=received,
                sent_at=received,
                raw=f"Message-ID: <{row['id']}@demo.example.com>\r\nSubject: demo\r\n\r\n".encode(),
            )
        answered = received + dt.timedelta(minutes=rng.randint(20, 60 * 20))
        inquiry = Inquiry.objects.create(
            ref=inquiry_new_ref(received),
            channel=channel,
            status=Inquiry.Status.RESOLVED,
            category=row.get("topic", ""),
            subject=row["subject"],
            body=row["body"],
            requester_name=rng.choice(["山田 太郎", "佐藤 花子", "鈴木 一郎", "高橋 美咲"]),
            requester_email=message.from_address if message else "",
            requester_phone=call.caller if call else "",
            assigned_to=users[rng.choice(["agent", "agent2"])],
            call=call,
            source_message=message,
            received_at=received,
            first_answered_at=call.answered_at if call else answered,
            wrapup_completed_at=(call.ended_at + dt.timedelta(seconds=rng.randint(30, 240))) if call else None,
            resolved_at=call.ended_at if call else answered,
        )
        if message:
            message.inquiry = inquiry
            message.save(update_fields=["inquiry"])
        if rng.random() < 0.05:
            Escalation.objects.create(
                inquiry=inquiry,
                target=rng.choice(Escalation.EXTERNAL_TARGETS),
                escalated_at=received + dt.timedelta(minutes=30),
                escalated_by=users["supervisor"],
                note="手続の所管部署へ確認",
            )
        if rng.random() < 0.02:
            Complaint.objects.create(
                inquiry=inquiry,
                received_at=received + dt.timedelta(days=1),
                cause=Complaint.Cause.OPERATOR_ERROR,
                confirmed_at=received + dt.timedelta(days=2),
                confirmed_by=users["supervisor"],
                description="案内内容に誤りがあった",
            )
        created += 1
    report.append(f"{created} inquiries created from {DATA.name}")
    return report
