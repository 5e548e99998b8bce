"""The audit trail becomes tamper-evident: every row carries `chain_hash` = sha256(previous
row's hash + its content). Rows already written are chained here, in id order.

The trail is append-only by trigger, so the hashes of existing rows are filled with the
trigger lifted for the length of this migration (it runs as the owner of the tables, in one
transaction): on PostgreSQL it is disabled and enabled again; on SQLite, where changing the
table rebuilds it without its triggers, they are created again as the last step."""

import django.utils.timezone
from django.db import migrations, models

from helpdesk.models.audit import GENESIS_HASH, audit_canonical, audit_chain_hash

SQLITE_TRIGGERS = [
    """CREATE TRIGGER IF NOT EXISTS helpdesk_auditevent_no_update BEFORE UPDATE ON helpdesk_auditevent
       BEGIN SELECT RAISE(ABORT, 'helpdesk_auditevent is append-only'); END;""",
    """CREATE TRIGGER IF NOT EXISTS helpdesk_auditevent_no_delete BEFORE DELETE ON helpdesk_auditevent
       BEGIN SELECT RAISE(ABORT, 'helpdesk_auditevent is append-only'); END;""",
]


def restore_sqlite_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_TRIGGERS:
            schema_editor.execute(statement)


def chain_existing_rows(apps, schema_editor):
    AuditEvent = apps.get_model("helpdesk", "AuditEvent")
    connection = schema_editor.connection
    vendor = connection.vendor
    with connection.cursor() as cursor:
        if vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # ALTER TABLE refuses pending deferred checks
            cursor.execute("ALTER TABLE helpdesk_auditevent DISABLE TRIGGER helpdesk_auditevent_append_only")
        elif vendor == "sqlite":
            cursor.execute("DROP TRIGGER IF EXISTS helpdesk_auditevent_no_update")
            cursor.execute("DROP TRIGGER IF EXISTS helpdesk_auditevent_no_delete")
        prev, batch = GENESIS_HASH, []
        rows = AuditEvent.objects.order_by("id").values_list(
            "id", "at", "actor_id", "actor_label", "action", "object_type", "object_id", "changes", "note"
        )
        for event_id, at, actor_id, actor_label, action, object_type, object_id, changes, note in rows.iterator(
            chunk_size=5000
        ):
            canonical = audit_canonical(
                at=at,
                actor_id=actor_id,
                actor_label=actor_label,
                action=action,
                object_type=object_type,
                object_id=object_id,
                changes=changes,
                note=note,
            )
            digest = audit_chain_hash(prev, canonical)
            batch.append((prev, digest, event_id))
            prev = digest
            if len(batch) >= 5000:
                _write(cursor, batch)
        _write(cursor, batch)
        if vendor == "postgresql":
            # Deferred checks queued by the updates must run before the table is altered again.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("ALTER TABLE helpdesk_auditevent ENABLE TRIGGER helpdesk_auditevent_append_only")


def _write(cursor, batch: list) -> None:
    if not batch:
        return
    if cursor.db.vendor == "postgresql":  # one statement per batch, not one per row
        prevs, digests, ids = zip(*batch, strict=True)
        cursor.execute(
            "UPDATE helpdesk_auditevent AS a SET prev_hash = v.p, chain_hash = v.c"
            " FROM unnest(%s::bigint[], %s::text[], %s::text[]) AS v(id, p, c) WHERE a.id = v.id",
            [list(ids), list(prevs), list(digests)],
        )
    else:
        cursor.executemany("UPDATE helpdesk_auditevent SET prev_hash = %s, chain_hash = %s WHERE id = %s", batch)
    batch.clear()


class Migration(migrations.Migration):
    dependencies = [
        ("helpdesk", "0012_handover_optional_fields"),
    ]

    operations = [
        # Reversed last: puts the SQLite triggers back after the table was rebuilt without them.
        migrations.RunPython(migrations.RunPython.noop, restore_sqlite_triggers),
        migrations.AlterField(
            model_name="auditevent",
            name="at",
            field=models.DateTimeField(
                db_index=True, default=django.utils.timezone.now, editable=False
            ),
        ),
        migrations.AddField(
            model_name="auditevent",
            name="prev_hash",
            field=models.CharField(default=GENESIS_HASH, editable=False, max_length=64),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="auditevent",
            name="chain_hash",
            field=models.CharField(default=GENESIS_HASH, editable=False, max_length=64),
            preserve_default=False,
        ),
        migrations.RunPython(chain_existing_rows, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="auditevent",
            constraint=models.CheckConstraint(
                condition=models.Q(prev_hash__regex="^[0-9a-f]{64}$"), name="auditevent_prev_hash_sha256"
            ),
        ),
        migrations.AddConstraint(
            model_name="auditevent",
            constraint=models.CheckConstraint(
                condition=models.Q(chain_hash__regex="^[0-9a-f]{64}$"), name="auditevent_chain_hash_sha256"
            ),
        ),
        migrations.AddConstraint(
            model_name="auditevent",
            constraint=models.UniqueConstraint(fields=("prev_hash",), name="auditevent_one_successor"),
        ),
        migrations.RunPython(restore_sqlite_triggers, migrations.RunPython.noop),
    ]
