"""python manage.py import_calls FILE... [--format generic|asterisk] [--encoding cp932]

Parses arguments and runs `helpdesk.phone.importer.calls_import_run`, the same service
behind the API upload and the Celery task. Prints
`N read, N created, N updated, N unchanged, N rejected` (and, for Asterisk, what happened
to calls); rejects go to stderr with file, line and reason. A progress bar is shown when
stdout is a terminal. Exit codes: docs/commands.md (0 ok, 1 failed, 2 bad argument, 3 some
rows rejected)."""

import sys
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from helpdesk.imports.services import import_run_start
from helpdesk.management.base import Failed, HelpdeskCommand, UsageError, describe_os_error, readable_files
from helpdesk.models import ImportRun
from helpdesk.phone.importer import calls_import_run
from helpdesk.phone.parse_generic import FileError, normalise_encoding


class Command(HelpdeskCommand):
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
        parser.add_argument("--show-rejects", type=int, default=20, help="list at most this many rejects")

    def handle(self, *args, files, format, encoding, cdr_timezone, show_rejects=20, **options):
        # Arguments first: a typo must not leave a failed import run behind.
        try:
            normalise_encoding(encoding)
        except FileError as exc:
            raise UsageError(f"--encoding: {exc}") from None
        try:
            ZoneInfo(cdr_timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise UsageError(f"--cdr-timezone: unknown time zone {cdr_timezone!r} (e.g. Asia/Tokyo or UTC)") from None
        readable_files(files)
        kind = ImportRun.Kind.CALLS_ASTERISK if format == "asterisk" else ImportRun.Kind.CALLS_GENERIC
        run = import_run_start(kind=kind, source_name=", ".join(files))
        bar = None
        progress = None
        if self.stdout.isatty() and options.get("verbosity", 1) > 0:
            from tqdm import tqdm  # only for a terminal: not loaded by the worker or the API

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
        except OSError as exc:
            raise Failed(f"import failed: {describe_os_error(exc)}") from exc
        except (FileError, ValueError, LookupError) as exc:
            raise Failed(f"import failed: {exc}") from exc
        finally:
            if bar is not None:
                bar.close()
        stats = getattr(run, "call_stats", None)
        if stats is not None:
            self.stdout.write(stats.summary())
            for warning in stats.warnings:
                self.stderr.write(f"warning: {warning}")
        self.finish_import(run, show_rejects=show_rejects)
