"""Contractor handover: a stable natural key (UUID) on escalations, complaints and security
incidents. Added nullable, filled for existing rows, then made unique."""

import uuid

from django.db import migrations, models

MODELS = ("escalation", "complaint", "securityincident")


def fill_keys(apps, schema_editor):
    for name in MODELS:
        model = apps.get_model("helpdesk", name)
        for pk in model.objects.filter(handover_key__isnull=True).values_list("pk", flat=True).iterator():
            model.objects.filter(pk=pk).update(handover_key=uuid.uuid4())


class Migration(migrations.Migration):
    dependencies = [("helpdesk", "0002_roles_calendar_postgres")]

    operations = [
        *[
            migrations.AddField(model_name=name, name="handover_key", field=models.UUIDField(null=True))
            for name in MODELS
        ],
        migrations.RunPython(fill_keys, migrations.RunPython.noop),
        *[
            migrations.AlterField(
                model_name=name,
                name="handover_key",
                field=models.UUIDField(default=uuid.uuid4, editable=False, unique=True),
            )
            for name in MODELS
        ],
    ]
