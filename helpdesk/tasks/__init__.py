"""Celery tasks of the helpdesk app, one module per area (thin: ids in, call a service)."""

from helpdesk.notifications.tasks import *  # noqa: F403 — the worker registers them through here
from helpdesk.tasks.handover import *  # noqa: F403
from helpdesk.tasks.imports import *  # noqa: F403
from helpdesk.tasks.mail import *  # noqa: F403
from helpdesk.tasks.phone import *  # noqa: F403
