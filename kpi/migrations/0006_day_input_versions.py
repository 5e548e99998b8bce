"""Per-day input versions (docs/desk-supervisor.md, "Per-day input versions"): the input log's
rows say what a change touched — on PostgreSQL the record tables' statement triggers read the
statement's transition tables and write one row per (kind, hour) touched — so an edit stales
only the days whose figures read it. The other tables keep 0005's global trigger; SQLite keeps
0005's row triggers (global rows: every change stales every day, the documented fallback)."""

import importlib

from django.db import migrations, models

LOG = "kpi_kpiinputchange"
H = "date_trunc('hour', {}, 'UTC')"  # the hour of a record time, in UTC whatever the session's zone

# Per record table: SELECT (kind, at) of the rows of a transition table `t`.
BUCKETS = {
    "helpdesk_call": (
        f"SELECT 'c', {H.format('t.arrived_at')} FROM {{t}} t "
        f"UNION SELECT 'c', {H.format('t.answered_at')} FROM {{t}} t WHERE t.answered_at IS NOT NULL"
    ),
    # status-only edits touch the inquiry's own day (its count by status); any other column
    # may move the mail figure of the days whose lookback holds it; a wrap-up, its call's day;
    # every inquiry change, the open load
    "helpdesk_inquiry": (
        f"SELECT 'c', {H.format('c.arrived_at')} FROM {{t}} t JOIN helpdesk_call c ON c.id = t.call_id "
        "UNION SELECT DISTINCT 'o', NULL::timestamptz FROM {t} t"
    ),
    "helpdesk_emailmessage": (
        f"SELECT 'i', {H.format('q.received_at')} FROM {{t}} t JOIN helpdesk_inquiry q ON q.id = t.inquiry_id"
    ),
    "helpdesk_escalation": (
        f"SELECT 'i', {H.format('q.received_at')} FROM {{t}} t JOIN helpdesk_inquiry q ON q.id = t.inquiry_id"
    ),
}
# The inquiry columns the mail figure reads (kpi.today.mail_waiting_at): an update changing
# none of them is a STATUS change of the inquiry's own day.
MAIL_COLUMNS = ("channel", "received_at", "first_answered_at")


def _inquiry_rows(event: str) -> str:
    """The inquiry's own (kind, at) rows: INQUIRY for inserts, deletes and updates of a mail
    column, STATUS for other updates — both at the old and the new received hour."""
    received = H.format("{}.received_at")
    if event != "UPDATE":
        table = "new_rows" if event == "INSERT" else "old_rows"
        return f"UNION SELECT 'i', {received.format('t')} FROM {table} t"
    changed = " OR ".join(f"o.{c} IS DISTINCT FROM n.{c}" for c in MAIL_COLUMNS)
    kind = f"CASE WHEN {changed} THEN 'i' ELSE 's' END"
    return (
        f"UNION SELECT {kind}, {received.format('o')} FROM old_rows o JOIN new_rows n ON n.id = o.id "
        f"UNION SELECT {kind}, {received.format('n')} FROM old_rows o JOIN new_rows n ON n.id = o.id"
    )


def _postgresql() -> tuple[list[str], list[str]]:
    forward, backward = [], []
    for table, buckets in BUCKETS.items():
        forward.append(f"DROP TRIGGER IF EXISTS kpi_input_changed ON {table}")
        for event in ("INSERT", "UPDATE", "DELETE"):
            tables = {"INSERT": ["new_rows"], "UPDATE": ["old_rows", "new_rows"], "DELETE": ["old_rows"]}[event]
            select = " UNION ".join(buckets.format(t=t) for t in tables)
            if table == "helpdesk_inquiry":
                select += " " + _inquiry_rows(event)
            name = f"kpi_input_{table}_{event.lower()}"
            referencing = " ".join(
                f"{'NEW' if t == 'new_rows' else 'OLD'} TABLE AS {t}" for t in tables
            )
            # a statement that changed no row writes nothing; one row per (kind, hour) touched
            forward.append(
                f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                f"INSERT INTO {LOG} (kind, at, n) SELECT k, a, 1 FROM ({select}) AS touched (k, a); "
                "RETURN NULL; END $$"
            )
            forward.append(
                f"CREATE TRIGGER {name} AFTER {event} ON {table} REFERENCING {referencing} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION {name}()"
            )
            backward.append(f"DROP TRIGGER IF EXISTS {name} ON {table}")
            backward.append(f"DROP FUNCTION IF EXISTS {name}()")
        # TRUNCATE has no transition table: a global row (0005's function)
        forward.append(
            f"CREATE TRIGGER kpi_input_changed AFTER TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION kpi_input_changed()"
        )
        backward.append(f"DROP TRIGGER IF EXISTS kpi_input_changed ON {table}")
        backward.append(
            f"CREATE TRIGGER kpi_input_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION kpi_input_changed()"
        )
    return forward, backward


def _sqlite_0005(schema_editor, *, create: bool) -> None:
    """0005's SQLite row triggers (global rows). Dropped while SQLite rebuilds the log table to
    add its columns — its RENAME re-reads every trigger, and theirs would name a dropped
    table — and created again after."""
    if schema_editor.connection.vendor != "sqlite":
        return
    forward, backward = importlib.import_module("kpi.migrations.0005_board_day_figures")._sqlite()
    for sql in forward if create else backward:
        schema_editor.execute(sql)


def sqlite_drop(apps, schema_editor) -> None:
    _sqlite_0005(schema_editor, create=False)


def sqlite_create(apps, schema_editor) -> None:
    _sqlite_0005(schema_editor, create=True)


def triggers(apps, schema_editor, *, create: bool = True) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return  # SQLite: 0005's row triggers, global rows
    forward, backward = _postgresql()
    for sql in forward if create else backward:
        schema_editor.execute(sql)


def drop_triggers(apps, schema_editor) -> None:
    triggers(apps, schema_editor, create=False)


class Migration(migrations.Migration):
    dependencies = [("kpi", "0005_board_day_figures")]

    operations = [
        migrations.RunPython(sqlite_drop, sqlite_create),
        migrations.AddField(
            model_name="kpiinputchange",
            name="kind",
            field=models.CharField(db_default="g", default="g", max_length=1),
        ),
        migrations.AddField(
            model_name="kpiinputchange",
            name="at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(sqlite_create, sqlite_drop),
        migrations.RunPython(triggers, drop_triggers),
    ]
