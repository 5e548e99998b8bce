"""python manage.py import_mail FILE_OR_DIR... [--bulk | --row-by-row] [--workers N]

mbox files, Maildirs, single .eml files, or directories of them. Idempotent by Message-ID;
prints `N read, N created, N updated, N unchanged, N rejected`, rejects on stderr. A path
that does not exist is a reject (the other paths still import). Sources of
HELPDESK_MAIL_BULK_MIN_BYTES or more take the bulk path (parsing in worker processes, COPY);
`--bulk` / `--row-by-row` choose. Exit codes: docs/commands.md (0 ok, 1 failed, nothing read
or everything rejected, 2 bad argument, 3 some rejected)."""

from helpdesk.mail.files import mail_import_paths
from helpdesk.management.base import HelpdeskCommand, UsageError


class Command(HelpdeskCommand):
    help = "Import mail from mbox files, Maildirs and .eml files (idempotent by Message-ID)."

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", metavar="FILE_OR_DIR")
        parser.add_argument("--show-rejects", type=int, default=20, help="list at most this many rejects")
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument(
            "--bulk",
            action="store_true",
            help="the bulk path whatever the size (default: above HELPDESK_MAIL_BULK_MIN_BYTES)",
        )
        mode.add_argument("--row-by-row", action="store_true", help="the row path whatever the size")
        parser.add_argument(
            "--workers",
            type=int,
            default=None,
            help="bulk path: parsing processes (default HELPDESK_MAIL_BULK_WORKERS; 0 = parse in this process)",
        )

    def handle(self, *args, paths, show_rejects=20, bulk=False, row_by_row=False, workers=None, **options):
        if workers is not None and workers < 0:
            raise UsageError("--workers must be 0 or more")
        run = mail_import_paths(paths=paths, bulk=True if bulk else (False if row_by_row else None), workers=workers)
        self.finish_import(run, show_rejects=show_rejects)
