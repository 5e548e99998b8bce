"""The report page in headless Chromium: it renders, the Japanese text and the charts are
there, and a screenshot is saved to tests/artifacts/kpi_report.png for a human to look at."""

import os

import pytest
from django.conf import settings as django_settings

from tests.kpi.reports_data import build_report_months

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="session")
def _sync_orm_beside_playwright():
    # Playwright's sync API keeps an asyncio loop running on this thread for as long as the
    # session-scoped browser lives (so also during later tests' database teardown); the
    # ORM calls here are still synchronous, so Django's async-safety guard does not apply.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"


def test_report_page_in_chromium(_sync_orm_beside_playwright, live_server, reviewer, client, page, screenshot_dir):
    build_report_months()
    client.force_login(reviewer)
    cookie = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies([{"name": django_settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}])
    page.goto(f"{live_server.url}/kpi/?from=2026-04&to=2026-10")
    table = page.locator("#evaluation-table")
    assert table.locator("tbody tr").count() == 7
    june = table.locator("tr[data-month='2026-06']")
    assert "令和8年6月" in june.inner_text()
    assert june.locator("td[data-metric='answer_rate']").get_attribute("class") == "unmet"
    assert june.locator("td[data-metric='average_handle_time']").get_attribute("class") == "unmet"
    assert page.locator("#chart-channels svg").bounding_box()["width"] > 500
    assert page.locator("#chart-answer-rate svg circle").count() == 7
    # Japanese glyphs actually render (a CJK font is present): 応答率 is wider than tofu-free ASCII
    width = page.evaluate(
        "() => { const c = document.createElement('canvas').getContext('2d');"
        " c.font = '16px \"Noto Sans CJK JP\"'; return c.measureText('応答率').width; }"
    )
    assert width > 40
    page.screenshot(path=str(screenshot_dir / "kpi_report.png"), full_page=True)
    # a drill-down link leads to the records, without personal information
    href = june.locator("td[data-metric='answer_rate'] a").get_attribute("href")
    assert href == "/api/kpi/months/2026-06/abandoned-calls/"
    resp = page.goto(f"{live_server.url}{href}?format=json")
    assert resp.status == 200
    assert "queue_timeout" in page.content()
