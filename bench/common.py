"""What every benchmark needs: its own PostgreSQL database on the DATABASE_URL server (never
the development or test database), Django set up against it, and the process's peak RSS."""

import os
import resource
import sys
from urllib.parse import urlparse, urlunparse


def bench_database_url(name: str) -> str:
    """DATABASE_URL with the database name replaced by `name`; exits without PostgreSQL."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit('DATABASE_URL must point at PostgreSQL: eval "$(scripts/services.sh)" first')
    return urlunparse(urlparse(url)._replace(path=f"/{name}"))


def ensure_database(url: str, *, recreate: bool) -> None:
    """Create the database of `url` if it is missing; drop it first when `recreate`."""
    import psycopg

    parts = urlparse(url)
    name = parts.path.lstrip("/")
    with psycopg.connect(urlunparse(parts._replace(path="/postgres")), autocommit=True) as conn:
        if recreate:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def django_setup(url: str) -> None:
    """Django on the bench database, test settings (DEBUG off: no query log), no Redis."""
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
