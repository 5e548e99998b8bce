"""The agent's queue at /desk/: the views (mine, unassigned, due), the mail target from the
KPI rules (§3), filters, Japanese search, cursor paging, masking, bad input → 400."""

import datetime as dt

import pytest

from helpdesk.models import EmailMessage, Inquiry
from tests.factories import EmailMessageFactory, InquiryFactory, PhoneInquiryFactory, UserFactory
from tests.helpdesk.desk.agent.conftest import NOW, section_escalation

pytestmark = pytest.mark.usefixtures("frozen")


def refs(response) -> list[str]:
    return [row.inquiry.ref for row in response.context["page"].rows]


def test_mine_lists_my_open_inquiries_newest_first(client, agent, other_agent):
    old = InquiryFactory(assigned_to=agent, status="in_progress", received_at=NOW - dt.timedelta(days=2))
    new = InquiryFactory(assigned_to=agent, status="new", received_at=NOW - dt.timedelta(hours=1))
    InquiryFactory(assigned_to=agent, status="resolved", received_at=NOW - dt.timedelta(hours=2))
    InquiryFactory(assigned_to=other_agent, status="new")
    InquiryFactory(assigned_to=None, status="new")
    client.force_login(agent)

    response = client.get("/desk/")

    assert response.status_code == 200
    assert refs(response) == [new.ref, old.ref]


def test_unassigned_lists_open_inquiries_nobody_has_taken(client, agent, other_agent):
    free = InquiryFactory(assigned_to=None, status="new")
    InquiryFactory(assigned_to=None, status="closed")
    InquiryFactory(assigned_to=other_agent, status="new")
    client.force_login(agent)

    assert refs(client.get("/desk/", {"view": "unassigned"})) == [free.ref]


def test_due_lists_unanswered_mail_near_or_past_24h_oldest_first(client, agent):
    overdue = InquiryFactory(received_at=NOW - dt.timedelta(hours=30), status="new")
    soon = InquiryFactory(received_at=NOW - dt.timedelta(hours=20), status="in_progress", channel="form")
    InquiryFactory(received_at=NOW - dt.timedelta(hours=2), status="new")  # 22 h left: not near yet
    PhoneInquiryFactory(call__arrived_at=NOW - dt.timedelta(hours=30), status="new")  # phone: no mail target
    handed = InquiryFactory(received_at=NOW - dt.timedelta(hours=30), status="escalated")
    section_escalation(handed)  # §3: handed to the responsible section leaves the population
    answered = InquiryFactory(received_at=NOW - dt.timedelta(hours=30), status="in_progress")
    EmailMessageFactory(
        inquiry=answered,
        direction=EmailMessage.Direction.OUTBOUND,
        received_at=NOW - dt.timedelta(hours=29),
        sent_at=NOW - dt.timedelta(hours=29),
    )
    acked = InquiryFactory(received_at=NOW - dt.timedelta(hours=31), status="new")
    EmailMessageFactory(  # an automatic acknowledgement is not an answer
        inquiry=acked,
        direction=EmailMessage.Direction.OUTBOUND,
        is_auto_acknowledgement=True,
        received_at=acked.received_at,
        sent_at=acked.received_at,
    )
    client.force_login(agent)

    response = client.get("/desk/", {"view": "due"})

    assert refs(response) == [acked.ref, overdue.ref, soon.ref]
    body = response.content.decode()
    assert "超過 6時間00分" in body  # overdue: 30 h − 24 h
    assert "残り 4時間00分" in body  # soon: 24 h − 20 h


def test_every_row_of_mail_shows_its_time_left(client, agent):
    InquiryFactory(assigned_to=agent, status="new", received_at=NOW - dt.timedelta(hours=1, minutes=30))
    client.force_login(agent)

    response = client.get("/desk/")

    row = response.context["page"].rows[0]
    assert row.due_at == NOW + dt.timedelta(hours=22, minutes=30)
    assert "残り 22時間30分" in response.content.decode()


