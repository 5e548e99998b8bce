"""Laptop / demo tier: DEBUG on, SQLite and eager Celery unless the environment says otherwise."""

from config.settings.base import *  # noqa: F403
from config.settings.base import env

DEBUG = env.bool("DEBUG", default=True)
