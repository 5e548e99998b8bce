"""python manage.py sweep_import_runs — give up on import runs whose worker is gone.

The Celery beat task `helpdesk.imports.tasks.import_runs_sweep_task` does the same every five
minutes; the command is for a site without beat, or to do it now. Exit codes: docs/commands.md
(0 swept, 1 failed, 3 some pending runs could not be queued again: the broker is down)."""

from helpdesk.imports.services import import_runs_sweep
from helpdesk.management.base import ExitCode, HelpdeskCommand


class Command(HelpdeskCommand):
    help = "Mark import runs whose worker is gone failed; queue stale pending runs again once."

    def handle(self, *args, **options):
        result = import_runs_sweep()
        self.stdout.write(f"swept import runs: {result.summary()}")
        for label, pks in (("failed", result.failed), ("queued again", result.requeued)):
            if pks:
                self.stdout.write(f"  {label}: " + ", ".join(str(pk) for pk in pks))
        if result.unqueued:
            self.stderr.write(
                "could not queue again (broker unavailable), left pending: "
                + ", ".join(str(pk) for pk in result.unqueued)
            )
            self.exit_code = ExitCode.PARTIAL
