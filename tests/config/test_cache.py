"""With Redis stopped, what the cache serves (throttles, rate limits, KPI months) falls back to
process memory: sign-in, the KPI page and API and the public form answer as usual, not 500."""

import shutil
import socket
import subprocess
import time

import pytest
from django.core.cache import caches

from config import cache as fail_open
from helpdesk.models import Inquiry

pytestmark = [pytest.mark.redis, pytest.mark.slow]  # stops and restarts a Redis server


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class StoppableRedis:
    """A Redis server of this test's own, so stopping it disturbs no other test."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is not installed: run the suite through `make test` (scripts/services.sh)")
        self.binary = binary
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        pytest.fail("the test's Redis did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def redis_server():
    server = StoppableRedis()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_cache(settings, redis_server):
    settings.CACHES = {"default": {"BACKEND": "config.cache.FailOpenRedisCache", "LOCATION": redis_server.url}}
    yield caches["default"]


def test_the_cache_survives_redis_going_away_and_coming_back(redis_server, redis_cache, monkeypatch):
    redis_cache.set("k", "in redis")
    assert redis_cache.get("k") == "in redis" and not redis_cache.degraded

    redis_server.stop()
    started = time.monotonic()
    assert redis_cache.get("k") is None  # not in this process's memory: a miss, not an error
    redis_cache.set("k", "in memory")
    assert redis_cache.get("k") == "in memory"
    assert redis_cache.add("n", 0) and redis_cache.incr("n") == 1  # throttles' counters still count
    assert redis_cache.degraded
    assert time.monotonic() - started < 3  # a stopped server costs one short timeout, not one per call

    monkeypatch.setattr(fail_open, "RETRY_AFTER_SECONDS", 0.0)
    redis_cache.get("k")  # (the retry moment, as if the pause had passed)
    redis_server.start()
    deadline = time.monotonic() + 5
    while redis_cache.degraded and time.monotonic() < deadline:
        redis_cache.get("k")  # the first success switches back (a pooled socket may fail once first)
    assert not redis_cache.degraded
    redis_cache.set("k", "in redis again")
    assert redis_cache.get("k") == "in redis again"


@pytest.mark.django_db
def test_sign_in_kpi_and_the_public_form_answer_with_redis_stopped(redis_server, redis_cache, client, api, reviewer):
    redis_server.stop()

    token = api.post("/api/auth/token/", {"username": "reviewer1", "password": "pass-1234-word"}, format="json")
    assert token.status_code == 200 and token.json()["token"]

    api.credentials(HTTP_AUTHORIZATION=f"Token {token.json()['token']}")
    assert api.get("/api/kpi/months/2026-09/").status_code == 200

    client.force_login(reviewer)
    assert client.get("/kpi/?from=2026-08&to=2026-09").status_code == 200

    form = {"name": "山田 太郎", "email": "taro@example.jp", "subject": "更新", "body": "電子証明書の更新について"}
    assert client.post("/inquiry-form/", form).status_code == 200
    assert api.post("/api/inquiry-form/", form, format="json").status_code == 201
    assert Inquiry.objects.count() == 2
