import datetime as dt
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from helpdesk.clock import Month
from kpi.staffing.plan import BASES, PlanError, WhatIf, staffing_plan


class Command(BaseCommand):
    help = (
        "The month's staffing plan (docs/staffing.md): agents needed per half-hour for the answer-rate "
        "target, the roster's expected rate, a what-if and the cost. Exit 0 on success, 1 on bad input "
        "or when there is nothing to plan from."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("month", help="YYYY-MM (Asia/Tokyo)")
        parser.add_argument("--target", type=float, help="answer-rate target, e.g. 0.70 (default: the contract's)")
        parser.add_argument("--basis", choices=BASES, default="auto", help="recorded arrivals or a forecast")
        parser.add_argument("--what-if-agents", type=int, help="+N agents (negative: fewer) on every open half-hour")
        parser.add_argument("--what-if-from", help="YYYY-MM-DD: the what-if starts that day (default: the 1st)")
        parser.add_argument("--json", action="store_true", help="print the whole plan as JSON")

    def handle(
        self,
        *args: Any,
        month: str,
        target: float | None = None,
        basis: str = "auto",
        what_if_agents: int | None = None,
        what_if_from: str | None = None,
        **options: Any,
    ) -> None:
        try:
            m = Month.parse(month)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        what_if = None
        if what_if_agents is not None or what_if_from:
            try:
                start = dt.date.fromisoformat(what_if_from) if what_if_from else m.first_day
            except ValueError as exc:
                raise CommandError(f"--what-if-from must be YYYY-MM-DD, got {what_if_from!r}") from exc
            what_if = WhatIf(agents=what_if_agents or 0, from_date=start)
        try:
            plan = staffing_plan(month=m, target=target, basis=basis, what_if=what_if)
        except PlanError as exc:
            raise CommandError(f"{exc.field}: {exc}") from exc
        if options["json"]:
            self.stdout.write(json.dumps(plan, ensure_ascii=False, indent=2))
            return
        self._text(plan)

    def _text(self, plan: dict) -> None:
        s, p = plan["summary"], plan["parameters"]
        pct = lambda v: "—" if v is None else f"{v:.1%}"  # noqa: E731
        self.stdout.write(
            f"{plan['month']} ({plan['period_type']}) 目標応答率 {plan['target']:.0%} [{plan['target_source']}], "
            f"{'実績' if plan['basis'] == 'actual' else '予測'}ベース, Erlang A: "
            f"平均忍耐 {p['patience_seconds']:.0f}秒 ({p['patience_source']}), AHT {p['aht_seconds_pooled']:.0f}秒"
        )
        if plan["forecast"] and plan["forecast"]["backtest"]:
            bt = plan["forecast"]["backtest"]
            errs = ", ".join(f"{k} {v:.2f}" for k, v in bt["mae_per_half_hour"].items())
            self.stdout.write(f"  予測: {plan['forecast']['method']} (バックテスト{bt['weeks']}週 MAE/30分: {errs})")
        header = "  日付         入電   必要ピーク  必要h   応答率(必要)"
        if plan["roster"]:
            header += "  シフトh  応答率(シフト)"
        if plan["what_if"]:
            header += "  what-if h  応答率(what-if)"
        self.stdout.write(header)
        for d in plan["days"]:
            line = (
                f"  {d['date']}  {d['arrivals']:6.0f}  {d['agents_needed_peak']:6d}  "
                f"{d['agent_hours_needed']:6.1f}  {pct(d['expected_answer_rate_needed']):>8}"
            )
            if plan["roster"]:
                line += f"  {d['agent_hours_rostered']:7.1f}  {pct(d['expected_answer_rate_rostered']):>8}"
            if plan["what_if"]:
                line += f"  {d['agent_hours_what_if']:8.1f}  {pct(d['expected_answer_rate_what_if']):>8}"
            self.stdout.write(line)
        cost = lambda v: "—" if v is None else f"{v:,}円"  # noqa: E731
        self.stdout.write(
            f"  月計: 入電 {s['arrivals']:.0f}, 必要 {s['agent_hours_needed']:.1f}h ({cost(s['cost_needed_yen'])}) "
            f"→ 応答率 {pct(s['expected_answer_rate_needed'])}"
        )
        if plan["roster"]:
            self.stdout.write(
                f"  シフト: {s['agent_hours_rostered']:.1f}h ({cost(s['cost_rostered_yen'])}) → 応答率 "
                f"{pct(s['expected_answer_rate_rostered'])}, 不足 {s['agent_hours_short']:.1f}h"
            )
        if plan["what_if"]:
            w = plan["what_if"]
            self.stdout.write(
                f"  what-if {w['agents']:+d}名 ({w['from']}〜): {s['agent_hours_what_if']:.1f}h "
                f"({cost(s['cost_what_if_yen'])}) → 応答率 {pct(s['expected_answer_rate_what_if'])}"
            )
