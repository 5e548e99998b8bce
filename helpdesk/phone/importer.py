"""One phone import run: the management command, the API upload (via the task) and the demo
all run `calls_import_run`, which dispatches to the generic or the Asterisk path."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from zoneinfo import ZoneInfo

from django.db import connection

from helpdesk.calendar import load_service_calendar
from helpdesk.db import fewer_collections
from helpdesk.imports.services import (
    ImportCounts,
    import_run_begin,
    import_run_finish,
    import_run_progress,
    import_run_reject,
)
from helpdesk.models import ImportRun
from helpdesk.phone.asterisk_join import _import_asterisk
from helpdesk.phone.asterisk_pg import import_asterisk_pg
from helpdesk.phone.generic import GenericRows
from helpdesk.phone.parallel import import_generic_parallel
from helpdesk.phone.parse_generic import (
    FileError,
    iter_rows,
    normalise_encoding,
)

logger = logging.getLogger(__name__)


Progress = Callable[[int, int | None], None]


def count_lines(path: str | Path) -> int:
    lines = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            lines += chunk.count(b"\n")
    return lines


def asterisk_in_sql() -> bool:
    """The Asterisk import assembles calls in SQL on PostgreSQL (`asterisk_pg`), in Python
    elsewhere (`asterisk_join`, SQLite: the zero-setup default)."""
    return connection.vendor == "postgresql"


def calls_import_run(
    *,
    run: ImportRun,
    paths: Sequence[str | Path],
    names: Sequence[str] | None = None,
    fmt: str = "generic",
    encoding: str = "utf-8",
    cdr_timezone: str = "Asia/Tokyo",
    progress: Progress | None = None,
) -> ImportRun:
    """Import call files into `run` (created pending or running) and finish it. Commits
    per batch, so a crash half way keeps what was committed (the run says `failed`)."""
    names = list(names or [str(p) for p in paths])
    counts = ImportCounts()
    errors: list[str] = []
    total = sum(count_lines(p) for p in paths)
    if run.status == ImportRun.Status.PENDING:
        import_run_begin(run=run, total=total)
    else:
        run.total = total
        ImportRun.objects.filter(pk=run.pk).update(total=total)
    done = 0

    def tick(lines: int) -> None:
        nonlocal done
        done = lines
        import_run_progress(run=run, done=min(done, total))
        if progress:
            progress(min(done, total), total)

    try:
        encoding = normalise_encoding(encoding)
        calendar = load_service_calendar()
        if fmt == "generic":
            for path, name in zip(paths, names, strict=True):
                base = done
                try:
                    _import_generic(run, path, name, encoding, calendar, counts, lambda n, b=base: tick(b + n))
                except FileError as exc:
                    import_run_reject(run=run, source_name=name, reason=str(exc), line=1, offset=0)
                    counts.read += 1
                    counts.rejected += 1
                    errors.append(f"{name}: {exc}")
                done = base + count_lines(path)
        elif fmt == "asterisk":
            assemble = import_asterisk_pg if asterisk_in_sql() else _import_asterisk
            with fewer_collections():
                stats = assemble(run, paths, names, encoding, ZoneInfo(cdr_timezone), calendar, counts, tick)
            run.call_stats = stats  # type: ignore[attr-defined]
            counts.created, counts.updated, counts.unchanged = stats.created, stats.updated, stats.unchanged
        else:
            raise FileError(f"unknown format {fmt!r} (generic or asterisk)")
    except Exception as exc:  # the run records the failure; the caller sees it too
        logger.exception("call import %s failed", run.pk)
        import_run_finish(run=run, **counts.as_kwargs(), error=f"{type(exc).__name__}: {exc}"[:2000])
        raise
    return import_run_finish(run=run, **counts.as_kwargs(), error="; ".join(errors)[:2000])


def _import_generic(run, path, name, encoding, calendar, counts: ImportCounts, tick) -> None:
    """Stream one generic file through `GenericRows`. On PostgreSQL, outside a caller's
    transaction, batches are written by two connections at once (`calls_parallel`)."""

    def reject(line, offset, raw, reason) -> None:
        import_run_reject(run=run, source_name=name, reason=reason, line=line, offset=offset, raw=raw)

    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        counts += import_generic_parallel(
            run=run, path=path, name=name, encoding=encoding, calendar=calendar, tick=tick
        )
        return
    rows = GenericRows(run, name, calendar, reject=reject, on_flush=tick)
    with open(path, "rb", buffering=1 << 20) as fh:
        for item in iter_rows(fh, encoding=encoding):
            rows.add(item)
        rows.flush()
    counts += rows.counts


def remove_files(paths: Iterable[str | Path]) -> None:
    for path in paths:
        with contextlib.suppress(OSError):
            os.remove(path)
