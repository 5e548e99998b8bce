"""Production tier: refuses to start without a real SECRET_KEY; secure cookies, HSTS and the
Content-Security-Policy of base.py behind the TLS proxy."""

from django.core.exceptions import ImproperlyConfigured

from config.settings.base import *  # noqa: F403
from config.settings.base import PUBLISHED_SECRET_KEYS, env

SECRET_KEY = env("SECRET_KEY", default="")
if SECRET_KEY in PUBLISHED_SECRET_KEYS or len(SECRET_KEY) < 32:
    raise ImproperlyConfigured(
        "SECRET_KEY is unset, too short or a published example: set a random one of 32+ characters, e.g. "
        "python -c 'import secrets; print(secrets.token_urlsafe(50))'"
    )
DEBUG = False
# Persistent connections (a new PostgreSQL connection cost ~6 ms of a 15 ms request), checked
# before reuse so a restarted database costs one retry, not an error.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=600)  # noqa: F405
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True  # noqa: F405
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Browsers remember to use HTTPS only (a year; 0 turns it off while a site is first moved to TLS).
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
