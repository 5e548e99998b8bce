"""Under the role the application runs as (scripts/app_role.sql, docs/operations.md), the audit
trail can be appended to and read, but not truncated, updated, deleted or un-triggered: only
the owner that runs migrations can touch it."""

import uuid
from pathlib import Path

import pytest
from django.db import DatabaseError, connection, transaction

from helpdesk.audit import audit_chain_verify, audit_record
from helpdesk.models import AuditEvent

GRANTS = Path(__file__).resolve().parents[3] / "scripts" / "app_role.sql"


@pytest.mark.postgres
@pytest.mark.django_db
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
