from django.apps import AppConfig
from django.db.backends.signals import connection_created


def _register_sqlite_functions(sender, connection, **kwargs) -> None:
    """`nfkc()` for the inquiries' generated search column on SQLite (PostgreSQL has
    `normalize`)."""
    if connection.vendor == "sqlite":
        from helpdesk.models.functions import nfkc

        connection.connection.create_function("nfkc", 1, nfkc, deterministic=True)


class HelpdeskConfig(AppConfig):
    name = "helpdesk"
    verbose_name = "ヘルプデスク"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        connection_created.connect(_register_sqlite_functions, dispatch_uid="helpdesk_sqlite_functions")
