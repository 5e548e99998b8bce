from django.apps import AppConfig
from django.db.backends.signals import connection_created
from django.db.models.signals import post_migrate


def _register_sqlite_functions(sender, connection, **kwargs) -> None:
    """`nfkc()` for the inquiries' generated search column on SQLite (PostgreSQL has
    `normalize`)."""
    if connection.vendor == "sqlite":
        from helpdesk.models.functions import nfkc

        connection.connection.create_function("nfkc", 1, nfkc, deterministic=True)


def _sync_role_permissions(sender, using="default", **kwargs) -> None:
    """Role groups get their Django permissions (helpdesk.roles.ROLE_PERMISSIONS) after every
    migrate and flush: on a fresh database the permissions only exist from now on."""
    from helpdesk.roles import sync_role_permissions

    sync_role_permissions(using=using)


def _create_cache_tables(sender, using="default", **kwargs) -> None:
    """Without Redis the cache is a database table every process shares (config/settings);
    `migrate` creates it, so no deployment step can be forgotten (idempotent)."""
    from django.core.management import call_command

    call_command("createcachetable", database=using, verbosity=0)


class HelpdeskConfig(AppConfig):
    name = "helpdesk"
    verbose_name = "ヘルプデスク"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        connection_created.connect(_register_sqlite_functions, dispatch_uid="helpdesk_sqlite_functions")
        post_migrate.connect(_sync_role_permissions, sender=self, dispatch_uid="helpdesk_role_permissions")
        post_migrate.connect(_create_cache_tables, sender=self, dispatch_uid="helpdesk_cache_tables")
        # Imported here, once the app registry is ready (they import models), as Django asks.
        from helpdesk.accounts.tokens import connect_token_revocation
        from helpdesk.handover import records  # noqa: F401  (registers the built-in handover record types)

        connect_token_revocation()  # API tokens die with a password change or a deactivation
