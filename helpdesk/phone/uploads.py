"""API uploads of call files: stored, then the import task queued (`imports.services`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from zoneinfo import ZoneInfo

from django.conf import settings

from helpdesk.imports.services import (
    import_run_create_pending,
    import_run_enqueue,
    import_uploads_check,
)
from helpdesk.models import ImportRun
from helpdesk.phone.parse_generic import (
    normalise_encoding,
)
from helpdesk.phone.tasks import calls_import_files


def upload_dir() -> Path:
    path = Path(settings.MEDIA_ROOT) / "imports" / "calls"
    path.mkdir(parents=True, exist_ok=True)
    return path


def calls_import_enqueue(
    *, uploads: Sequence, fmt: str, encoding: str = "utf-8", cdr_timezone: str = "Asia/Tokyo", actor=None
) -> ImportRun:
    """Store uploaded files and queue `calls_import_files` once the run row is committed;
    progress and the result are on the run (GET /api/import-runs/{id}/). With the broker
    down: ServiceUnavailableError (503) and nothing stored (`import_run_enqueue`)."""
    import_uploads_check(uploads)
    normalise_encoding(encoding)
    ZoneInfo(cdr_timezone)
    kind = ImportRun.Kind.CALLS_ASTERISK if fmt == "asterisk" else ImportRun.Kind.CALLS_GENERIC
    names = [upload.name or f"upload-{i}" for i, upload in enumerate(uploads)]
    run = import_run_create_pending(
        kind=kind, source_name=", ".join(names), created_by=actor, total=sum(u.size for u in uploads)
    )
    paths = [str(upload_dir() / f"run-{run.pk}-{i}") for i in range(len(uploads))]

    def store() -> None:
        for upload, path in zip(uploads, paths, strict=True):
            with open(path, "wb") as out:
                for chunk in upload.chunks():
                    out.write(chunk)

    return import_run_enqueue(
        run,
        calls_import_files,
        run.pk,
        paths,
        names,
        store=store,
        paths=paths,
        fmt=fmt,
        encoding=encoding,
        cdr_timezone=cdr_timezone,
    )
