from django.apps import AppConfig


class KpiConfig(AppConfig):
    name = "kpi"
    verbose_name = "KPI"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # helpdesk must not import kpi: kpi adds its handover record types (targets, busy-month
        # calendar, published snapshots) to helpdesk's registry here (docs/handover.md).
        from kpi import handover

        handover.register()
