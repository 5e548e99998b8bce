"""A Celery worker process started by the test suite: the same database as the test that
started it (pytest-django's test database), a real Redis broker."""

import os

from config.settings.test import *  # noqa: F403
from config.settings.test import DATABASES

DATABASES["default"]["NAME"] = os.environ["TEST_DATABASE_NAME"]
CELERY_TASK_ALWAYS_EAGER = False
CELERY_BROKER_URL = os.environ["REDIS_URL"]
CELERY_RESULT_BACKEND = os.environ["REDIS_URL"]
# The role the application runs as (tests/conftest.py): the worker's connections take it at
# connect time, as production's would by their DATABASE_URL user.
if os.environ.get("TEST_DATABASE_ROLE"):
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = f"-c role={os.environ['TEST_DATABASE_ROLE']}"
