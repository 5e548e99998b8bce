"""python manage.py export_records > FILE.jsonl — the contractor handover file (docs/handover.md)."""

import getpass

from django.core.management.base import BaseCommand

from helpdesk.handover.services import records_export


class Command(BaseCommand):
    help = "Write every record as JSON Lines (handover format) to standard output or --output."

    def add_arguments(self, parser):
        parser.add_argument("--output", "-o", help="write to this file instead of standard output")

    def handle(self, *args, output=None, **options):
        actor = f"manage.py export_records ({_os_user()})"
        if output:
            with open(output, "w", encoding="utf-8", newline="\n") as out:
                written = records_export(out=out, actor=actor)
        else:
            written = records_export(out=self.stdout._out, actor=actor)
            self.stdout._out.flush()
        summary = ", ".join(f"{n} {t}" for t, n in written.items() if t != "header")
        self.stderr.write(f"exported: {summary or 'nothing'}")


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
