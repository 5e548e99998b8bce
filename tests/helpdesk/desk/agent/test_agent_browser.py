"""An agent's day in a real browser (Chromium, live server, PostgreSQL in `make test`):
sign in, take an inquiry from the queue by keyboard, read its thread, reply with a FAQ
suggestion — keyboard only —, log the current call, complete its wrap-up, request an
escalation. Every page passes axe-core at 1366×768 with no request leaving the server;
a reviewer's session gets 403 and no personal information on every desk URL."""

import datetime as dt

import pytest
from django.utils import timezone

from faq import services as faq_services
from faq.models import FaqCategory
from helpdesk.models import AgentProfile, EmailMessage, Escalation, Inquiry
from tests.conftest import axe_violations, sign_in
from tests.factories import CallFactory, EmailMessageFactory, InquiryFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def day(agent, admin_user):
    now = timezone.now()
    AgentProfile.objects.create(user=agent, pbx_login="op01")
    inquiry = InquiryFactory(
        status=Inquiry.Status.NEW,
        received_at=now - dt.timedelta(hours=21),
        subject="e-Govアプリで送信エラーになる",
        body="申請データを送信すると「送信に失敗しました」と表示されます。",
        requester_name="山田 太郎",
        requester_email="taro.yamada@example.com",
    )
    EmailMessageFactory(
        inquiry=inquiry,
        received_at=inquiry.received_at,
        from_address="taro.yamada@example.com",
        from_name="山田 太郎",
        subject=inquiry.subject,
        body_text="申請データを送信すると「送信に失敗しました」と表示されます。",
    )
    cat = FaqCategory.objects.create(name="送信", slug="send", order=1)
    entry = faq_services.faq_entry_create(
        actor=admin_user,
        question="e-Govアプリで申請データの送信エラーになります",
        answer="到達番号の有無を確認し、再送信してください。",
        category=cat,
    )
    faq_services.faq_entry_publish(actor=admin_user, entry=entry)
    call = CallFactory(arrived_at=now - dt.timedelta(minutes=6), caller="0312345678", agent="op01")
    return {"inquiry": inquiry, "call": call}


def shot(page, screenshot_dir, name: str) -> None:
    page.screenshot(path=str(screenshot_dir / f"desk-agent-{name}.png"), full_page=True)


