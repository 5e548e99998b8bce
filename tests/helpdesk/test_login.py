"""Staff of every role sign in on /accounts/login/ (the admin site takes only admins) and land
on the page they asked for."""

import pytest

pytestmark = pytest.mark.django_db


def test_reviewer_signs_in_and_reaches_the_kpi_report(client, reviewer):
    response = client.get("/kpi/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    response = client.post("/accounts/login/", {"username": "reviewer1", "password": "pass-1234-word", "next": "/kpi/"})
    assert response.status_code == 302 and response["Location"] == "/kpi/"
    assert client.get("/kpi/").status_code == 200


def test_wrong_password_is_refused_with_a_message(client, agent):
    response = client.post("/accounts/login/", {"username": "agent1", "password": "wrong"})
    assert response.status_code == 200
    assert "正しくありません" in response.content.decode()
    assert "_auth_user_id" not in client.session
