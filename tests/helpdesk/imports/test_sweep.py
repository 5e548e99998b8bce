"""The sweeper: runs whose worker is gone are marked failed (uploads removed), pending runs
are queued again once while their upload is still there."""

import io

import pytest
from django.core.management import call_command

from helpdesk.imports import services as imports
from helpdesk.imports.services import (
    import_run_begin,
    import_run_create_pending,
    import_run_progress,
    import_runs_sweep,
)
from helpdesk.imports.tasks import import_runs_sweep_task
from helpdesk.management.base import ExitCode
from helpdesk.management.commands.sweep_import_runs import Command
from helpdesk.models import AuditEvent, ImportRun

pytestmark = pytest.mark.django_db

T0 = "2026-10-01 09:00 +09:00"


@pytest.fixture
def upload(tmp_path):
    path = tmp_path / "run-upload.csv"
    path.write_bytes(b"caller\n09012345678\n")
    return path


def _pending(upload=None, queued=True) -> ImportRun:
    run = import_run_create_pending(kind=ImportRun.Kind.CALLS_GENERIC, source_name="day.csv")
    if upload is not None:
        run.upload_paths = [str(upload)]
    if queued:
        run.queued_task = {"task": "helpdesk.tasks.phone.calls_import_files", "args": [run.pk], "kwargs": {}}
    run.save()
    return run


def test_begin_and_progress_beat_the_heart(time_machine):
    time_machine.move_to(T0, tick=False)
    run = _pending()
    import_run_begin(run=run)
    first = ImportRun.objects.get(pk=run.pk).heartbeat_at
    assert first is not None
    time_machine.shift(60)
    import_run_progress(run=run, done=5)
    assert ImportRun.objects.get(pk=run.pk).heartbeat_at > first


def test_a_running_run_without_progress_is_failed_and_its_upload_removed(time_machine, upload, settings):
    settings.HELPDESK_IMPORT_STALE_MINUTES = 30
    time_machine.move_to(T0, tick=False)
    run = _pending(upload)
    import_run_begin(run=run)
    time_machine.shift(29 * 60)
    assert import_runs_sweep().failed == []  # still within its time
    time_machine.shift(2 * 60)
    result = import_runs_sweep()
    assert result.failed == [run.pk]
    run.refresh_from_db()
    assert run.status == ImportRun.Status.FAILED
    assert "no progress" in run.error and run.finished_at is not None
    assert not upload.exists()
    assert AuditEvent.objects.filter(action=AuditEvent.Action.IMPORT, object_id=str(run.pk)).exists()


def test_a_running_run_with_recent_progress_is_left_alone(time_machine, settings):
    settings.HELPDESK_IMPORT_STALE_MINUTES = 30
    time_machine.move_to(T0, tick=False)
    run = _pending()
    import_run_begin(run=run)
    time_machine.shift(25 * 60)
    import_run_progress(run=run, done=10)
    time_machine.shift(25 * 60)
    assert import_runs_sweep().failed == []
    assert ImportRun.objects.get(pk=run.pk).status == ImportRun.Status.RUNNING


def test_an_old_pending_run_is_queued_again_once_then_failed(
    time_machine, upload, settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.HELPDESK_IMPORT_PENDING_MINUTES = 60
    sent = []
    monkeypatch.setattr(imports, "_publish", lambda run: sent.append(run.pk) or True)
    time_machine.move_to(T0, tick=False)
    run = _pending(upload)
    time_machine.shift(59 * 60)
    with django_capture_on_commit_callbacks(execute=True):
        assert import_runs_sweep().requeued == []
    time_machine.shift(2 * 60)
    with django_capture_on_commit_callbacks(execute=True):
        assert import_runs_sweep().requeued == [run.pk]
    assert sent == [run.pk]
    assert ImportRun.objects.get(pk=run.pk).status == ImportRun.Status.PENDING and upload.exists()
    time_machine.shift(30 * 60)  # queued again: it gets its own time
    with django_capture_on_commit_callbacks(execute=True):
        assert import_runs_sweep().failed == []
    time_machine.shift(31 * 60)  # still not picked up: given up, not queued a second time
    with django_capture_on_commit_callbacks(execute=True):
        assert import_runs_sweep().failed == [run.pk]
    assert sent == [run.pk]
    run.refresh_from_db()
    assert run.status == ImportRun.Status.FAILED and "never picked up" in run.error
    assert not upload.exists()


def test_an_old_pending_run_whose_upload_is_gone_is_failed(time_machine, tmp_path, monkeypatch):
    monkeypatch.setattr(imports, "_publish", lambda run: pytest.fail("must not be queued"))
    time_machine.move_to(T0, tick=False)
    gone = _pending(tmp_path / "deleted.csv")
    unqueued = _pending(queued=False)  # queued some other way: nothing to send again
    time_machine.shift(2 * 3600)
    assert sorted(import_runs_sweep().failed) == sorted([gone.pk, unqueued.pk])
    assert "upload gone" in ImportRun.objects.get(pk=gone.pk).error


def test_the_beat_task_and_the_command_sweep(time_machine, upload, settings):
    from config.celery import app

    assert any(e["task"] == "helpdesk.tasks.imports.import_runs_sweep_task" for e in app.conf.beat_schedule.values())
    time_machine.move_to(T0, tick=False)
    first = _pending(upload, queued=False)
    import_run_begin(run=first)
    time_machine.shift(3 * 3600)
    assert import_runs_sweep_task() == "1 failed, 0 queued again, 0 left pending"
    second = _pending(queued=False)
    import_run_begin(run=second)
    time_machine.shift(3 * 3600)
    out, command = io.StringIO(), Command()
    call_command(command, stdout=out)
    assert command.exit_code == ExitCode.OK
    assert f"failed: {second.pk}" in out.getvalue()


def test_the_command_says_partial_when_the_broker_refuses(
    time_machine, upload, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(imports, "_publish", lambda run: False)
    time_machine.move_to(T0, tick=False)
    run = _pending(upload)
    time_machine.shift(2 * 3600)
    out, err, command = io.StringIO(), io.StringIO(), Command()
    with django_capture_on_commit_callbacks(execute=True):
        call_command(command, stdout=out, stderr=err)
    assert command.exit_code == ExitCode.PARTIAL
    assert str(run.pk) in err.getvalue()
    run.refresh_from_db()
    assert run.status == ImportRun.Status.PENDING and run.requeued_at is None  # tried again next time


def test_a_late_mail_task_for_a_swept_run_does_nothing(tmp_path, time_machine):
    from helpdesk.mail.tasks import mail_import_run

    time_machine.move_to(T0, tick=False)
    mbox = tmp_path / "late.mbox"
    mbox.write_bytes(b"From a@example.jp Thu Oct  1 09:00:00 2026\nMessage-ID: <late@x>\nSubject: s\n\nbody\n")
    run = import_run_create_pending(kind=ImportRun.Kind.MAIL, source_name="late.mbox")
    time_machine.shift(3 * 3600)
    assert import_runs_sweep().failed == [run.pk]
    assert mail_import_run(run.pk, [str(mbox)], False) == "0 read, 0 created, 0 updated, 0 unchanged, 0 rejected"
    run.refresh_from_db()
    assert run.status == ImportRun.Status.FAILED and run.read == 0
