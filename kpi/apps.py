from django.apps import AppConfig


class KpiConfig(AppConfig):
    name = "kpi"
    verbose_name = "KPI"
    default_auto_field = "django.db.models.BigAutoField"
