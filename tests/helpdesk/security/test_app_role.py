"""Under the role the application runs as (scripts/app_role.sql, docs/operations.md), the audit
trail can be appended to and read, but not truncated, updated, deleted or un-triggered: only
the owner that runs migrations can touch it. And the suite itself runs as that role on
PostgreSQL (tests/conftest.py), the live server included."""

import threading
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
from django.db import DatabaseError, connection, transaction

from faq.models import FaqEntry
from helpdesk.audit import audit_chain_verify, audit_record
from helpdesk.models import AuditEvent
from tests.conftest import APP_ROLE

GRANTS = Path(__file__).resolve().parents[3] / "scripts" / "app_role.sql"


@pytest.mark.postgres
@pytest.mark.django_db
@pytest.mark.db_owner  # creates a role of its own
def test_the_application_role_cannot_truncate_or_rewrite_the_audit_trail():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL roles")
    audit_record(actor=None, action=AuditEvent.Action.CREATE, object_type="x", object_id="before")
    # CREATE ROLE is transactional: the test's rollback removes the role again.
    role = f"helpdesk_app_test_{uuid.uuid4().hex[:8]}"
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE ROLE {role} NOLOGIN NOSUPERUSER")
        cursor.execute(GRANTS.read_text(encoding="utf-8").replace("helpdesk_app", role))
        cursor.execute(f"SET ROLE {role}")
        try:
            for statement in (
                "TRUNCATE helpdesk_auditevent",
                "UPDATE helpdesk_auditevent SET note = 'rewritten'",
                "DELETE FROM helpdesk_auditevent",
                "ALTER TABLE helpdesk_auditevent DISABLE TRIGGER helpdesk_auditevent_append_only",
            ):
                with pytest.raises(DatabaseError, match="permission denied|must be owner"), transaction.atomic():
                    cursor.execute(statement)
            # What the application does: append (under the chain's lock) and read.
            audit_record(actor=None, action=AuditEvent.Action.CREATE, object_type="x", object_id="as app")
            assert AuditEvent.objects.count() == 2
            with transaction.atomic():  # and ordinary rows stay writable
                cursor.execute("UPDATE helpdesk_servicehours SET opens_at = opens_at")
        finally:
            cursor.execute("RESET ROLE")
    assert audit_chain_verify().intact


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_suite_runs_as_the_application_role():
    """tests/conftest.py: the test's connection and any other thread's run as helpdesk_app, so a
    table the grants forget fails the tests that use it."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL roles")

    def current_user(conn) -> tuple[str, str]:
        with conn.cursor() as cursor:
            cursor.execute("SELECT current_user, session_user")
            return cursor.fetchone()

    assert current_user(connection) == (APP_ROLE, connection.settings_dict["USER"])
    seen: list[tuple[str, str]] = []

    def in_a_thread():
        from django.db import connection as thread_connection

        try:
            seen.append(current_user(thread_connection))
        finally:
            thread_connection.close()

    worker = threading.Thread(target=in_a_thread)
    worker.start()
    worker.join()
    assert seen == [(APP_ROLE, connection.settings_dict["USER"])]


@pytest.mark.postgres
@pytest.mark.db_owner  # the owner revokes and grants; the live server still runs as helpdesk_app
def test_a_missing_grant_fails_the_live_server(live_server):
    """The browser tests' server runs as the application role: without its SELECT on the FAQ
    table the public FAQ page fails; with the grant back it answers."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL roles")

    def status() -> int:
        try:
            with urllib.request.urlopen(f"{live_server.url}/faq/", timeout=30) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code

    table = FaqEntry._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"REVOKE SELECT ON {table} FROM {APP_ROLE}")
        try:
            assert status() == 500
        finally:
            cursor.execute(f"GRANT SELECT ON {table} TO {APP_ROLE}")
    assert status() == 200
