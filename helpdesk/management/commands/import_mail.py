"""python manage.py import_mail FILE_OR_DIR...

mbox files, Maildirs, single .eml files, or directories of them. Idempotent by Message-ID;
prints `N read, N created, N updated, N unchanged, N rejected`, rejects on stderr. A path
that does not exist is a reject (the other paths still import). Exit codes: docs/commands.md
(0 ok, 1 failed, nothing read or everything rejected, 2 bad argument, 3 some rejected)."""

from helpdesk.mail.intake import mail_import_paths
from helpdesk.management.base import HelpdeskCommand


class Command(HelpdeskCommand):
    help = "Import mail from mbox files, Maildirs and .eml files (idempotent by Message-ID)."

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", metavar="FILE_OR_DIR")
        parser.add_argument("--show-rejects", type=int, default=20, help="list at most this many rejects")

    def handle(self, *args, paths, show_rejects=20, **options):
        run = mail_import_paths(paths=paths)
        self.finish_import(run, show_rejects=show_rejects)
