"""Run the nightly FAQ job now: embed what is missing, cluster the window, detect surges,
propose FAQ drafts and IVR announcements (the same service as the beat task).
Exit codes: docs/commands.md (0 ok, 1 failed, 2 bad argument: --as-of, unknown or non-admin user)."""

import datetime as dt

from django.contrib.auth import get_user_model

from faq.models import FaqEntry
from faq.services import faq_cluster_run, faq_entry_publish
from helpdesk.clock import TOKYO
from helpdesk.management.base import HelpdeskCommand, UsageError
from helpdesk.roles import is_admin


class Command(HelpdeskCommand):
    help = "Cluster inquiries, detect surges and propose FAQ drafts now."

    def add_arguments(self, parser):
        parser.add_argument("--as-of", help="end of the window, YYYY-MM-DD (default: now)")
        parser.add_argument(
            "--publish-drafts-as",
            metavar="USERNAME",
            help="publish every proposed draft that has an answer, as this admin (demo set-up)",
        )

    def handle(self, *args, as_of=None, publish_drafts_as=None, **options):
        when = None
        if as_of:
            try:
                when = dt.datetime.combine(dt.date.fromisoformat(as_of), dt.time(23, 59), TOKYO)
            except ValueError as exc:
                raise UsageError(f"--as-of: {exc} (YYYY-MM-DD, e.g. 2026-09-27)") from None
        actor = None
        if publish_drafts_as:
            # Checked before the job runs: a typo must not cost a whole clustering run.
            actor = get_user_model()._default_manager.filter(username=publish_drafts_as).first()
            if actor is None:
                raise UsageError(f"--publish-drafts-as: no such user: {publish_drafts_as}")
            if not is_admin(actor):
                raise UsageError(f"--publish-drafts-as: {publish_drafts_as} is not an admin (only admins publish FAQ)")
        run = faq_cluster_run(as_of=when)
        self.stdout.write(
            f"clusters: {run.clusters}, surges: {run.surges}, method: {run.method}"
            + (f" (fallback: {run.fallback_reason})" if run.fallback_reason else "")
        )
        if actor is not None:
            drafts = FaqEntry.objects.filter(status=FaqEntry.Status.DRAFT).exclude(answer="")
            published = [faq_entry_publish(actor=actor, entry=entry) for entry in drafts]
            self.stdout.write(f"published {len(published)} drafts as {actor.get_username()}")
