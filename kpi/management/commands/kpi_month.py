import json

from django.core.management.base import BaseCommand, CommandError

from kpi import display, selectors
from kpi.metrics import Month


class Command(BaseCommand):
    help = "One month's KPI (formats.md): `kpi_month YYYY-MM [--json]`."

    def add_arguments(self, parser):
        parser.add_argument("month", help="YYYY-MM (Asia/Tokyo)")
        parser.add_argument("--json", action="store_true", help="print the KPI object as JSON")
        parser.add_argument("--cached", action="store_true", help="use the cached figures if present")

    def handle(self, *args, month: str, json: bool = False, cached: bool = False, **options):
        try:
            m = Month.parse(month)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        data = selectors.kpi_month_get(month=m, fresh=not cached)
        if json:
            self.stdout.write(_dumps(data))
            return
        self.stdout.write(f"{display.month_display(data['month'])} ({data['month']}, {data['period_type']})")
        rows = [
            ("情報セキュリティ上の重大障害件数", "security_incidents"),
            ("応答率", "answer_rate"),
            ("電話平均処理時間", "average_handle_time"),
            ("メール平均回答時間", "email_average_response_time"),
            ("一次窓口完結率", "first_contact_resolution"),
            ("苦情発生件数", "complaints"),
        ]
        for label, key in rows:
            metric = data[key]
            met = {True: "達成", False: "未達", None: "対象なし"}[metric["met"]]
            self.stdout.write(f"  {label}: {metric['display']} ({met})")
        if data.get("restated"):
            self.stdout.write(f"  公表値から変更あり: {_dumps(data['difference'])}")


def _dumps(data) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2, default=str)
