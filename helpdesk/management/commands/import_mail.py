"""python manage.py import_mail FILE_OR_DIR...

mbox files, Maildirs, single .eml files, or directories of them. Idempotent by Message-ID;
prints `N read, N created, N updated, N unchanged, N rejected`."""

from django.core.management.base import BaseCommand, CommandError

from helpdesk.services.mail import mail_import_paths


class Command(BaseCommand):
    help = "Import mail from mbox files, Maildirs and .eml files (idempotent by Message-ID)."

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", metavar="FILE_OR_DIR")

    def handle(self, *args, paths, **options):
        try:
            run = mail_import_paths(paths=paths)
        except Exception as exc:
            raise CommandError(f"import stopped: {type(exc).__name__}: {exc}") from exc
        for reject in run.rejects.all()[:20]:
            self.stderr.write(
                f"rejected {reject.source_name} line {reject.line} offset {reject.offset}: {reject.reason}"
            )
        if run.rejected > 20:
            self.stderr.write(f"… {run.rejected - 20} more rejects (import run {run.pk})")
        self.stdout.write(run.summary())
