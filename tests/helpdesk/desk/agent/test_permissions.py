"""Who may open the agent's desk: staff operators. A reviewer (or anyone without a role)
gets 403 on every desk URL, GET or POST; signed-out visitors are sent to sign in."""

import pytest

from helpdesk.models import Inquiry

pytestmark = pytest.mark.usefixtures("frozen")

PAGES = ["/desk/queue/", "/desk/my-call/", "/desk/inquiries/{ref}/", "/desk/inquiries/{ref}/faq-suggestions/"]
ACTIONS = ["reply", "note", "status", "assign", "escalate", "wrapup"]


@pytest.mark.parametrize("who", ["reviewer", "nobody"])
def test_no_desk_url_opens_for_a_reviewer_or_a_user_without_role(client, request, mail_inquiry, who):
    client.force_login(request.getfixturevalue(who))
    for page in PAGES:
        response = client.get(page.format(ref=mail_inquiry.ref))
        assert response.status_code == 403, page
        assert "山田" not in response.content.decode()
    for action in ACTIONS:
        response = client.post(f"/desk/inquiries/{mail_inquiry.ref}/{action}/", {"body": "x", "version": 1})
        assert response.status_code == 403, action
    mail_inquiry.refresh_from_db()
    assert mail_inquiry.version == 1


def test_signed_out_visitors_are_sent_to_sign_in(client, mail_inquiry):
    for page in PAGES:
        response = client.get(page.format(ref=mail_inquiry.ref))
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("who", ["agent", "supervisor", "admin_user"])
def test_staff_operators_open_every_page(client, request, mail_inquiry, who):
    client.force_login(request.getfixturevalue(who))
    assert client.get("/desk/queue/").status_code == 200
    response = client.get(f"/desk/inquiries/{mail_inquiry.ref}/")
    assert response.status_code == 200
    assert "taro.yamada@example.com" in response.content.decode()  # in full, audited


def test_the_nav_shows_the_agents_links_to_staff(client, agent):
    client.force_login(agent)
    assert "/desk/my-call/" in client.get("/desk/").content.decode()


def test_status_unchanged_after_refused_actions(client, reviewer, mail_inquiry):
    client.force_login(reviewer)
    client.post(f"/desk/inquiries/{mail_inquiry.ref}/status/", {"status": "closed", "version": 1})
    mail_inquiry.refresh_from_db()
    assert mail_inquiry.status == Inquiry.Status.IN_PROGRESS
