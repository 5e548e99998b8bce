from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kpi.staffing.services import RosterFileError, roster_import_csv


class Command(BaseCommand):
    help = (
        "Import the roster (agents on shift per date and half-hour) from a UTF-8 CSV with columns "
        "date,start,agents[,end] (docs/staffing.md). Exit 0: every row stored; 1: nothing stored "
        "(missing or unreadable file, wrong header, no rows, every row rejected); rejected rows are "
        "listed on stderr with their line numbers and counted."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="roster CSV")

    def handle(self, *args: Any, path: str, **options: Any) -> None:
        try:
            result = roster_import_csv(path=path)
        except RosterFileError as exc:
            raise CommandError(str(exc)) from exc
        for line, reason in result.rejected[:20]:
            self.stderr.write(f"line {line}: {reason}")
        if len(result.rejected) > 20:
            self.stderr.write(f"… and {len(result.rejected) - 20} more rejected rows")
        self.stdout.write(
            f"roster: {result.created} half-hours added, {result.updated} updated, {len(result.rejected)} rows rejected"
        )
        if not result.imported:
            raise CommandError("no roster row was stored")
