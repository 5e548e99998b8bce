"""The KPI input log (its rows written by triggers on every table the figures read) and the
board's stored day figures (docs/desk-supervisor.md, "Day figures off the request")."""

import django.core.serializers.json
from django.db import migrations, models

# (table, columns whose UPDATE matters, or None for every column). Users: the board lists
# active agents by name; `last_login` moves at every sign-in and must not void the figures.
INPUT_TABLES = [
    ("helpdesk_call", None),
    ("helpdesk_inquiry", None),
    ("helpdesk_emailmessage", None),
    ("helpdesk_escalation", None),
    ("helpdesk_complaint", None),
    ("helpdesk_servicehours", None),
    ("helpdesk_calendarday", None),
    ("helpdesk_agentprofile", None),
    ("kpi_kpitarget", None),
    ("kpi_fiscalmonthperiod", None),
    ("auth_user", ("username", "is_active")),
    ("auth_user_groups", None),
    ("auth_group", ("name",)),
]
LOG = "kpi_kpiinputchange"


def _postgresql() -> tuple[list[str], list[str]]:
    forward = [
        f"CREATE FUNCTION kpi_input_changed() RETURNS trigger LANGUAGE plpgsql AS "
        f"$$ BEGIN INSERT INTO {LOG} (n) VALUES (1); RETURN NULL; END $$"
    ]
    backward = []
    for table, columns in INPUT_TABLES:
        update = f"UPDATE OF {', '.join(columns)}" if columns else "UPDATE"
        # once per statement (a COPY of 1 M calls writes one row), inside the writer's transaction
        forward.append(
            f"CREATE TRIGGER kpi_input_changed AFTER INSERT OR {update} OR DELETE OR TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION kpi_input_changed()"
        )
        backward.append(f"DROP TRIGGER IF EXISTS kpi_input_changed ON {table}")
    backward.append("DROP FUNCTION IF EXISTS kpi_input_changed()")
    return forward, backward


def _sqlite() -> tuple[list[str], list[str]]:
    forward, backward = [], []
    for table, columns in INPUT_TABLES:
        for event in ("INSERT", "UPDATE", "DELETE"):
            name = f"kpi_input_{table}_{event.lower()}"
            on = f"UPDATE OF {', '.join(columns)}" if event == "UPDATE" and columns else event
            # SQLite has row triggers only; the log is compacted by the refresh task
            forward.append(
                f"CREATE TRIGGER {name} AFTER {on} ON {table} BEGIN INSERT INTO {LOG} (n) VALUES (1); END"
            )
            backward.append(f"DROP TRIGGER IF EXISTS {name}")
    return forward, backward


def triggers(apps, schema_editor, *, create: bool = True) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        forward, backward = _postgresql()
    elif vendor == "sqlite":
        forward, backward = _sqlite()
    else:  # pragma: no cover — the project runs on PostgreSQL and SQLite only
        raise RuntimeError(f"no KPI input triggers for {vendor}")
    for sql in forward if create else backward:
        schema_editor.execute(sql)


def drop_triggers(apps, schema_editor) -> None:
    triggers(apps, schema_editor, create=False)


class Migration(migrations.Migration):
    dependencies = [
        ("kpi", "0004_snapshot_audit_head"),
        ("helpdesk", "0023_call_text_digest"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [
        migrations.CreateModel(
            name="KpiInputChange",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("n", models.BigIntegerField(default=1)),
            ],
        ),
        migrations.CreateModel(
            name="KpiDayFigures",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("date", models.DateField(unique=True)),
                ("version", models.BigIntegerField()),
                ("data", models.JSONField(encoder=django.core.serializers.json.DjangoJSONEncoder)),
                ("computed_at", models.DateTimeField()),
                ("viewed_at", models.DateTimeField()),
                ("compute_ms", models.PositiveIntegerField(default=0)),
            ],
            options={"indexes": [models.Index(fields=["viewed_at"], name="kpidayfigures_viewed")]},
        ),
        migrations.RunPython(triggers, drop_triggers),
    ]
