"""python manage.py kpi_month YYYY-MM [--json] [--cached] — one month's KPI object.

Exit codes: docs/commands.md (0 ok, 1 failed, 2 a month that does not exist or is out of range)."""

import json
from typing import Any

from django.core.management.base import CommandParser

from helpdesk.clock import Month
from helpdesk.management.base import HelpdeskCommand, UsageError
from kpi import display, selectors


class Command(HelpdeskCommand):
    help = "One month's KPI object (docs/kpi.md): `kpi_month YYYY-MM [--json]`."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("month", help="YYYY-MM (Asia/Tokyo)")
        parser.add_argument("--json", action="store_true", help="print the KPI object as JSON")
        parser.add_argument("--cached", action="store_true", help="use the cached figures if present")

    def handle(self, *args: Any, month: str, json: bool = False, cached: bool = False, **options: Any) -> None:
        m = _month(month)
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


def _month(value: str) -> Month:
    """A month the report can show: Month.parse holds the one rule (YYYY-MM, 01–12, within
    the eras the report names and a month the calendar can follow)."""
    try:
        return Month.parse(value)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2, default=str)
