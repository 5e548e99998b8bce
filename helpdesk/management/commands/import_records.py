"""python manage.py import_records FILE.jsonl — read a contractor handover file (docs/handover.md)."""

import sys
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from helpdesk.handover.services import file_size, records_import
from helpdesk.models import ImportRun
from helpdesk.services.imports import import_run_start


class Command(BaseCommand):
    help = "Import a handover JSON Lines file (idempotent; rejected lines are kept with line number and reason)."

    def add_arguments(self, parser):
        parser.add_argument("file", help="the .jsonl file, or - for standard input")
        parser.add_argument("--user", help="username recorded as the importer (audit trail)")
        parser.add_argument("--show-rejects", type=int, default=20, help="list at most this many rejects")

    def handle(self, *args, file, user=None, show_rejects=20, **options):
        created_by = None
        if user:
            created_by = get_user_model()._default_manager.filter(username=user).first()
            if created_by is None:
                raise CommandError(f"no such user: {user}")
        if file == "-":
            stream, name = sys.stdin.buffer, "<stdin>"
        else:
            path = Path(file)
            if not path.is_file():
                raise CommandError(f"no such file: {file}")
            stream, name = path.open("rb"), path.name
        try:
            run = import_run_start(
                kind=ImportRun.Kind.RECORDS, source_name=name, created_by=created_by, total=file_size(stream)
            )
            records_import(run=run, stream=stream, source_name=name)
        finally:
            if stream is not sys.stdin.buffer:
                stream.close()
        for reject in run.rejects.order_by("line", "id")[:show_rejects]:
            self.stderr.write(f"{reject.source_name}:{reject.line}: {reject.reason}")
        if run.rejected > show_rejects:
            self.stderr.write(f"… {run.rejected - show_rejects} more rejects (import run {run.pk})")
        self.stdout.write(run.summary())
        if run.status == ImportRun.Status.FAILED:
            raise CommandError(run.error)