def test_filters_status_channel_category_and_received_range(client, agent):
    hit = InquiryFactory(
        assigned_to=agent, status="new", channel="form", category="login", received_at=NOW - dt.timedelta(days=1)
    )
    InquiryFactory(assigned_to=agent, status="new", channel="email", category="login")
    InquiryFactory(assigned_to=agent, status="in_progress", channel="form", category="login")
    InquiryFactory(assigned_to=agent, status="new", channel="form", category="other")
    InquiryFactory(
        assigned_to=agent, status="new", channel="form", category="login", received_at=NOW - dt.timedelta(days=9)
    )
    client.force_login(agent)

    response = client.get(
        "/desk/",
        {
            "view": "all",
            "status": "new",
            "channel": "form",
            "category": "login",
            "received_from": (NOW - dt.timedelta(days=3)).date().isoformat(),
            "received_to": NOW.date().isoformat(),
        },
    )

    assert refs(response) == [hit.ref]


def test_search_finds_japanese_text_typed_in_half_width_kana(client, agent):
    hit = InquiryFactory(assigned_to=agent, status="new", subject="マイナンバーカードの読み取り", body="カードリーダー")
    InquiryFactory(assigned_to=agent, status="new", subject="gBizIDのログイン", body="パスワード")
    client.force_login(agent)

    assert refs(client.get("/desk/", {"q": "ﾏｲﾅﾝﾊﾞｰ"})) == [hit.ref]


def test_cursor_pages_through_without_repeats(client, agent):
    made = [
        InquiryFactory(assigned_to=agent, status="new", received_at=NOW - dt.timedelta(minutes=i)) for i in range(30)
    ]
    client.force_login(agent)

    first = client.get("/desk/", {"view": "mine"})
    cursor = first.context["page"].next_cursor
    second = client.get("/desk/", {"view": "mine", "cursor": cursor})

    assert len(refs(first)) == 25 and len(refs(second)) == 5
    assert refs(first) + refs(second) == [i.ref for i in made]
    assert second.context["page"].next_cursor is None
    assert "cursor=" in first.content.decode()


@pytest.mark.parametrize(
    "params",
    [
        {"cursor": "not-a-cursor"},
        {"received_from": "2026-13-40"},
        {"received_from": "2026-10-05", "received_to": "2026-10-01"},
        {"status": "nonsense"},
        {"channel": "fax"},
        {"view": "everything"},
        {"q": "あ" * 201},
    ],
)
def test_bad_input_is_a_400_naming_the_problem_never_a_500(client, agent, params):
    client.force_login(agent)

    response = client.get("/desk/", params)

    assert response.status_code == 400
    assert "絞り込みの条件を確認してください" in response.content.decode()


def test_requester_names_are_masked_in_the_queue(client, agent):
    InquiryFactory(assigned_to=agent, status="new", requester_name="山田 太郎", requester_email="taro@example.com")
    client.force_login(agent)

    body = client.get("/desk/").content.decode()

    assert "山＊＊" in body
    assert "山田 太郎" not in body and "taro@example.com" not in body


def test_supervisors_and_admins_open_the_queue_too(client, supervisor, admin_user):
    for user in (supervisor, admin_user):
        client.force_login(user)
        assert client.get("/desk/queue/").status_code == 200


def test_the_queue_offers_keyboard_navigation_from_our_own_script(client, agent):
    InquiryFactory(assigned_to=agent, status="new")
    client.force_login(agent)

    body = client.get("/desk/").content.decode()

    assert "/static/desk/agent.js" in body
    assert 'id="queue-q"' in body and "data-href=" in body


def test_a_superuser_without_groups_is_served_too(client, db):
    boss = UserFactory(username="root", is_superuser=True, is_staff=True)
    InquiryFactory(assigned_to=boss, status=Inquiry.Status.NEW)
    client.force_login(boss)
    # superusers count as every role: desk_home sends them to the supervisor board
    assert client.get("/desk/queue/").status_code == 200
