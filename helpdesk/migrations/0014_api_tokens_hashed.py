"""API tokens move from DRF's authtoken (the key itself stored in `authtoken_token`) to
django-rest-knox (only a SHA-512 digest stored, with an expiry).

Tokens already issued keep working: each key is converted into a knox token (its digest, and
the first 15 characters knox looks tokens up by) expiring API_TOKEN_TTL_DAYS from the upgrade.
Then the plaintext table is dropped and the authtoken app's migration records removed (the app
is no longer installed; `manage.py remove_stale_contenttypes` clears its content type)."""

from django.db import migrations
from django.utils import timezone
from knox.crypto import hash_token
from knox.settings import CONSTANTS, knox_settings


def convert_plain_tokens(apps, schema_editor):
    connection = schema_editor.connection
    if "authtoken_token" not in connection.introspection.table_names():
        return  # a fresh database: DRF's token table never existed
    AuthToken = apps.get_model("knox", "AuthToken")
    expiry = timezone.now() + knox_settings.TOKEN_TTL
    with connection.cursor() as cursor:
        cursor.execute("SELECT key, user_id FROM authtoken_token")
        rows = cursor.fetchall()
    AuthToken.objects.bulk_create(
        [
            AuthToken(digest=hash_token(key), token_key=key[: CONSTANTS.TOKEN_KEY_LENGTH], user_id=user_id, expiry=expiry)
            for key, user_id in rows
        ],
        ignore_conflicts=True,
    )
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE authtoken_token")
        cursor.execute("DELETE FROM django_migrations WHERE app = %s", ["authtoken"])


class Migration(migrations.Migration):
    dependencies = [
        ("helpdesk", "0013_audit_chain"),
        ("knox", "0009_extend_authtoken_field"),
    ]

    operations = [
        # Not reversible in substance: the keys cannot be recovered from their digests.
        migrations.RunPython(convert_plain_tokens, migrations.RunPython.noop),
    ]
