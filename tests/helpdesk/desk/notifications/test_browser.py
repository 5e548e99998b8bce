"""Notifications and canned responses in a real browser: the badge follows new notifications
by htmx polling, marking read updates it, the page passes axe-core in both languages, and a
canned response lands in the reply box through static/desk/canned.js."""

import pytest
from django.template.loader import render_to_string
from django.test import RequestFactory

from helpdesk.models import CannedResponse, Notification
from helpdesk.notifications.services import notify
from tests.conftest import axe_violations, sign_in
from tests.factories import InquiryFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
Kind = Notification.Kind
COUNT = "() => document.querySelector('#notification-badge .notification-count').textContent.trim()"


def wait_for_count(page, count: int) -> None:
    page.wait_for_function(f"() => ({COUNT})() === '{count}'", timeout=10_000)


def test_the_badge_follows_new_notifications_by_polling(desk_page, live_server, agent, settings, screenshot_dir):
    settings.HELPDESK_NOTIFICATION_POLL_SECONDS = 1  # the page polls every 30 s by default
    inquiry = InquiryFactory(subject="電子署名の付与でエラーになる", assigned_to=agent)
    notify(agent, Kind.ASSIGNED, inquiry)
    sign_in(desk_page, live_server, "agent1")

    desk_page.goto(f"{live_server.url}/desk/notifications/")
    assert desk_page.evaluate(COUNT) == "1"
    assert axe_violations(desk_page) == []

    notify(agent, Kind.CITIZEN_REPLIED, inquiry)  # arrives while the page is open
    notify(agent, Kind.MAIL_DUE_SOON, inquiry)
    wait_for_count(desk_page, 3)
    desk_page.reload()
    desk_page.screenshot(path=str(screenshot_dir / "desk-notifications.png"), full_page=True)

    # Marking one read swaps its row and refreshes the badge at once (HX-Trigger).
    desk_page.locator(".notification.unread button").first.click()
    wait_for_count(desk_page, 2)
    assert desk_page.locator(".notification.unread").count() == 2

    desk_page.get_by_role("button", name="すべて既読にする").click()
    desk_page.wait_for_load_state("networkidle")
    assert desk_page.evaluate(COUNT) == "0"
    assert desk_page.locator(f'a[href="/desk/inquiries/{inquiry.ref}/"]').count() == 3


def test_the_language_switch_and_english_page_pass_axe(desk_page, live_server, agent, screenshot_dir):
    notify(agent, Kind.ESCALATION_RETURNED, InquiryFactory())
    sign_in(desk_page, live_server, "agent1")
    desk_page.goto(f"{live_server.url}/desk/notifications/")

    desk_page.select_option("#desk-language", "en")
    desk_page.get_by_role("button", name="切替").click()
    desk_page.wait_for_load_state("networkidle")

    assert desk_page.url == f"{live_server.url}/desk/notifications/"
    assert desk_page.locator("h1").inner_text() == "Notifications"
    assert desk_page.locator("html").get_attribute("lang") == "en"
    assert "An escalation was answered" in desk_page.content()
    assert axe_violations(desk_page) == []
    desk_page.screenshot(path=str(screenshot_dir / "desk-notifications-en.png"), full_page=True)


def test_a_canned_response_is_inserted_into_the_reply_box(desk_page, live_server, agent):
    inquiry = InquiryFactory(requester_name="山田 太郎")
    CannedResponse.objects.create(title="受付のお礼", body="{citizen_name} 様\n受付番号 {inquiry_ref} で承りました。")
    request = RequestFactory().get("/desk/")
    request.user = agent
    picker = render_to_string("desk/canned/_picker.html", {"inquiry": inquiry}, request=request)
    sign_in(desk_page, live_server, "agent1")
    desk_page.goto(f"{live_server.url}/desk/notifications/")
    # The inquiry page (another part of the desk) holds the reply box; a stand-in here, with
    # the picker as the server renders it and its script from our static files.
    desk_page.evaluate(
        """(html) => {
            const box = document.createElement('section');
            box.innerHTML = '<label for="reply-body">返信</label><textarea id="reply-body">冒頭</textarea>' + html;
            document.querySelector('.desk-main').append(box);
            const s = document.createElement('script');
            s.src = '/static/desk/canned.js';
            document.head.append(s);
        }""",
        picker,
    )
    desk_page.wait_for_function("() => window.deskCannedReady === true")
    desk_page.get_by_role("button", name="受付のお礼").click()

    value = desk_page.input_value("#reply-body")
    assert value == f"冒頭\n山田 太郎 様\n受付番号 {inquiry.ref} で承りました。"
    assert desk_page.evaluate("() => document.activeElement.id") == "reply-body"

    # Where the agent's cursor was: the next one goes there, not at the end.
    desk_page.evaluate(
        "() => { const b = document.getElementById('reply-body'); b.focus(); b.setSelectionRange(2, 2); }"
    )
    desk_page.get_by_role("button", name="受付のお礼").click()
    assert desk_page.input_value("#reply-body").startswith(
        f"冒頭\n山田 太郎 様\n受付番号 {inquiry.ref} で承りました。\n山田"
    )
    assert axe_violations(desk_page) == []
