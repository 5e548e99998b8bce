"""python manage.py verify_audit — check the audit trail's hash chain.

Walks every audit row in id order (streamed) and recomputes its hash; also checks the chain
heads that published KPI snapshots recorded. Exit codes (docs/commands.md): 0 the chain is
intact, 1 a link is broken (the first one is named on stderr) or the check could not run."""

from django.apps import apps

from helpdesk.audit import audit_chain_verify
from helpdesk.management.base import ExitCode, HelpdeskCommand


class Command(HelpdeskCommand):
    help = "Verify the audit trail's hash chain; report the first broken link (exit 1)."

    def handle(self, *args, **options):
        report = audit_chain_verify(anchors=_kpi_anchors())
        if not report.intact:
            self.stderr.write(f"{self.name}: error: first broken link: {report.reason}")
            self.stdout.write(f"checked {report.rows} audit events up to the break")
            self.exit_code = ExitCode.FAILED
            return
        if report.head_id is None:
            self.stdout.write("audit trail intact: no events yet")
            return
        self.stdout.write(
            f"audit trail intact: {report.rows} events, head {report.head_id} {report.head_hash}, "
            f"{report.anchors} KPI snapshot anchors match"
        )


def _kpi_anchors() -> dict[int, tuple[str, str]]:
    """Chain heads recorded by published KPI snapshots: audit event id → (hash, which snapshot)."""
    if not apps.is_installed("kpi"):
        return {}
    KpiSnapshot = apps.get_model("kpi", "KpiSnapshot")
    anchors: dict[int, tuple[str, str]] = {}
    rows = KpiSnapshot.objects.exclude(audit_head_id=None).order_by("month", "version")
    for month, version, head_id, head_hash in rows.values_list("month", "version", "audit_head_id", "audit_head_hash"):
        assert head_id is not None  # excluded above
        anchors.setdefault(head_id, (head_hash, f"KPI snapshot {month} v{version}"))
    return anchors
