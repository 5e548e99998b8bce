"""Importing mail files (mbox, Maildir, .eml): the run's lifecycle and the choice between the
row path (`helpdesk.mail.intake`, one message at a time) and the bulk path
(`helpdesk.mail.bulk`, for backfills). Both store the same rows (docs/mail.md, "Bulk path")."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from django.conf import settings

from helpdesk.imports.services import ImportCounts, import_run_begin, import_run_finish, import_run_start
from helpdesk.mail.bulk import mail_import_bulk
from helpdesk.mail.intake import mail_import_items
from helpdesk.mail.parse.sources import iter_mail_items
from helpdesk.models import ImportRun


def mail_sources_size(paths: Sequence[str | Path], *, stop_at: int | None = None) -> int:
    """Bytes of mail under `paths` (files, and the files in folders, symbolic links not
    followed); counting stops once `stop_at` is reached."""
    total = 0
    for path in paths:
        for root, _dirs, files in os.walk(path) if Path(path).is_dir() else [("", [], [str(path)])]:
            for name in files:
                try:
                    st = os.lstat(os.path.join(root, name))
                except OSError:
                    continue
                total += st.st_size
                if stop_at is not None and total >= stop_at:
                    return total
    return total


def mail_bulk_chosen(paths: Sequence[str | Path]) -> bool:
    """The bulk path is taken for sources of HELPDESK_MAIL_BULK_MIN_BYTES or more."""
    limit = settings.HELPDESK_MAIL_BULK_MIN_BYTES
    return limit > 0 and mail_sources_size(paths, stop_at=limit) >= limit


def mail_import_paths(
    *,
    paths: Sequence[str | Path],
    created_by=None,
    run: ImportRun | None = None,
    bulk: bool | None = None,
    workers: int | None = None,
) -> ImportRun:
    """Import mbox files, Maildirs, single .eml files or directories of them. Returns the
    finished run; `run.summary()` is the report line. `bulk`: True for the bulk path, False
    for the row path, None to choose by size (`mail_bulk_chosen`); `workers`: the bulk path's
    parsing processes (default HELPDESK_MAIL_BULK_WORKERS; 0: parse in this process)."""
    names = ", ".join(str(p) for p in paths)
    if run is None:
        run = import_run_start(kind=ImportRun.Kind.MAIL, source_name=names, created_by=created_by)
    elif run.status == ImportRun.Status.PENDING:
        import_run_begin(run=run)
    if bulk is None:
        bulk = mail_bulk_chosen(paths)
    counts = ImportCounts()
    error = ""
    items = iter_mail_items([Path(p) for p in paths])
    try:
        if bulk:
            mail_import_bulk(run=run, items=items, counts=counts, workers=workers)
        else:
            mail_import_items(run=run, items=items, counts=counts)
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"[:1000]
        raise
    finally:
        import_run_finish(run=run, **counts.as_kwargs(), error=error)
    return run
