# The board's mail waiting at a moment (kpi.today.mail_waiting_at) read through indexes: the
# mail inquiries still open at the moment by their own stamps (a GiST index of the range
# (received_at, first_answered_at), PostgreSQL only) and the real answers by sent time.

from django.db import migrations, models

PG_FORWARD = """
CREATE INDEX IF NOT EXISTS inquiry_mail_open_range ON helpdesk_inquiry
    USING gist (tstzrange(received_at, first_answered_at, '()'))
    WHERE channel IN ('email', 'form');
ANALYZE helpdesk_inquiry;
"""
PG_BACKWARD = "DROP INDEX IF EXISTS inquiry_mail_open_range;"


def postgres_only(sql: str):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("helpdesk", "0019_inquiry_mail_awaiting_answer"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="emailmessage",
            index=models.Index(
                condition=models.Q(
                    ("direction", "outbound"),
                    ("is_auto_acknowledgement", False),
                    ("send_status__in", ["", "sent"]),
                    ("sent_at__isnull", False),
                ),
                fields=["sent_at", "inquiry"],
                name="email_real_answer_sent",
            ),
        ),
        migrations.RunPython(postgres_only(PG_FORWARD), postgres_only(PG_BACKWARD)),
    ]
