"""The desk's part of `make demo` (called once from helpdesk.demo.seed.demo_seed): a few
canned responses as an admin would write them, a supervisor handing out the web-form
inquiries still awaiting the citizen (each a notification for the agent), and the older
notifications read — so the badge and the list look lived in. The escalation answers the
demo records already told the agents (helpdesk.notifications.services)."""

from django.utils import timezone

from helpdesk.canned.services import canned_response_create
from helpdesk.inquiries.services import inquiry_assign
from helpdesk.models import Inquiry, Notification

CANNED = [
    (
        "受付のお礼",
        "",
        "{citizen_name} 様\n\n電子政府利用支援センターです。お問い合わせいただきありがとうございます。\n"
        "受付番号 {inquiry_ref} にて承りました。",
    ),
    (
        "送信エラーの確認手順",
        "send_error",
        "{citizen_name} 様\n\n送信エラーの際は、まず「到達番号」が表示されているかをご確認ください。\n"
        "表示されていない場合は、e-Govアプリを最新版に更新のうえ再送信をお願いします。",
    ),
    (
        "所管府省のご案内",
        "procedure_content",
        "{citizen_name} 様\n\n手続の内容につきましては、所管府省の窓口にて"
        "ご案内しております。お手数ですが、所管府省へお問い合わせください。",
    ),
    (
        "結び（担当者名・日付）",
        "",
        "\nご不明な点がございましたら、受付番号 {inquiry_ref} を添えてご返信ください。\n\n"
        "{today}\n電子政府利用支援センター {agent_name}",
    ),
]

UNREAD_PER_USER = 4


def demo_seed_desk(*, users: dict) -> list[str]:
    admin, supervisor, agent = users["admin"], users["supervisor"], users["agent"]
    for order, (title, category, body) in enumerate(CANNED):
        canned_response_create(actor=admin, data={"title": title, "body": body, "category": category, "order": order})
    awaiting = Inquiry.objects.filter(channel=Inquiry.Channel.FORM, status=Inquiry.Status.ANSWERED, assigned_to=None)
    for inquiry in awaiting.order_by("-received_at")[:3]:
        inquiry_assign(inquiry=inquiry, actor=supervisor, assignee=agent, expected_version=inquiry.version)
    # Each user's latest few stay unread (the badge shows them); the older ones were read.
    keep: set[int] = set()
    for user in users.values():
        keep.update(Notification.objects.filter(recipient=user).values_list("id", flat=True)[:UNREAD_PER_USER])
    Notification.objects.filter(read_at=None).exclude(id__in=keep).update(read_at=timezone.now())
    unread = Notification.objects.filter(read_at=None).count()
    return [f"desk: {len(CANNED)} canned responses, {Notification.objects.count()} notifications ({unread} unread)"]
