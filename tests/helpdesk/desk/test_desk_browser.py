"""The desk in a real browser: sign-in lands on the role's home, the page passes axe-core."""

import pytest

from tests.conftest import axe_violations, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_agent_signs_in_to_the_desk_and_it_passes_axe(desk_page, live_server, agent):
    sign_in(desk_page, live_server, "agent1")
    assert desk_page.url == f"{live_server.url}/desk/"
    assert desk_page.evaluate("() => typeof window.htmx") == "object"
    assert axe_violations(desk_page) == []


def test_axe_finds_a_planted_violation(page):
    # The check above could pass vacuously if axe never ran: a page with an unlabelled image
    # and an unlabelled input must be reported.
    page.set_content('<html lang="ja"><body><main><img src="data:,"><input type="text"></main></body></html>')
    assert {v["id"] for v in axe_violations(page)} >= {"image-alt", "label"}
