"""Laptop / demo tier: DEBUG on, SQLite and eager Celery unless the environment says otherwise.

`manage.py` and the Celery app default to this tier, so it must be safe to start by accident:
DEBUG never runs with a published key. Without a real SECRET_KEY in the environment, the
checkout makes a random key of its own once and keeps it in `var/secret_key` (untracked)."""

import secrets
from pathlib import Path

from config.settings.base import *  # noqa: F403
from config.settings.base import BASE_DIR, PUBLISHED_SECRET_KEYS, SECRET_KEY, env

DEBUG = env.bool("DEBUG", default=True)


def _checkout_secret_key(path: Path) -> str:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


if SECRET_KEY in PUBLISHED_SECRET_KEYS:
    SECRET_KEY = _checkout_secret_key(
        Path(env("HELPDESK_SECRET_KEY_FILE", default=str(BASE_DIR / "var" / "secret_key")))
    )
