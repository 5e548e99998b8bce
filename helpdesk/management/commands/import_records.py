"""python manage.py import_records FILE.jsonl — read a contractor handover file (docs/handover.md).

Prints `N read, N created, N updated, N unchanged, N rejected`, rejects on stderr as
`file:line: reason`. Exit codes: docs/commands.md (0 ok, 1 failed or nothing read, 2 bad
argument, 3 some lines rejected)."""

import sys
from pathlib import Path

from django.contrib.auth import get_user_model

from helpdesk.handover.services import file_size, records_import
from helpdesk.imports.services import import_run_start
from helpdesk.management.base import HelpdeskCommand, UsageError, readable_files
from helpdesk.models import ImportRun


class Command(HelpdeskCommand):
    help = "Import a handover JSON Lines file (idempotent; rejected lines are kept with line number and reason)."

    def add_arguments(self, parser):
        parser.add_argument("file", help="the .jsonl file, or - for standard input")
        parser.add_argument("--user", help="username recorded as the importer (audit trail)")
        parser.add_argument("--show-rejects", type=int, default=20, help="list at most this many rejects")
        parser.add_argument(
            "--row-by-row",
            action="store_true",
            help="import through the ORM line by line, not the bulk COPY path PostgreSQL uses by default",
        )

    def handle(self, *args, file, user=None, show_rejects=20, row_by_row=False, **options):
        created_by = None
        if user:
            created_by = get_user_model()._default_manager.filter(username=user).first()
            if created_by is None:
                raise UsageError(f"--user: no such user: {user}")
        if file == "-":
            stream, name = sys.stdin.buffer, "<stdin>"
        else:
            readable_files([file])
            path = Path(file)
            stream, name = path.open("rb"), path.name
        try:
            run = import_run_start(
                kind=ImportRun.Kind.RECORDS, source_name=name, created_by=created_by, total=file_size(stream)
            )
            records_import(run=run, stream=stream, source_name=name, bulk=False if row_by_row else None)
        finally:
            if stream is not sys.stdin.buffer:
                stream.close()
        self.finish_import(run, show_rejects=show_rejects)
