"""Celery application. With no REDIS_URL, tasks run eagerly in-process (the demo default).

Periodic jobs are declared here, in code; each task guards itself against overlapping runs."""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("helpdesk")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Each package with Celery tasks, listed (not every installed app: `helpdesk` keeps its
# tasks in its channel packages, one tasks.py each; mail's and notifications' senders are send_tasks.py).
app.autodiscover_tasks(
    [
        "helpdesk.imports",
        "helpdesk.phone",
        "helpdesk.mail",
        "helpdesk.handover",
        "helpdesk.notifications",
        "helpdesk.desk.supervisor",
        "kpi",
        "faq",
    ]
)
app.autodiscover_tasks(["helpdesk.mail", "helpdesk.notifications"], related_name="send_tasks")

app.conf.beat_schedule = {
    "poll-imap-mailbox": {
        "task": "helpdesk.tasks.mail.mail_poll_imap",
        "schedule": float(os.environ.get("IMAP_POLL_SECONDS", "60")),
    },
    "send-outbox": {
        "task": "helpdesk.tasks.mail.mail_send_outbox",
        "schedule": 120.0,
    },
    "sweep-import-runs": {
        "task": "helpdesk.tasks.imports.import_runs_sweep_task",
        "schedule": 300.0,
    },
    # The board's day figures, stored off the request when the KPI inputs changed (a no-op otherwise).
    "board-days-refresh": {
        "task": "helpdesk.desk.supervisor.tasks.board_days_refresh",
        "schedule": float(os.environ.get("DESK_SUPERVISOR_REFRESH_SECONDS", "30")),
    },
    "kpi-recompute-open-months": {
        "task": "kpi.tasks.kpi_recompute_open_months",
        "schedule": crontab(hour=2, minute=30),
    },
    "notify-mail-due-soon": {
        "task": "helpdesk.notifications.tasks.notifications_mail_due_soon",
        "schedule": 600.0,
    },
    "faq-cluster-and-detect-surges": {
        "task": "faq.tasks.faq_cluster_and_detect",
        "schedule": crontab(hour=3, minute=0),
    },
}
