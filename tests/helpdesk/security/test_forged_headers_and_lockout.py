"""Limits hold against forged headers, and every credential path locks out a guesser.

X-Forwarded-For is written by the client unless a proxy of ours wrote it: rotating it must
not buy a fresh throttle budget (the public form's acknowledgement mails, the token
endpoint's password guesses). Sign-in on /accounts/login/, /admin/login/ and
/api/auth/token/ is counted by django-axes per user and address."""

import datetime as dt

import pytest
import time_machine
from django.conf import settings as django_settings
from django.core.cache import cache
from django.test import RequestFactory
from rest_framework.throttling import BaseThrottle

from helpdesk.client_ip import client_ip
from helpdesk.models import Inquiry

pytestmark = pytest.mark.django_db

FORM = {
    "name": "山田 太郎",
    "email": "taro@example.jp",
    "subject": "電子証明書の更新について",
    "body": "電子証明書の更新手順を教えてください。",
}
PASSWORD = "pass-1234-word"  # tests.factories.UserFactory's password


@pytest.fixture(autouse=True)
def _fresh_counters():
    cache.clear()
    yield
    cache.clear()


def _forged(n: int) -> str:
    return f"198.51.100.{n % 250}, 10.0.0.{n % 250}"


# --- the rule ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("trusted", "forwarded", "expected"),
    [
        (0, None, "192.0.2.1"),
        (0, "198.51.100.9", "192.0.2.1"),  # no proxy of ours: the header is the client's own text
        (1, None, "192.0.2.1"),
        (1, "198.51.100.9", "198.51.100.9"),
        (1, "6.6.6.6, 198.51.100.9", "198.51.100.9"),  # left of our proxy's entry: forged, unused
        (2, "6.6.6.6, 198.51.100.9, 10.0.0.2", "198.51.100.9"),
        (3, "198.51.100.9", "198.51.100.9"),  # fewer hops than proxies: the left-most
    ],
)
def test_client_address_believes_only_the_trusted_proxies(settings, trusted, forwarded, expected):
    settings.HELPDESK_TRUSTED_PROXY_COUNT = trusted
    settings.REST_FRAMEWORK = {**django_settings.REST_FRAMEWORK, "NUM_PROXIES": trusted}
    extra = {"REMOTE_ADDR": "192.0.2.1"}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    request = RequestFactory().get("/", **extra)
    assert client_ip(request) == expected
    # DRF's throttles apply the same rule (NUM_PROXIES comes from the same setting).
    assert BaseThrottle().get_ident(request) == expected


def test_drf_throttles_take_the_proxy_count_from_the_one_setting():
    assert django_settings.REST_FRAMEWORK["NUM_PROXIES"] == django_settings.HELPDESK_TRUSTED_PROXY_COUNT == 0


# --- throttles ------------------------------------------------------------------------------


def test_rotating_x_forwarded_for_does_not_bypass_the_form_api_throttle(api):
    limit = int(django_settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["inquiry_form"].split("/")[0])
    codes = [
        api.post("/api/inquiry-form/", FORM, format="json", REMOTE_ADDR="203.0.113.7", HTTP_X_FORWARDED_FOR=_forged(n))
        for n in range(limit + 5)
    ]
    codes = [r.status_code for r in codes]
    assert codes[:limit] == [201] * limit
    assert set(codes[limit:]) == {429}
    assert Inquiry.objects.count() == limit


def test_rotating_x_forwarded_for_does_not_bypass_the_form_page_throttle(client):
    codes = [
        client.post("/inquiry-form/", FORM, REMOTE_ADDR="203.0.113.8", HTTP_X_FORWARDED_FOR=_forged(n)).status_code
        for n in range(12)
    ]
    assert codes[:10] == [200] * 10 and codes[10:] == [429, 429]
    assert Inquiry.objects.count() == 10


def test_rotating_x_forwarded_for_does_not_bypass_the_token_throttle(api, agent, settings):
    settings.AXES_ENABLED = False  # the throttle alone, not the lockout
    codes = [
        api.post(
            "/api/auth/token/",
            {"username": "nobody", "password": f"guess-{n}"},
            format="json",
            REMOTE_ADDR="203.0.113.9",
            HTTP_X_FORWARDED_FOR=_forged(n),
        ).status_code
        for n in range(32)
    ]
    assert codes[:30] == [400] * 30 and codes[30:] == [429, 429]


# --- lockout on every credential path ---------------------------------------------------------


def _sign_in(client, path: str, username: str, password: str, addr: str):
    if path == "/api/auth/token/":
        return client.post(path, {"username": username, "password": password}, REMOTE_ADDR=addr)
    return client.post(path, {"username": username, "password": password, "next": "/"}, REMOTE_ADDR=addr)


@pytest.mark.parametrize("path", ["/accounts/login/", "/admin/login/", "/api/auth/token/"])
def test_five_wrong_passwords_lock_the_user_out_from_that_address(client, admin_user, path):
    user = admin_user
    limit = django_settings.AXES_FAILURE_LIMIT
    with time_machine.travel(dt.datetime(2026, 10, 1, 10, 0, tzinfo=dt.UTC), tick=False) as clock:
        for n in range(limit - 1):
            assert _sign_in(client, path, user.username, f"wrong-{n}", "203.0.113.20").status_code in (200, 400)
        # The limit-th failure locks; from then on even the right password is refused.
        assert _sign_in(client, path, user.username, "wrong-last", "203.0.113.20").status_code == 429
        locked = _sign_in(client, path, user.username, PASSWORD, "203.0.113.20")
        assert locked.status_code == 429
        if path != "/api/auth/token/":
            assert "ログインを一時停止しました" in locked.content.decode()
        # Another address (a colleague in another office) is not locked with it...
        assert _sign_in(client, path, user.username, PASSWORD, "203.0.113.21").status_code in (200, 302)
        # ...and a forged header does not make a new address.
        forged = client.post(
            path,
            {"username": user.username, "password": PASSWORD},
            REMOTE_ADDR="203.0.113.20",
            HTTP_X_FORWARDED_FOR="198.51.100.77",
        )
        assert forged.status_code == 429
        # After the cool-off the right password works again.
        clock.shift(dt.timedelta(minutes=16))
        assert _sign_in(client, path, user.username, PASSWORD, "203.0.113.20").status_code in (200, 302)
