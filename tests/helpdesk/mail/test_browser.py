"""Headless Chromium: the public form end to end, and mail HTML that must not run."""

import os

import pytest
from django.core.cache import cache

from helpdesk.mail.parse.message import parse_message
from helpdesk.models import Inquiry
from tests.helpdesk.mail import builders as b

pytestmark = pytest.mark.browser


# Playwright's sync API keeps an event loop in this thread; the ORM calls the tests make
# between page actions (and the database teardown) are still synchronous.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

HOSTILE_HTML = """<html><head><script>window.__pwned = 1; alert('head')</script>
<style>body { background: url(https://tracker.example/bg.png) }</style>
<meta http-equiv="refresh" content="0;url=https://evil.example/"></head>
<body onload="window.__pwned = 2; alert('onload')">
<p>ログインできません</p>
<img src="https://tracker.example/pixel.gif" onerror="window.__pwned = 3; alert('img')">
<img src="x" onerror="alert('img2')">
<a href="javascript:window.__pwned=4;alert('href')" id="js">link</a>
<svg onload="alert('svg')"><script>alert('svg-script')</script></svg>
<iframe src="javascript:alert('iframe')"></iframe>
<object data="javascript:alert('object')"></object>
<form action="https://evil.example"><input autofocus onfocus="alert('focus')"></form>
<details open ontoggle="alert('toggle')"><summary>x</summary></details>
<math><mtext><table><mglyph><style><img src=x onerror=alert('mxss')></style></mglyph></table></mtext></math>
</body></html>"""


def test_sanitized_mail_html_cannot_run_script_or_load_remote_content(page):
    parsed = parse_message(b.message(body=HOSTILE_HTML, content_type="text/html", charset="utf-8"))
    dialogs, requests = [], []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("request", lambda r: requests.append(r.url))

    page.set_content(f"<!doctype html><html><body><div id='mail'>{parsed.body_html}</div></body></html>")
    page.wait_for_timeout(300)
    if page.locator("#js").count():
        page.locator("#js").click()
        page.wait_for_timeout(200)

    assert dialogs == []
    assert page.evaluate("window.__pwned === undefined")
    assert [u for u in requests if u.startswith("http")] == []
    assert "ログインできません" in page.inner_text("#mail")


@pytest.mark.django_db(transaction=True)
def test_public_form_page_shows_the_reference_number(audit_flushable, page, live_server):
    cache.clear()
    page.goto(f"{live_server.url}/inquiry-form/")
    assert page.title().startswith("お問い合わせ")
    page.fill("#id_name", "山田 太郎")
    page.fill("#id_email", "taro@example.com")
    page.fill("#id_subject", "e-Govアカウントのログインについて")
    page.fill("#id_body", "パスワードを再設定したいです。")
    page.click("button[type=submit]")

    page.wait_for_selector("#inquiry-ref")
    ref = page.inner_text("#inquiry-ref")
    inquiry = Inquiry.objects.get(ref=ref)
    assert inquiry.channel == "form" and inquiry.subject == "e-Govアカウントのログインについて"
    assert "お問い合わせを受け付けました" in page.inner_text("h1")


@pytest.mark.django_db(transaction=True)
def test_form_page_shows_field_errors_in_japanese(audit_flushable, page, live_server):
    cache.clear()
    page.goto(f"{live_server.url}/inquiry-form/")
    page.fill("#id_name", "山田")
    page.fill("#id_email", "not-an-address")
    page.click("button[type=submit]")
    assert "有効なメールアドレスを入力してください" in page.content()
    assert Inquiry.objects.count() == 0
