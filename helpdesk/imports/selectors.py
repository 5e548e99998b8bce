"""Reads of import runs (phone, mail, handover)."""

from django.db.models import QuerySet

from helpdesk.models import ImportRun
from helpdesk.roles import is_admin


def import_run_list_visible(*, user) -> QuerySet[ImportRun]:
    """Admins see every run; other staff the runs they started."""
    if not getattr(user, "is_authenticated", False):
        return ImportRun.objects.none()
    runs = ImportRun.objects.select_related("created_by")
    return runs if is_admin(user) else runs.filter(created_by=user)
