"""Test tier: fast password hashing, local memory mail, eager Celery unless a test starts a worker."""

import os

from config.settings.base import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
CELERY_TASK_ALWAYS_EAGER = True
# The broker is the real Redis of scripts/services.sh from the start (eager tasks never touch
# it): the `celery_worker` fixture then only turns eager mode off, and the client's connection
# pools stay valid from one worker test to the next.
CELERY_BROKER_URL = os.environ.get("TEST_REDIS_URL") or "memory://"
CELERY_RESULT_BACKEND = os.environ.get("TEST_REDIS_URL") or None
# Static files straight from the apps (no collectstatic in tests), as runserver does.
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True
