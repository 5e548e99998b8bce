"""API uploads of mail files (mbox, .eml): stored, then the import task queued."""

from __future__ import annotations

import uuid
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError

from helpdesk.errors import PermissionDeniedError
from helpdesk.imports.services import (
    import_run_create_pending,
    import_run_enqueue,
    import_uploads_check,
)
from helpdesk.mail.tasks import mail_import_run
from helpdesk.models import ImportRun
from helpdesk.roles import is_supervisor


def mail_import_enqueue(*, uploads: list, created_by) -> ImportRun:
    """Uploaded mbox / .eml files: kept under MEDIA_ROOT/imports/mail/<random>/ and imported
    by a Celery task after commit. Returns the pending run; its progress and report line
    are polled on `GET /api/mail/imports/{id}/`. Only supervisors import mail."""
    if not is_supervisor(created_by):
        raise PermissionDeniedError("メールの取込はSVのみ行えます。")
    if not uploads:
        raise ValidationError({"file": "ファイルを指定してください。"})
    import_uploads_check(uploads)
    upload_dir = Path(settings.MEDIA_ROOT) / "imports" / "mail" / uuid.uuid4().hex
    paths = [str(upload_dir / f"{i:03d}-{Path(upload.name).name or 'upload'}") for i, upload in enumerate(uploads)]
    run = import_run_create_pending(
        kind=ImportRun.Kind.MAIL, source_name=", ".join(u.name for u in uploads), created_by=created_by
    )

    def store() -> None:
        upload_dir.mkdir(parents=True, exist_ok=True)
        for upload, path in zip(uploads, paths, strict=True):
            with open(path, "wb") as out:
                for chunk in upload.chunks():
                    out.write(chunk)

    # Nothing is written while the broker is down: 503 and no run (`import_run_enqueue`).
    return import_run_enqueue(run, mail_import_run, run.pk, paths, True, store=store, paths=paths)
