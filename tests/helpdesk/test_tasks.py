"""Celery task names are wire names (ImportRun.queued_task stores them, the beat schedule
names them): they stayed fixed when the tasks moved into their channel packages."""

from config.celery import app

WIRE_NAMES = {
    "helpdesk.tasks.phone.calls_import_files": "helpdesk.phone.tasks",
    "helpdesk.tasks.phone.calls_reclassify_service_hours_task": "helpdesk.phone.tasks",
    "helpdesk.tasks.mail.mail_poll_imap": "helpdesk.mail.tasks",
    "helpdesk.tasks.mail.mail_import_run": "helpdesk.mail.tasks",
    "helpdesk.tasks.mail.mail_send_message": "helpdesk.mail.send_tasks",
    "helpdesk.tasks.mail.mail_send_outbox": "helpdesk.mail.send_tasks",
    "helpdesk.tasks.handover.handover_import_file": "helpdesk.handover.tasks",
    "helpdesk.tasks.imports.import_runs_sweep_task": "helpdesk.imports.tasks",
}


def test_every_task_keeps_its_wire_name_and_lives_in_its_package():
    app.loader.import_default_modules()
    found = {name: app.tasks[name].run.__module__ for name in WIRE_NAMES if name in app.tasks}
    assert found == WIRE_NAMES


def test_the_beat_schedule_names_registered_tasks():
    app.loader.import_default_modules()
    assert {entry["task"] for entry in app.conf.beat_schedule.values()} <= set(app.tasks)
