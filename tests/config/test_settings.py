"""Entry points never run with DEBUG and a published key; production refuses a weak key and
sends HSTS. Each case imports the settings in a fresh interpreter, as a process would."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent.parent
PROBE = (
    "from django.conf import settings; db = settings.DATABASES['default']; "
    "print(settings.DEBUG, settings.SECRET_KEY, settings.SECURE_HSTS_SECONDS, db['CONN_MAX_AGE'], db['CONN_HEALTH_CHECKS'])"
)


def _settings(module: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG", "DJANGO_SETTINGS_MODULE"}}
    clean.update(DJANGO_SETTINGS_MODULE=module, HELPDESK_SECRET_KEY_FILE=str(tmp_path / "secret_key"), **env)
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); " + PROBE],
        cwd=REPO,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("key", ["", "change-me", "insecure-dev-key-change-me", "short"])
def test_production_refuses_a_published_or_weak_key(tmp_path, key):
    result = _settings("config.settings.production", tmp_path, SECRET_KEY=key)
    assert result.returncode != 0
    assert "SECRET_KEY is unset, too short or a published example" in result.stderr


@pytest.mark.slow
def test_production_starts_with_a_real_key_and_sends_hsts(tmp_path):
    result = _settings("config.settings.production", tmp_path, SECRET_KEY="k" * 10 + "a-real-random-key-of-forty-chars")
    assert result.returncode == 0, result.stderr
    debug, _key, hsts, conn_max_age, health_checks = result.stdout.split()
    assert debug == "False" and int(hsts) >= 31_536_000
    # Persistent connections, checked before reuse (a new connection per request cost ~6 ms).
    assert int(conn_max_age) >= 60 and health_checks == "True"


@pytest.mark.slow  # starts the entry points in processes of their own
@pytest.mark.parametrize("key", [None, "change-me"])
def test_the_default_entry_points_never_run_debug_with_a_published_key(tmp_path, key):
    """manage.py and the Celery app default to config.settings.local (DEBUG on)."""
    env = {} if key is None else {"SECRET_KEY": key}
    first = _settings("config.settings.local", tmp_path, **env)
    assert first.returncode == 0, first.stderr
    debug, secret, *_ = first.stdout.split()
    assert debug == "True"
    assert secret not in {"", "change-me", "insecure-dev-key-change-me"} and len(secret) >= 50
    # The checkout keeps its key: sessions survive a restart of the dev server.
    assert _settings("config.settings.local", tmp_path, **env).stdout.split()[1] == secret
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_manage_py_and_celery_default_to_the_guarded_tier():
    for entry in (REPO / "manage.py", REPO / "config" / "celery.py"):
        assert '"DJANGO_SETTINGS_MODULE", "config.settings.local"' in entry.read_text()
