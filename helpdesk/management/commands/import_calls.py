"""python manage.py import_calls FILE... [--format generic|asterisk] [--encoding cp932]

Parses arguments and runs `helpdesk.services.calls.calls_import_run`, the same service
behind the API upload and the Celery task. Prints
`N read, N created, N updated, N unchanged, N rejected` (and, for Asterisk, what happened
to calls). A progress bar is shown when stdout is a terminal."""

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from helpdesk.ingest.calls_csv import FileError
from helpdesk.models import ImportRun
from helpdesk.services.calls import calls_import_run
from helpdesk.services.imports import import_run_start


class Command(BaseCommand):
    help = "Import PBX call records: generic call CSV, or Asterisk queue_log + CDR Master.csv files."

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", metavar="FILE")
        parser.add_argument("--format", choices=["generic", "asterisk"], default="generic")
        parser.add_argument("--encoding", default="utf-8", help="utf-8 (default; a BOM is accepted) or cp932")
        parser.add_argument(
            "--cdr-timezone",
            default="Asia/Tokyo",
            help="time zone of the naive times in Master.csv (UTC when cdr.conf sets usegmtime)",
        )

    def handle(self, *args, files, format, encoding, cdr_timezone, **options):
        for name in files:
            if not Path(name).is_file():
                raise CommandError(f"no such file: {name}")
        kind = ImportRun.Kind.CALLS_ASTERISK if format == "asterisk" else ImportRun.Kind.CALLS_GENERIC
        run = import_run_start(kind=kind, source_name=", ".join(files))
        bar = None
        progress = None
        if self.stdout.isatty() and options.get("verbosity", 1) > 0:
            from tqdm import tqdm

            bar = tqdm(total=0, unit=" lines", unit_scale=True, file=sys.stderr, desc="import_calls")

            def progress(done, total):
                if total and bar.total != total:
                    bar.total = total
                bar.n = done
                bar.refresh()

        try:
            run = calls_import_run(
                run=run, paths=files, fmt=format, encoding=encoding, cdr_timezone=cdr_timezone, progress=progress
            )
        except (FileError, ValueError, LookupError) as exc:
            raise CommandError(f"import failed: {exc}") from exc
        finally:
            if bar is not None:
                bar.close()
        stats = getattr(run, "call_stats", None)
        if stats is not None:
            self.stdout.write(stats.summary())
            for warning in stats.warnings:
                self.stderr.write(f"warning: {warning}")
        if run.rejected:
            self.stderr.write(f"{run.rejected} rejected: see import run {run.pk} (GET /api/import-runs/{run.pk}/)")
        if run.error:
            self.stderr.write(f"error: {run.error}")
        self.stdout.write(run.summary())
