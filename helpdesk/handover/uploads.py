"""API uploads of handover files: stored, then the import task queued."""

from __future__ import annotations

from django.db import transaction

from helpdesk.handover.tasks import handover_import_file
from helpdesk.imports.services import (
    import_run_create_pending,
    import_run_enqueue,
    import_upload_path,
    import_upload_write,
    import_uploads_check,
)
from helpdesk.models import ImportRun


@transaction.atomic
def records_import_enqueue(*, upload, actor) -> ImportRun:
    """Store the upload and queue `handover_import_file` once the run row is committed."""
    import_uploads_check([upload])
    run = import_run_create_pending(
        kind=ImportRun.Kind.RECORDS, source_name=upload.name or "upload.jsonl", created_by=actor, total=upload.size
    )
    path = import_upload_path(run=run, upload=upload)
    # Nothing is written while the broker is down: 503 and no run (`import_run_enqueue`).
    return import_run_enqueue(
        run,
        handover_import_file,
        run.pk,
        str(path),
        store=lambda: import_upload_write(upload=upload, path=path),
        paths=[path],
    )
