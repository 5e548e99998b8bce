"""Run the nightly FAQ job now: embed what is missing, cluster the window, detect surges,
propose FAQ drafts and IVR announcements (the same service as the beat task). It never
publishes: a draft reaches /faq/ only when an admin publishes it on /desk/admin/faq/.
Exit codes: docs/commands.md (0 ok, 1 failed, 2 bad argument: --as-of)."""

import datetime as dt
from typing import Any

from django.core.management.base import CommandParser

from faq.services import faq_cluster_run
from helpdesk.clock import TOKYO
from helpdesk.management.base import HelpdeskCommand, UsageError


class Command(HelpdeskCommand):
    help = "Cluster inquiries, detect surges and propose FAQ drafts now (an admin reviews and publishes them)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--as-of", help="end of the window, YYYY-MM-DD (default: now)")

    def handle(self, *args: Any, as_of: str | None = None, **options: Any) -> None:
        when = None
        if as_of:
            try:
                when = dt.datetime.combine(dt.date.fromisoformat(as_of), dt.time(23, 59), TOKYO)
            except ValueError as exc:
                raise UsageError(f"--as-of: {exc} (YYYY-MM-DD, e.g. 2026-09-27)") from None
        run = faq_cluster_run(as_of=when)
        self.stdout.write(
            f"clusters: {run.clusters}, surges: {run.surges}, method: {run.method}"
            + (f" (fallback: {run.fallback_reason})" if run.fallback_reason else "")
        )
