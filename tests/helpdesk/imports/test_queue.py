"""Uploads with the broker (Redis) gone: 503 "queue unavailable" and nothing left behind; a
run whose task could not be sent after commit stays pending and is sent when Redis is back."""

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from config.celery import app
from helpdesk.imports import services as imports
from helpdesk.imports.services import QUEUE_UNAVAILABLE, import_runs_sweep
from helpdesk.models import ImportRun
from tests.config.test_cache import StoppableRedis

pytestmark = [pytest.mark.redis, pytest.mark.django_db]

DATA = Path(__file__).resolve().parents[2] / "data"


def _set_broker(url: str) -> None:
    app.conf.broker_url = url
    app._pool = None  # the producer pool is bound to the old URL
    app.amqp._producer_pool = None


@pytest.fixture
def broker(settings, tmp_path):
    """This test's own Redis as the Celery broker, Celery not eager; restored afterwards."""
    server = StoppableRedis()
    server.start()
    settings.MEDIA_ROOT = tmp_path
    settings.HELPDESK_BROKER_CHECK_SECONDS = 0.5
    old_url, old_eager = app.conf.broker_url, app.conf.task_always_eager
    _set_broker(server.url)
    app.conf.task_always_eager = False
    settings.CELERY_TASK_ALWAYS_EAGER = False
    try:
        yield server
    finally:
        server.stop()
        _set_broker(old_url)
        app.conf.task_always_eager = old_eager


def _queued(server: StoppableRedis) -> int:
    import redis

    return redis.Redis.from_url(server.url).llen("celery")


def _files(tmp_path: Path) -> list[Path]:
    return [p for p in (tmp_path / "imports").rglob("*") if p.is_file()] if (tmp_path / "imports").exists() else []


def _post_calls(api, user):
    upload = SimpleUploadedFile("generic_day.csv", (DATA / "calls" / "generic_day.csv").read_bytes())
    return api.as_user(user).post("/api/calls/import/", {"file": upload}, format="multipart")


def _post_mail(api, user):
    upload = SimpleUploadedFile("sample.mbox", (DATA / "mail" / "sample.mbox").read_bytes())
    return api.as_user(user).post("/api/mail/imports/", {"file": upload}, format="multipart")


def _post_records(api, user):
    line = '{"type": "inquiry", "ref": "EG-20261001-Q00001", "channel": "form", "received_at": "2026-10-01T10:00:00+09:00"}'
    upload = SimpleUploadedFile("handover.jsonl", (line + "\n").encode())
    return api.as_user(user).post("/api/handover/import/", {"file": upload}, format="multipart")


UPLOADS = pytest.mark.parametrize("post", [_post_calls, _post_mail, _post_records], ids=["calls", "mail", "records"])


@UPLOADS
def test_upload_with_the_broker_down_is_503_and_leaves_nothing(
    api, admin_user, broker, tmp_path, post, django_capture_on_commit_callbacks
):
    broker.stop()
    with django_capture_on_commit_callbacks(execute=True):
        response = post(api, admin_user)
    assert response.status_code == 503, response.content
    assert response["Retry-After"] == "30"
    body = response.json()
    assert body["message"] == QUEUE_UNAVAILABLE
    assert body["code"] == "ServiceUnavailableError"
    assert ImportRun.objects.count() == 0
    assert _files(tmp_path) == []


@UPLOADS
def test_upload_with_the_broker_up_is_queued_after_commit(
    api, admin_user, broker, tmp_path, post, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = post(api, admin_user)
        assert response.status_code == 202, response.content
        assert _queued(broker) == 0  # nothing is sent before the run row is committed
    for callback in callbacks:
        callback()
    assert _queued(broker) == 1
    run = ImportRun.objects.get()
    assert run.status == ImportRun.Status.PENDING
    assert run.upload_paths and all(Path(p).exists() for p in run.upload_paths)
    assert run.queued_task["task"].startswith("helpdesk.tasks.")


def test_a_run_not_sent_after_commit_stays_pending_and_is_sent_when_redis_returns(
    api, admin_user, broker, tmp_path, monkeypatch, django_capture_on_commit_callbacks, time_machine
):
    time_machine.move_to("2026-10-01 09:00 +09:00", tick=False)
    # Redis goes away between the check and the commit.
    monkeypatch.setattr(imports, "import_broker_check", lambda **kw: None)
    broker.stop()
    with django_capture_on_commit_callbacks(execute=True):
        response = _post_calls(api, admin_user)
    assert response.status_code == 202
    run = ImportRun.objects.get()
    assert run.status == ImportRun.Status.PENDING
    assert all(Path(p).exists() for p in run.upload_paths)

    broker.start()
    _set_broker(broker.url)
    time_machine.move_to("2026-10-01 11:00 +09:00", tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        result = import_runs_sweep()
    assert result.requeued == [run.pk]
    assert _queued(broker) == 1
    run.refresh_from_db()
    assert run.status == ImportRun.Status.PENDING and run.requeued_at is not None
