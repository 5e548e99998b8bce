"""python manage.py export_records [-o FILE.jsonl] — the contractor handover file (docs/handover.md).

With --output the file is written next to its final name and renamed into place when complete
(mode 0600: it holds personal information), so a failed export never leaves half a file; the
count line goes to stdout. Without --output the file goes to stdout and the count line to
stderr. Exit codes: docs/commands.md (0 ok, 1 failed, e.g. the output cannot be written)."""

import contextlib
import getpass
import os
import tempfile
from pathlib import Path

from helpdesk.handover.services import records_export
from helpdesk.management.base import Failed, HelpdeskCommand


class Command(HelpdeskCommand):
    help = "Write every record as JSON Lines (handover format) to standard output or --output."

    def add_arguments(self, parser):
        parser.add_argument("--output", "-o", help="write to this file instead of standard output")

    def handle(self, *args, output=None, **options):
        actor = f"manage.py export_records ({_os_user()})"
        if output:
            written = self._export_to_file(output, actor)
            report = self.stdout
        else:
            written = records_export(out=self.stdout._out, actor=actor)
            self.stdout._out.flush()
            report = self.stderr
        lines = sum(n for t, n in written.items() if t != "header")
        summary = ", ".join(f"{n} {t}" for t, n in written.items() if t != "header")
        report.write(f"exported {lines} records" + (f": {summary}" if summary else ""))

    def _export_to_file(self, output: str, actor: str):
        target = Path(output)
        if target.is_dir():
            raise Failed(f"--output: {output} is a directory")
        # Open the output before exporting: the export writes an audit event, and a file that
        # cannot be written must not leave one behind.
        try:
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
        except OSError as exc:
            raise Failed(f"--output: cannot write {output}: {exc.strerror}") from exc
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as out:
                written = records_export(out=out, actor=actor)
            os.replace(tmp, target)
        except OSError as exc:
            raise Failed(f"--output: cannot write {output}: {exc.strerror or exc}") from exc
        finally:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        return written


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
