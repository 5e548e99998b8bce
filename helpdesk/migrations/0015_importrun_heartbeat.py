from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("helpdesk", "0014_api_tokens_hashed"),
    ]

    operations = [
        migrations.AddField(
            model_name="importrun",
            name="heartbeat_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="importrun",
            name="queued_task",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name="importrun",
            name="upload_paths",
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name="importrun",
            name="requeued_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
