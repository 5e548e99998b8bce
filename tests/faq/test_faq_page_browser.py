"""The public FAQ page in headless Chromium: no login, Japanese, searchable, drafts hidden."""

import os

import pytest
from django.utils import timezone

from faq.models import FaqCategory, FaqEntry

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="session")
def _sync_orm_beside_playwright():
    # Playwright's sync API keeps an asyncio loop running on this thread; ORM calls here stay synchronous.
    # Rows are made directly (no services): a transactional test must not leave audit rows, whose
    # append-only trigger would refuse the flush on SQLite. The workflow is tested in test_services.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"


def test_public_faq_page_lists_and_searches(_sync_orm_beside_playwright, live_server, page, screenshot_dir):
    cat = FaqCategory.objects.create(name="ブラウザ・動作環境", slug="browser", order=1)
    for q, a, c in [
        (
            "ブラウザで申請画面が真っ白になります",
            "ブラウザのキャッシュを削除し、Chrome・Edgeの最新版でお試しください。",
            cat,
        ),
        (
            "ペイジーで手数料を納付するには",
            "納付番号・確認番号を金融機関のATMまたはネットバンキングで入力してください。",
            None,
        ),
    ]:
        FaqEntry.objects.create(question=q, answer=a, category=c, status="published", published_at=timezone.now())
    FaqEntry.objects.create(question="未公開の下書き", answer="まだ見せない")

    page.goto(f"{live_server.url}/faq/")
    assert page.locator("h1").inner_text() == "よくある質問（FAQ）"
    assert page.locator("details.faq-entry").count() == 2
    assert "未公開の下書き" not in page.content()
    first = page.locator("details.faq-entry").first
    first.locator("summary").click()
    assert first.locator(".answer").is_visible()

    page.fill("#faq-q", "ＡＴＭ")  # full-width input matches
    page.click("button[type=submit]")
    page.wait_for_url("**/faq/?q=*")
    assert page.locator("details.faq-entry").count() == 1
    assert "ペイジー" in page.locator("details.faq-entry summary").inner_text()
    assert page.locator("#faq-result-count").inner_text() == "1件見つかりました。"

    page.select_option("select[name=category]", "browser")
    page.fill("#faq-q", "")
    page.click("button[type=submit]")
    page.wait_for_url("**category=browser*")
    assert page.locator("details.faq-entry").count() == 1
    assert "［ブラウザ・動作環境］" in page.locator("details.faq-entry summary").inner_text()

    page.fill("#faq-q", "存在しない語")
    page.click("button[type=submit]")
    page.wait_for_url("**q=*")
    assert page.locator("#faq-empty").is_visible()
    page.screenshot(path=str(screenshot_dir / "faq_page.png"), full_page=True)
