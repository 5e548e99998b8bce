# The board's mail waiting at a moment (kpi.today.mail_waiting_at) read through indexes: the
# mail inquiries by their answer stamp (those open at a moment are two ranges of it) and the
# real answers by sent time.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("helpdesk", "0020_asterisk_staging_indexes"),
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
        migrations.AddIndex(
            model_name="inquiry",
            index=models.Index(
                condition=models.Q(("channel__in", ["email", "form"])),
                fields=["first_answered_at", "received_at"],
                name="inquiry_mail_answer_stamp",
            ),
        ),
    ]
