"""Every page is served with a Content-Security-Policy and the usual hardening headers, and
the pages that carry scripts (Swagger UI, ReDoc) still work under it."""

import pytest

pytestmark = pytest.mark.django_db

PUBLIC = ["/", "/faq/", "/inquiry-form/", "/accounts/login/", "/admin/login/", "/api/docs/", "/api/redoc/"]


@pytest.mark.parametrize("path", PUBLIC)
def test_every_page_carries_the_policy(client, path):
    response = client.get(path)
    assert response.status_code in (200, 302)
    policy = response["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert directives["script-src"] == "'self'"  # no inline or foreign script, ever
    assert directives["object-src"] == "'none'" and directives["frame-ancestors"] == "'none'"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_the_staff_pages_carry_it_too(client, reviewer, admin_user):
    client.force_login(reviewer)
    assert "script-src 'self'" in client.get("/kpi/")["Content-Security-Policy"]
    client.force_login(admin_user)
    assert "script-src 'self'" in client.get("/admin/")["Content-Security-Policy"]


def test_swagger_ui_works_under_the_policy(live_server, page):
    page.goto(f"{live_server.url}/api/docs/")
    page.wait_for_selector(".opblock-tag", timeout=20000)  # the schema loaded and rendered
    assert page.locator(".opblock-tag").count() > 3
    assert page.csp_violations == []
