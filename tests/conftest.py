"""Shared fixtures. Real servers (PostgreSQL, Redis, Dovecot, Chromium) are started by
scripts/services.sh; tests that need one are marked and skip nothing silently: a missing
server is an error, not a skip, when its environment variable is set."""

import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from helpdesk.models import Role
from tests.factories import UserFactory

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "tests" / "data"
ARTIFACTS = REPO / "tests" / "artifacts"


# Tests that use a real server are marked by the fixture they use, so a run can select or
# deselect them by marker (the SQLite pass of `make test` deselects them) instead of skipping.
_FIXTURE_MARKERS = {"celery_worker": "celery_worker", "page": "browser", "browser": "browser"}
# A real worker or browser costs seconds per test: they are `slow` too (`-m "not slow"`).
_SLOW_MARKERS = ("celery_worker", "browser")


def pytest_collection_modifyitems(config, items):
    for item in items:
        for fixture, marker in _FIXTURE_MARKERS.items():
            if fixture in getattr(item, "fixturenames", ()):
                item.add_marker(getattr(pytest.mark, marker))
        if any(item.get_closest_marker(m) for m in _SLOW_MARKERS):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(autouse=True)
def _migration_rows_after_flush(request):
    """A transactional test starts from a database that the previous one flushed, which also
    removes the rows migrations create (role groups, the default Mon–Fri 9–17 week). Put them
    back, as a freshly migrated database has them."""
    marker = request.node.get_closest_marker("django_db")
    transactional = (marker is not None and marker.kwargs.get("transaction")) or (
        "transactional_db" in request.fixturenames or "live_server" in request.fixturenames
    )
    if transactional:
        request.getfixturevalue("transactional_db")
        import datetime as dt

        from django.contrib.auth.models import Group

        from helpdesk.models import ServiceHours

        for name in Role.values:
            Group.objects.get_or_create(name=name)
        if not ServiceHours.objects.exists():
            ServiceHours.objects.bulk_create(
                ServiceHours(weekday=wd, opens_at=dt.time(9), closes_at=dt.time(17)) for wd in range(5)
            )


# --- PostgreSQL: the application runs as a role that owns no table ----------------------------
#
# Production migrates as the owner and runs as `helpdesk_app`, which scripts/app_role.sql grants
# rows only (docs/operations.md, "Database roles"). The suite does the same: the test database is
# created, migrated and flushed by the owner (DATABASE_URL's user), and every test runs as
# `helpdesk_app` — the test's own connection (SET ROLE), the connections of other threads (the
# live server behind the browser tests, the phone importer's writers) and the Celery worker
# process. A table or sequence the grants forget fails the tests that touch it. A test that
# does what only the owner may (rewrite the audit trail to prove verify_audit sees it, ANALYZE,
# DDL, migrate) is marked `db_owner`.

APP_ROLE = "helpdesk_app"
APP_ROLE_GRANTS = REPO / "scripts" / "app_role.sql"


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """The test database as production has it: the application role exists and holds exactly
    scripts/app_role.sql's grants; connections opened outside the main thread run as it."""
    from django.db import connection
    from django.db.backends.signals import connection_created

    if connection.vendor != "postgresql":
        yield
        return
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        # The cluster's role (scripts/services.sh creates it with a password); several test
        # databases on one server may race to create it.
        cursor.execute(
            f"DO $$ BEGIN CREATE ROLE {APP_ROLE} NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE; "
            "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
        )
        cursor.execute(APP_ROLE_GRANTS.read_text(encoding="utf-8"))
    connection_created.connect(_threads_as_app_role, dispatch_uid="tests.app_role")
    yield
    connection_created.disconnect(dispatch_uid="tests.app_role")


def _threads_as_app_role(sender, connection, **kwargs) -> None:
    if connection.vendor == "postgresql" and threading.current_thread() is not threading.main_thread():
        with connection.cursor() as cursor:
            cursor.execute(f"SET ROLE {APP_ROLE}")


def _uses_database(request) -> str | None:
    """'transactional', 'db' or None: what kind of database access the test has."""
    marker = request.node.get_closest_marker("django_db")
    names = request.fixturenames
    if (marker is not None and marker.kwargs.get("transaction")) or (
        "transactional_db" in names or "live_server" in names
    ):
        return "transactional"
    if marker is not None or "db" in names:
        return "db"
    return None


@pytest.fixture(autouse=True)
def _application_role(request):
    """Run the test as the application role (above), unless it is marked `db_owner`. The owner
    takes over again before the flush that ends a transactional test."""
    kind = _uses_database(request)
    if kind is None or request.node.get_closest_marker("db_owner"):
        yield
        return
    request.getfixturevalue("transactional_db" if kind == "transactional" else "db")
    from django.db import DatabaseError, connection

    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute(f"SET ROLE {APP_ROLE}")
    yield
    try:
        with connection.cursor() as cursor:
            cursor.execute("RESET ROLE")
    except DatabaseError:
        pass  # the test's transaction failed: its rollback undoes the SET ROLE as well


@pytest.fixture
def test_data() -> Path:
    """Every file a test reads lives under tests/data/ (the repository stands alone)."""
    return DATA


def _user(role: str | None, **kwargs):
    if role:
        # A transactional test (real Celery worker) flushes the groups the migrations created.
        from django.contrib.auth.models import Group

        Group.objects.get_or_create(name=role)
    return UserFactory(roles=[role] if role else [], **kwargs)


