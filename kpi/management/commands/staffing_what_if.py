import json
import math
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kpi.staffing.erlang import queue_model


def _positive(name: str, value: float | None, *, allow_zero: bool = False) -> None:
    if value is None:
        return
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        raise CommandError(f"--{name} must be a number {'≥' if allow_zero else '>'} 0, got {value}")


class Command(BaseCommand):
    help = (
        "One half-hour's queue (docs/staffing.md): Erlang A with --patience-seconds, Erlang C without. "
        "Exit 0 on success, 1 on bad input."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--arrivals-per-hour", type=float, required=True, help="calls offered to the queue per hour"
        )
        parser.add_argument("--aht-seconds", type=float, required=True, help="average handle time (talk + ACW)")
        parser.add_argument("--agents", type=int, required=True, help="agents taking calls")
        parser.add_argument("--patience-seconds", type=float, help="mean caller patience; omit for Erlang C")
        parser.add_argument("--json", action="store_true", help="print the result as JSON")

    def handle(
        self,
        *args: Any,
        arrivals_per_hour: float,
        aht_seconds: float,
        agents: int,
        patience_seconds: float | None = None,
        json: bool = False,
        **options: Any,
    ) -> None:
        _positive("arrivals-per-hour", arrivals_per_hour, allow_zero=True)
        _positive("aht-seconds", aht_seconds)
        _positive("patience-seconds", patience_seconds)
        if agents < 0:
            raise CommandError(f"--agents must be ≥ 0, got {agents}")
        try:
            result = queue_model(
                arrivals_per_second=arrivals_per_hour / 3600,
                aht_seconds=aht_seconds,
                agents=agents,
                patience_seconds=patience_seconds,
            ).as_dict()
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if json:
            self.stdout.write(_dumps(result))
            return
        wait = result["mean_queue_wait_seconds"]
        self.stdout.write(
            f"{'Erlang A' if result['model'] == 'erlang_a' else 'Erlang C'}: {agents}名, "
            f"負荷 {result['offered_load_erlangs']:.2f} アーラン\n"
            f"  応答率 {result['answer_rate']:.1%}  待ち発生率 {result['p_wait']:.1%}  "
            f"平均待ち {'∞（負荷が人数以上）' if wait is None else f'{wait:.1f}秒'}  稼働率 {result['occupancy']:.1%}"
        )


def _dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2)
