"""Fill the demo database: staff users in each role and a few months of realistic records
built from helpdesk/demo_data/inquiries_dev.jsonl (the labelled dev set, also in tests/data/faq/).
Exit codes: docs/commands.md (0 ok, 1 failed, 2 bad argument)."""

from helpdesk.demo.seed import demo_seed
from helpdesk.management.base import HelpdeskCommand, UsageError


class Command(HelpdeskCommand):
    help = "Create demo users and a few months of demo records (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--password", default="demo-pass-2026", help="password for the demo users")

    def handle(self, *args, password: str, **options):
        if not password.strip():
            raise UsageError("--password must not be empty")
        report = demo_seed(password=password)
        for line in report:
            self.stdout.write(line)