@pytest.fixture
def agent(db):
    return _user(Role.AGENT, username="agent1")


@pytest.fixture
def other_agent(db):
    return _user(Role.AGENT, username="agent2")


@pytest.fixture
def supervisor(db):
    return _user(Role.SUPERVISOR, username="sv1")


@pytest.fixture
def admin_user(db):
    return _user(Role.ADMIN, username="admin1")


@pytest.fixture
def reviewer(db):
    return _user(Role.REVIEWER, username="reviewer1")


@pytest.fixture
def nobody(db):
    """Authenticated, but in no role."""
    return _user(None, username="norole")


@pytest.fixture
def api():
    """An API client; `api.as_user(user)` authenticates it."""
    client = APIClient()

    def as_user(user):
        client.force_authenticate(user=user)
        return client

    client.as_user = as_user  # type: ignore[attr-defined]
    return client


# --- Redis and a real Celery worker ---------------------------------------------------------


@pytest.fixture
def redis_url() -> str:
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        pytest.fail("TEST_REDIS_URL is not set: run the suite through `make test` (scripts/services.sh).")
    return url


@pytest.fixture
def celery_worker(transactional_db, redis_url, settings):
    """A real `celery worker` process on the real Redis broker, using this test's database.
    Tasks sent from the test travel through Redis to the worker and back."""
    from django.db import connection

    from config.celery import app

    db = connection.settings_dict
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.worker_test",
        REDIS_URL=redis_url,
        TEST_DATABASE_NAME=db["NAME"],
    )
    if connection.vendor == "postgresql":
        env["TEST_DATABASE_ROLE"] = APP_ROLE  # the worker runs as the application too
    if app.conf.broker_url != redis_url:
        pytest.fail(f"the test settings' broker is {app.conf.broker_url!r}, not the test Redis {redis_url!r}")
    # A file, not a pipe: a chatty worker must never block on a full pipe.
    log = tempfile.TemporaryFile()  # noqa: SIM115 — closed in the fixture teardown
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool=solo",
            "--concurrency=1",
            "--loglevel=WARNING",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    app.conf.task_always_eager = False
    settings.CELERY_TASK_ALWAYS_EAGER = False
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if app.control.ping(timeout=0.5):
                    break
            except Exception:  # broker not ready yet
                pass
            if proc.poll() is not None:
                break
        else:
            log.seek(0)
            raise RuntimeError(f"Celery worker did not answer a ping within 30 s:\n{log.read().decode()[-4000:]}")
        if proc.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"Celery worker died:\n{log.read().decode()[-4000:]}")
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        app.conf.task_always_eager = True
        log.close()


# --- Headless Chromium ----------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls of the test and of
    # the live server's teardown are still synchronous, so Django's guard must stand aside.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

    executable = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=executable,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    """A Chromium page. Any Content-Security-Policy violation the page reports fails the test:
    every page must work under the policy it is served with (config/settings/base.py)."""
    context = browser.new_context(locale="ja-JP", timezone_id="Asia/Tokyo", viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    violations: list[str] = []
    pg.on("console", lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None)
    pg.csp_violations = violations  # type: ignore[attr-defined]
    yield pg
    context.close()
    assert violations == [], f"the page broke its Content-Security-Policy: {violations}"


@pytest.fixture
def screenshot_dir() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


# --- The desk in the browser: 1366×768, nothing leaves the server, axe-core -------------------


@pytest.fixture
def desk_page(browser, live_server):
    """A Chromium page at the desk's smallest supported screen (1366×768). Fails the test if
    the page breaks its CSP or sends any request to a host other than the live server."""
    context = browser.new_context(locale="ja-JP", timezone_id="Asia/Tokyo", viewport={"width": 1366, "height": 768})
    pg = context.new_page()
    violations: list[str] = []
    outside: list[str] = []
    pg.on("console", lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None)
    pg.on(
        "request",
        lambda req: None if req.url.startswith((live_server.url, "data:", "blob:")) else outside.append(req.url),
    )
    pg.csp_violations = violations  # type: ignore[attr-defined]
    pg.requests_outside = outside  # type: ignore[attr-defined]
    yield pg
    context.close()
    assert violations == [], f"the page broke its Content-Security-Policy: {violations}"
    assert outside == [], f"the page sent requests off the server: {outside}"


def sign_in(page, live_server, username: str, password: str = "pass-1234-word") -> None:
    """Sign in through the real form, as a person would."""
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit], input[type=submit]")
    page.wait_for_load_state("networkidle")


AXE_SOURCE = DATA / "vendor" / "axe-core" / "axe.min.js"


def axe_violations(page, impacts: tuple[str, ...] = ("serious", "critical")) -> list[dict]:
    """Run axe-core (vendored, tests/data/vendor/) on the page as it is now and return the
    violations of the given impacts, each with its rule id, help text and failing targets.
    Evaluated through the browser's debugging protocol, so the page's CSP stays as served."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE_SOURCE.read_text(encoding="utf-8"))
    result = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations")
    return [
        {"id": v["id"], "impact": v["impact"], "help": v["help"], "targets": [n["target"] for n in v["nodes"]]}
        for v in result
        if v["impact"] in impacts
    ]