def test_an_agents_day_on_the_desk(desk_page, live_server, screenshot_dir, agent, day):
    page = desk_page
    inquiry = day["inquiry"]
    sign_in(page, live_server, "agent1")
    assert page.url == f"{live_server.url}/desk/"
    assert axe_violations(page) == []

    # The unassigned list: j selects the first row, Enter opens it.
    page.get_by_role("link", name="未割当").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_text(inquiry.ref).is_visible()
    assert page.get_by_text("残り 2時間5").is_visible()  # 21 h of 24 gone (and a few seconds)
    assert axe_violations(page) == []
    shot(page, screenshot_dir, "queue")
    page.keyboard.press("j")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/desk/inquiries/{inquiry.ref}/")
    page.wait_for_load_state("networkidle")

    # Take it.
    page.get_by_role("button", name="自分が担当する").click()
    page.wait_for_selector(".desk-message")
    page.wait_for_load_state("networkidle")
    assert page.locator(".inquiry-header").get_by_text("agent1").is_visible()

    # Read the thread.
    assert page.locator(".thread-inbound").get_by_text("送信に失敗しました").is_visible()
    assert page.get_by_text("taro.yamada@example.com").first.is_visible()
    page.locator(".faq-insert").wait_for()
    assert axe_violations(page) == []
    shot(page, screenshot_dir, "inquiry")

    # Reply with the FAQ suggestion, keyboard only: r → the suggestion, Enter inserts its
    # answer and moves to the reply box, type, Tab to the send button, Enter.
    page.locator("body").focus()
    page.keyboard.press("r")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "reply-body"
    page.keyboard.type("\nご不明な点があればお知らせください。")
    assert "到達番号の有無を確認し" in page.input_value("#reply-body")
    shot(page, screenshot_dir, "reply")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent.trim()") == "返信を送信"
    page.keyboard.press("Enter")
    page.wait_for_selector(".thread-outbound")
    page.wait_for_load_state("networkidle")
    inquiry.refresh_from_db()
    assert inquiry.status == Inquiry.Status.ANSWERED
    outbound = EmailMessage.objects.get(inquiry=inquiry, direction=EmailMessage.Direction.OUTBOUND)
    assert "到達番号の有無を確認し" in outbound.body_text and "ご不明な点" in outbound.body_text
    assert inquiry.faq_usages.count() == 1

    # Request an escalation (to a supervisor).
    page.fill("#escalation-note", "料金に関する判断をお願いします。")
    page.get_by_role("button", name="エスカレーションを依頼").click()
    page.wait_for_selector(".thread-escalation")
    page.wait_for_load_state("networkidle")
    assert Escalation.objects.get(inquiry=inquiry).target == Escalation.Target.INTERNAL
    assert axe_violations(page) == []

    # Log the current call from the navigation, prefilled with the caller's number.
    page.get_by_role("link", name="現在の通話を記録").click()
    page.wait_for_url("**/desk/my-call/")
    assert page.input_value("#id_requester_phone") == "0312345678"
    assert axe_violations(page) == []
    shot(page, screenshot_dir, "my-call")
    page.fill("#id_subject", "マイナンバーカードが読み取れない")
    page.fill("#id_body", "ICカードリーダーでエラーになる")
    page.get_by_role("button", name="問い合わせを記録").click()
    page.wait_for_selector("#wrapup-form")
    phone = Inquiry.objects.get(call=day["call"])
    assert page.url.endswith(f"/desk/inquiries/{phone.ref}/")
    assert page.locator(".thread-call").is_visible()
    assert axe_violations(page) == []

    # Complete the wrap-up and resolve, in one form.
    page.fill("#id_resolution", "JPKI利用者ソフトでの確認をご案内しました。")
    page.get_by_label("解決にする").check()
    shot(page, screenshot_dir, "wrapup")
    page.get_by_role("button", name="後処理を完了").click()
    page.wait_for_selector("#wrapup-form", state="detached")
    page.wait_for_load_state("networkidle")
    phone.refresh_from_db()
    assert phone.wrapup_completed_at is not None and phone.status == Inquiry.Status.RESOLVED
    assert axe_violations(page) == []


def test_a_conflict_is_shown_plainly_and_the_text_is_kept(desk_page, live_server, screenshot_dir, agent, day):
    page = desk_page
    inquiry = day["inquiry"]
    sign_in(page, live_server, "agent1")
    page.goto(f"{live_server.url}/desk/inquiries/{inquiry.ref}/")
    page.fill("#reply-body", "書きかけの長い回答です。")
    # Meanwhile a supervisor takes the inquiry.
    from helpdesk.inquiries.services import inquiry_assign

    sv = UserFactory(username="sv9", roles=["supervisor"])
    inquiry_assign(inquiry=inquiry, actor=sv, assignee=sv)

    page.get_by_role("button", name="返信を送信").click()
    page.wait_for_selector(".conflict-changes")

    assert page.input_value("#reply-body") == "書きかけの長い回答です。"
    assert page.locator(".conflict-changes").get_by_text("sv9").is_visible()
    assert axe_violations(page) == []
    shot(page, screenshot_dir, "conflict")
    page.get_by_role("button", name="返信を送信").click()  # sending again applies on top
    page.wait_for_selector(".thread-outbound")


def test_a_reviewer_gets_403_and_no_personal_information_on_every_desk_url(desk_page, live_server, reviewer, day):
    page = desk_page
    ref = day["inquiry"].ref
    sign_in(page, live_server, "reviewer1")
    for path in (
        "/desk/queue/",
        "/desk/my-call/",
        f"/desk/inquiries/{ref}/",
        f"/desk/inquiries/{ref}/faq-suggestions/",
    ):
        response = page.goto(f"{live_server.url}{path}")
        assert response.status == 403, path
        content = page.content()
        assert "山田" not in content and "taro.yamada" not in content and "0312345678" not in content
