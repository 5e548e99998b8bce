"""Roles as groups, the default week (Mon–Fri 9:00–17:00), and PostgreSQL-only pieces:
trigram indexes for Japanese substring search, and a trigger that keeps the audit trail
append-only."""

import datetime as dt

from django.db import migrations

ROLES = ["agent", "supervisor", "admin", "reviewer"]


def create_roles_and_week(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    ServiceHours = apps.get_model("helpdesk", "ServiceHours")
    for name in ROLES:
        Group.objects.get_or_create(name=name)
    for weekday in range(5):
        ServiceHours.objects.get_or_create(
            weekday=weekday, defaults={"opens_at": dt.time(9, 0), "closes_at": dt.time(17, 0)}
        )


PG_FORWARD = """
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX IF NOT EXISTS inquiry_subject_trgm ON helpdesk_inquiry USING gin (subject gin_trgm_ops);
CREATE INDEX IF NOT EXISTS inquiry_body_trgm ON helpdesk_inquiry USING gin (body gin_trgm_ops);
CREATE OR REPLACE FUNCTION helpdesk_audit_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'helpdesk_auditevent is append-only';
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS helpdesk_auditevent_append_only ON helpdesk_auditevent;
CREATE TRIGGER helpdesk_auditevent_append_only BEFORE UPDATE OR DELETE ON helpdesk_auditevent
  FOR EACH ROW EXECUTE FUNCTION helpdesk_audit_append_only();
"""
PG_BACKWARD = """
DROP TRIGGER IF EXISTS helpdesk_auditevent_append_only ON helpdesk_auditevent;
DROP FUNCTION IF EXISTS helpdesk_audit_append_only();
DROP INDEX IF EXISTS inquiry_subject_trgm;
DROP INDEX IF EXISTS inquiry_body_trgm;
"""
SQLITE_FORWARD = [
    """CREATE TRIGGER IF NOT EXISTS helpdesk_auditevent_no_update BEFORE UPDATE ON helpdesk_auditevent
       BEGIN SELECT RAISE(ABORT, 'helpdesk_auditevent is append-only'); END;""",
    """CREATE TRIGGER IF NOT EXISTS helpdesk_auditevent_no_delete BEFORE DELETE ON helpdesk_auditevent
       BEGIN SELECT RAISE(ABORT, 'helpdesk_auditevent is append-only'); END;""",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS helpdesk_auditevent_no_update;",
    "DROP TRIGGER IF EXISTS helpdesk_auditevent_no_delete;",
]


def vendor_sql(forward: bool):
    def run(apps, schema_editor):
        vendor = schema_editor.connection.vendor
        if vendor == "postgresql":
            schema_editor.execute(PG_FORWARD if forward else PG_BACKWARD)
        elif vendor == "sqlite":
            for statement in SQLITE_FORWARD if forward else SQLITE_BACKWARD:
                schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("helpdesk", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [
        migrations.RunPython(create_roles_and_week, migrations.RunPython.noop),
        migrations.RunPython(vendor_sql(True), vendor_sql(False)),
    ]
