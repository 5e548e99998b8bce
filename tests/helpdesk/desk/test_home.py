"""Every role lands on its own home after sign-in; the desk pages keep out who may not see them."""

import pytest
from django.urls import reverse


def test_sign_in_lands_on_the_desk(client, agent):
    response = client.post(reverse("login"), {"username": "agent1", "password": "pass-1234-word"})
    assert response.status_code == 302
    assert response["Location"] == "/desk/"


@pytest.mark.parametrize(
    ("who", "lands_on"),
    [
        ("supervisor", "/desk/supervisor/"),
        ("admin_user", "/desk/admin/"),
        ("reviewer", "/kpi/"),
        ("nobody", "/"),
    ],
)
def test_each_role_is_sent_to_its_own_home(client, request, who, lands_on):
    client.force_login(request.getfixturevalue(who))
    response = client.get("/desk/")
    assert response.status_code == 302
    assert response["Location"] == lands_on


def test_an_agent_home_is_the_queue(client, agent):
    client.force_login(agent)
    response = client.get("/desk/")
    assert response.status_code == 200
    assert "desk/agent/queue.html" in [t.name for t in response.templates]


def test_the_desk_loads_htmx_from_our_own_static_files(client, agent):
    client.force_login(agent)
    body = client.get("/desk/").content.decode()
    assert "/static/vendor/htmx/htmx.min.js" in body
    assert "unpkg" not in body and "cdn" not in body.lower()


@pytest.mark.parametrize("url", ["/desk/", "/desk/queue/", "/desk/supervisor/", "/desk/admin/"])
def test_signed_out_visitors_are_sent_to_sign_in(client, db, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("url", ["/desk/queue/", "/desk/supervisor/", "/desk/admin/"])
def test_a_reviewer_never_opens_a_desk_page(client, reviewer, url):
    client.force_login(reviewer)
    assert client.get(url).status_code == 403


def test_an_agent_does_not_open_the_supervisor_or_admin_desk(client, agent):
    client.force_login(agent)
    assert client.get("/desk/supervisor/").status_code == 403
    assert client.get("/desk/admin/").status_code == 403
