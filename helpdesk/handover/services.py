"""Contractor handover: export every record as JSON Lines, import such a file.

The same two functions run behind the management commands (`export_records`,
`import_records`), the admin API and the Celery task. docs/handover.md describes the
format; `helpdesk.handover.records` the record types; other apps add types through
`helpdesk.handover.registry`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import pickle
import queue
import re
import signal
import tempfile
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from multiprocessing.connection import Connection
from typing import IO, Any, NamedTuple, cast, overload

import orjson
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone

from helpdesk.audit import audit_record
from helpdesk.handover.bulk import Prepared
from helpdesk.handover.codec import ImportContext, UnresolvedReference
from helpdesk.handover.indexes import defer_enabled, deferred_indexes_restore, first_handover_indexes_drop, tables_empty
from helpdesk.handover.registry import RecordType, get_record_type, registered_types
from helpdesk.imports.lines import Overlong, bounded_lines
from helpdesk.imports.services import (
    ImportCounts,
    Outcome,
    import_run_finish,
    import_run_progress,
    import_run_reject,
)
from helpdesk.models import AuditEvent, ImportRun

logger = logging.getLogger(__name__)


FORMAT_VERSION = 1


SUPPORTED_VERSIONS = frozenset({1})


BATCH_LINES = 500


BATCH_BYTES = 8 * 1024 * 1024


# The bulk path (COPY, PostgreSQL) commits larger batches: its cost per batch is a few
# statements, whatever the number of lines.
BULK_BATCH_LINES = 5000


BULK_BATCH_BYTES = 32 * 1024 * 1024


# No record nests deeper than a few levels; 100,000 nested arrays would exhaust the
# interpreter's stack in json.loads.
MAX_JSON_DEPTH = 64


def max_line_bytes() -> int:
    """A line longer than this is rejected unread (helpdesk.imports.lines.bounded_lines), so one
    huge line never costs more memory than this (config/settings/base.py: 40 MiB)."""
    return settings.HELPDESK_HANDOVER_MAX_LINE_BYTES


def bulk_default() -> bool:
    """The bulk path (COPY + set-based upsert) on PostgreSQL, unless the setting
    HELPDESK_HANDOVER_BULK is False; SQLite always imports through the ORM."""
    return connection.vendor == "postgresql" and settings.HELPDESK_HANDOVER_BULK


_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)


_JSON_BRACKET = re.compile(rb"[\[\]{}]")


def json_too_deep(raw: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether the JSON text nests arrays/objects deeper than `limit` (strings skipped).
    Cheap for ordinary lines: only a line with more than `limit` brackets is scanned."""
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False
    depth = 0
    for match in _JSON_BRACKET.finditer(_JSON_STRING.sub(b"", raw)):
        if match.group() in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def _dumps(obj: dict[str, Any]) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def records_export_lines(*, actor, note: str = "") -> Iterator[str]:
    """Yield the handover file line by line (without newlines): the header, then every
    registered record type in its order. Rows are streamed (server-side cursors on
    PostgreSQL), and on PostgreSQL the whole export reads one REPEATABLE READ snapshot so
    the header's counts match the lines. Writes one AuditEvent EXPORT before the first line
    (the file holds personal information)."""
    types = registered_types()
    audit_record(
        actor=actor,
        action=AuditEvent.Action.EXPORT,
        object_type="handover",
        changes={"types": [t.type_name for t in types], "format_version": FORMAT_VERSION},
        note=note or "handover export (JSON Lines)",
    )
    snapshot = connection.vendor == "postgresql" and not connection.in_atomic_block
    with transaction.atomic():
        if snapshot:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        counts = {t.type_name: t.counter() for t in types if t.counter is not None}
        yield _dumps(
            {
                "type": "header",
                "format_version": FORMAT_VERSION,
                "exported_at": timezone.localtime().isoformat(),
                "counts": counts,
            }
        )
        for record_type in types:
            for obj in record_type.exporter():
                yield _dumps({"type": record_type.type_name, **{k: v for k, v in obj.items() if k != "type"}})


def records_export(*, out: IO[str], actor, note: str = "") -> Counter:
    """Write the handover file to a text stream; returns the number of lines per type."""
    written: Counter = Counter()
    for line in records_export_lines(actor=actor, note=note):
        out.write(line)
        out.write("\n")
        written[line[9 : line.index('"', 9)] if line.startswith('{"type":"') else "?"] += 1
    return written


class _Line(NamedTuple):
    """A decoded line. Its text is `raw.decode()` (kept only as bytes: a batch of mail
    lines is most of the importer's memory); `data` is None once a bulk group holding the
    line has been typed ahead (the group's `prepared` carries what the import needs)."""

    line: int
    offset: int
    raw: bytes
    prior: str | None
    data: dict[str, Any] | None
    record_type: RecordType


class _GroupData(Sequence[dict[str, Any]]):
    """The parsed lines of a typed group, for its bulk importer: the parsing process does
    not hand them over (`_Importer.produce`), so a line asked for again (an update's audit
    row) is decoded again from its bytes."""

    def __init__(self, entries: list[tuple[int, int, bytes, str | None]]) -> None:
        self.entries = entries

    def __len__(self) -> int:
        return len(self.entries)

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...

    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...

    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        return json.loads(self.entries[index][2])


class _Staging:
    """A batch's counts, rejects and deferred lines, kept only once the batch has committed."""

    __slots__ = ("counts", "rejects", "defers")

    def __init__(self) -> None:
        self.counts = ImportCounts()
        self.rejects: list[dict[str, Any]] = []
        self.defers: list[bytes] = []

    def reject(self, *, line: int, offset: int, reason: str, raw: bytes) -> None:
        self.counts.add("rejected")
        self.rejects.append({"line": line, "offset": offset, "reason": reason, "raw": raw})


class _Group(NamedTuple):
    """Lines of one type that follow each other, for the type's bulk importer: their entries
    (line, offset, raw, prior: the very tuples of the batch's `entries`, so that the parsing
    process hands each line over once, as plain tuples, which pickle in C), the type, their
    parsed data (None once typed: `prepared` carries what the import needs) and `prepared`,
    what the type's `bulk_prepare` made of them ahead of the transaction (or None)."""

    entries: list[tuple[int, int, bytes, str | None]]
    record_type: RecordType
    data: list[dict[str, Any]] | None
    prepared: Any


class _Batch(NamedTuple):
    """A batch as the parsing thread leaves it: its entries (for the line-by-line redo), the
    staging of the lines refused while decoding, and the steps (a group, or one line for
    its row importer) in file order."""

    entries: list
    stage: _Staging
    steps: list


_PLAIN_OUTCOMES = frozenset({"created", "updated", "unchanged"})


class _BatchAbort(Exception):
    """A line failed while its batch ran without per-line savepoints: redo the batch with them."""


class _Importer:
    """Lines are imported in batches, each in one transaction. A batch first runs fast:
    without per-line savepoints, and runs of lines of a type with a bulk importer (calls,
    inquiries, escalations, complaints, incidents) go through it (one lookup query and one
    bulk insert for many lines). If anything raises, the batch is rolled back and run again
    line by line, each in its own savepoint, so a bad line is rejected alone. Counts, rejects and deferred lines are staged per batch and kept only
    once the batch has committed."""

    def __init__(self, *, run: ImportRun, source_name: str, bulk: bool | None = None) -> None:
        self.run = run
        self.source_name = source_name
        self.ctx = ImportContext(run=run)
        self.ctx.copy = bulk_default() if bulk is None else bool(bulk and connection.vendor == "postgresql")
        self.batch_lines = BULK_BATCH_LINES if self.ctx.copy else BATCH_LINES
        self.batch_bytes = BULK_BATCH_BYTES if self.ctx.copy else BATCH_BYTES
        self.counts = ImportCounts()
        self.spool: IO[bytes] | None = None
        self.spooled = 0
        self.fallbacks = 0  # batches redone line by line
        self._reset_staging()

    def _reset_staging(self) -> None:
        self.stage = _Staging()

    def _commit_staging(self) -> None:
        self.counts = self.counts + self.stage.counts
        for reject in self.stage.rejects:
            import_run_reject(run=self.run, source_name=self.source_name, **reject)
        assert self.spool is not None
        for record in self.stage.defers:
            self.spool.write(record)
        self.spooled += len(self.stage.defers)
        self._reset_staging()

    # one line ------------------------------------------------------------------------------

    def reject(self, *, line: int, offset: int, reason: str, raw: bytes) -> None:
        self.stage.reject(line=line, offset=offset, reason=reason, raw=raw)

    def defer(self, *, line: int, offset: int, prior: str | None, raw: bytes) -> None:
        # The spool's record (`_spool_entries`): a header line, then the line's bytes as read
        # (checked UTF-8 already), not decoded and escaped again.
        header = b"%d %d %s %d\n" % (line, offset, (prior or "-").encode("ascii"), len(raw))
        self.stage.defers.append(header + raw + b"\n")

    def prepare(
        self, *, line: int, offset: int, raw: bytes | Overlong, prior: str | None, retry: bool, stage: _Staging
    ) -> _Line | None:
        """Decode and check one line; None if it is blank or was rejected here (into `stage`,
        the batch's own: this runs on the parsing thread, ahead of the batch's transaction)."""
        if isinstance(raw, Overlong):
            stage.counts.read += 1
            stage.reject(line=line, offset=offset, reason=raw.reason, raw=raw.excerpt)
            return None
        if not retry:
            if not raw.strip():
                return None  # blank lines are not records
            stage.counts.read += 1
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            stage.reject(line=line, offset=offset, reason=f"not valid UTF-8 (byte {exc.start})", raw=raw)
            return None
        if json_too_deep(raw):
            stage.reject(
                line=line, offset=offset, reason=f"invalid JSON: nested deeper than {MAX_JSON_DEPTH} levels", raw=raw
            )
            return None
        # orjson reads what json reads, or refuses (NaN, 1e400, lone surrogates…) — except an
        # integer beyond 64 bits, which it reads as a float: a line holding any float (none of
        # helpdesk's records has one) goes to the standard parser, as does a refused one.
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError:
            data = _REJECTED
        else:
            if _has_float(data):
                data = _REJECTED
        if data is _REJECTED:
            data = _json_loads_or_reject(stage, line, offset, raw, text)
            if data is _REJECTED:
                return None
        if not isinstance(data, dict):
            stage.reject(line=line, offset=offset, reason="line is not a JSON object", raw=raw)
            return None
        type_name = data.get("type")
        if not isinstance(type_name, str) or not type_name:
            stage.reject(line=line, offset=offset, reason="missing field 'type'", raw=raw)
            return None
        if type_name == "header":
            stage.reject(line=line, offset=offset, reason="header line not at the start of the file", raw=raw)
            return None
        record_type = get_record_type(type_name)
        if record_type is None:
            stage.reject(line=line, offset=offset, reason=f"unknown record type {type_name[:60]!r}", raw=raw)
            return None
        return _Line(line, offset, raw, prior, data, record_type)

    def finish_line(
        self,
        entry: tuple[int, int, bytes, str | None],
        record_type: RecordType,
        outcome: str,
        *,
        final: bool,
        wants_retry: bool,
    ) -> None:
        """Count a line's outcome, or spool it for a later pass; `entry`: (line, offset, raw, prior)."""
        line, offset, raw, prior = entry
        if outcome == "defer":
            self.defer(line=line, offset=offset, prior=prior, raw=raw)
            return
        if outcome not in ("created", "updated", "unchanged"):
            raise RuntimeError(f"importer of {record_type.type_name!r} returned {outcome!r}")
        combined = _combine(prior, cast(Outcome, outcome))  # one of the three, checked above
        if wants_retry and not final:
            self.defer(line=line, offset=offset, prior=combined, raw=raw)
            return
        self.stage.counts.add(combined)

    def import_one(self, item: _Line, *, final: bool, savepoint: bool) -> None:
        """Run the line's importer. Without `savepoint`, any error aborts the batch."""
        self.ctx.start_line(final=final, prior_outcome=item.prior)
        type_name = item.record_type.type_name
        data = item.data
        assert data is not None  # only a typed bulk group drops its lines' data
        if not savepoint:
            try:
                outcome = item.record_type.importer(data, self.ctx)
            except Exception as exc:
                raise _BatchAbort from exc
            self.finish_line(item[:4], item.record_type, outcome, final=final, wants_retry=self.ctx.wants_retry)
            return
        reason = None
        try:
            with transaction.atomic():
                outcome = item.record_type.importer(data, self.ctx)
        except UnresolvedReference as exc:
            self.ctx.forget_users()
            if not final:
                self.finish_line(item[:4], item.record_type, "defer", final=final, wants_retry=False)
                return
            reason = str(exc)
        except KeyError as exc:
            reason = f"missing field {exc.args[0]!r}" if exc.args else "missing field"
        except ValidationError as exc:
            reason = "invalid value: " + _validation_message(exc)
        except IntegrityError as exc:
            reason = "constraint violated: " + _first_line(exc)
        except DatabaseError as exc:
            reason = "database refused the record: " + _first_line(exc)
        except (ValueError, TypeError) as exc:
            reason = str(exc) or type(exc).__name__
        if reason is not None:
            self.ctx.forget_users()
            self.reject(line=item.line, offset=item.offset, reason=f"{type_name}: {reason}", raw=item.raw)
            return
        self.finish_line(item[:4], item.record_type, outcome, final=final, wants_retry=self.ctx.wants_retry)

    def import_group(self, group: _Group, *, final: bool) -> None:
        """Lines of one type that follow each other, through the type's bulk importer."""
        record_type, entries, prepared = group.record_type, group.entries, group.prepared
        bulk = record_type.bulk_importer
        assert bulk is not None
        self.ctx.start_line(final=final, prior_outcome=None)
        try:
            items = group.data if group.data is not None else _GroupData(entries)
            priors = [entry[3] for entry in entries]
            if prepared is not None:
                outcomes = bulk(items, priors, self.ctx, prepared=prepared)
            else:
                outcomes = bulk(items, priors, self.ctx)
        except Exception as exc:
            raise _BatchAbort from exc
        if len(outcomes) != len(entries):
            raise RuntimeError(f"bulk importer of {record_type.type_name!r} returned a wrong count")
        tally = Counter(outcomes)
        if tally.keys() <= _PLAIN_OUTCOMES and not any(entry[3] for entry in entries):
            # The usual group of a first pass (no prior outcome, nothing spooled): counted
            # at once, what finish_line would count line by line.
            for outcome, n in tally.items():
                self.stage.counts.add(cast(Outcome, outcome), n)
            return
        finish = self.finish_line
        for entry, outcome in zip(entries, outcomes, strict=True):
            outcome, _, retry = outcome.partition("+")
            finish(entry, record_type, outcome, final=final, wants_retry=retry == "retry")

    # whole file ----------------------------------------------------------------------------

    def produce(self, entries: list, *, retry: bool) -> _Batch:
        """The pure part of a batch (no database; on the parsing thread when the bulk path
        runs): decode and check every line, group runs of one type, and type each run whose
        type can do it ahead (`bulk_prepare`, the bulk path)."""
        stage = _Staging()
        steps: list = []
        group: list[_Line] = []
        group_entries: list = []

        def close() -> None:
            prepare = group[0].record_type.bulk_prepare if self.ctx.copy else None
            data = [cast(dict, i.data) for i in group]
            ahead = prepare(data, [i.prior for i in group]) if prepare is not None else None
            # Typed: the parsed lines are no longer needed (an update's audit row decodes its
            # line again); they would be most of the batch's memory and of what the parsing
            # process hands over.
            typed = isinstance(ahead, Prepared) and ahead.error is None
            steps.append(_Group(group_entries, group[0].record_type, None if typed else data, ahead))

        for entry in entries:
            line, offset, raw, prior = entry
            item = self.prepare(line=line, offset=offset, raw=raw, prior=prior, retry=retry, stage=stage)
            if item is None:
                continue
            if group and (item.record_type is not group[0].record_type or item.record_type.bulk_importer is None):
                close()
                group, group_entries = [], []
            if item.record_type.bulk_importer is not None:
                group.append(item)
                group_entries.append(entry)
            else:
                steps.append(item)
        if group:
            close()
        return _Batch(entries, stage, steps)

    def run_batch_fast(self, batch: _Batch, *, final: bool) -> None:
        for step in batch.steps:
            if isinstance(step, _Group):
                self.import_group(step, final=final)
            else:
                self.import_one(step, final=final, savepoint=False)

    def run_batch_safe(self, batch: list, *, final: bool, retry: bool) -> None:
        for line, offset, raw, prior in batch:
            item = self.prepare(line=line, offset=offset, raw=raw, prior=prior, retry=retry, stage=self.stage)
            if item is not None:
                self.import_one(item, final=final, savepoint=True)

    def produced(
        self, entries: Iterable[tuple[int, int, bytes | Overlong, str | None]], *, retry: bool
    ) -> Iterator[_Batch]:
        """The batches, produced: on the bulk path by a parsing thread one batch ahead, so
        that parsing batch N + 1 overlaps PostgreSQL's work on batch N (the importer waits
        for the server without the GIL); on the ORM path inline."""
        batches = _batches(entries, self.batch_lines, self.batch_bytes)
        if not self.ctx.copy:
            for entries_ in batches:
                yield self.produce(entries_, retry=retry)
            return
        make = lambda: (self.produce(b, retry=retry) for b in batches)  # noqa: E731
        yield from (_ahead_process(make) if parse_in_process() else _ahead(make))

    def run_pass(
        self, entries: Iterable[tuple[int, int, bytes | Overlong, str | None]], *, final: bool, retry: bool
    ) -> None:
        for batch in self.produced(entries, retry=retry):
            self.stage = batch.stage
            try:
                with transaction.atomic():
                    self.run_batch_fast(batch, final=final)
            except _BatchAbort as exc:
                # Expected for a batch with a bad line; a cause that is not the line's own
                # (NotBulkable) is a case the bulk path leaves to the row path.
                logger.debug("handover batch redone line by line: %r", exc.__cause__)
                self.fallbacks += 1
                self._reset_staging()
                self.ctx.forget_users()
                self.ctx.clear_cache()
                with transaction.atomic():
                    self.run_batch_safe(batch.entries, final=final, retry=retry)
            self._commit_staging()
            if not retry and batch.entries:
                last_line, last_offset, last_raw, _ = batch.entries[-1]
                size = last_raw.length if isinstance(last_raw, Overlong) else len(last_raw)
                import_run_progress(run=self.run, done=last_offset + size)

    def import_stream(self, stream: IO[bytes]) -> None:
        lines = _read_lines(stream, max_line_bytes())
        first = next(lines, None)
        if first is not None:
            line, offset, raw = first
            header = _as_header(raw)
            if header is not None:
                version = header.get("format_version")
                if version not in SUPPORTED_VERSIONS:
                    raise UnsupportedFormat(f"unsupported format_version {version!r} (this version reads 1)")
            else:
                lines = _chain([first], lines)
        self.spool = tempfile.TemporaryFile()  # noqa: SIM115  (closed in finally; swapped per pass)
        try:
            self.run_pass(((ln, off, raw, None) for ln, off, raw in lines), final=False, retry=False)
            final = False
            while self.spooled:
                pending = self.spooled
                source = self.spool
                source.seek(0)
                self.spool, self.spooled = tempfile.TemporaryFile(), 0  # noqa: SIM115
                try:
                    self.run_pass(_spool_entries(source), final=final, retry=True)
                finally:
                    source.close()
                if final:
                    break
                if self.spooled == pending:
                    final = True  # nothing resolved in this pass: the next one rejects what is left
        finally:
            self.spool.close()
            self.spool = None


class UnsupportedFormat(Exception):
    pass


_END = object()


def _ahead(make: Callable[[], Iterator[Any]], depth: int = 1) -> Iterator[Any]:
    """Items of `make()`, computed on a thread at most `depth` items ahead of the consumer
    (memory: that many batches more). An exception on the thread is raised here, at its
    place in the sequence; a consumer that stops early stops the thread."""
    channel: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                channel.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        try:
            for item in make():
                if not put((True, item)):
                    return
        except BaseException as exc:  # handed to the consumer, raised there
            put((False, exc))
            return
        put(_END)

    thread = threading.Thread(target=work, name="handover-parse", daemon=True)
    thread.start()
    try:
        while True:
            got = channel.get()
            if got is _END:
                return
            ok, item = got
            if not ok:
                raise item
            yield item
    finally:
        stop.set()
        thread.join()


def parse_in_process() -> bool:
    """Whether the bulk path's batches are read, decoded and typed in a child process
    (HELPDESK_HANDOVER_PARSE_PROCESS, where the platform can fork): the importer's own
    process then only writes, and the two do not share one interpreter lock."""
    return settings.HELPDESK_HANDOVER_PARSE_PROCESS and hasattr(os, "fork")


def _ahead_process(make: Callable[[], Iterator[Any]]) -> Iterator[Any]:
    """Items of `make()`, computed in a forked child process and handed over pickled through
    a pipe: the child works at most one item ahead (it waits while the pipe is full). It
    reads what the parent opened before the fork (the file, the spool) and never the
    database. A bare `os.fork` and `os._exit`: no after-fork hooks (Celery's and kombu's
    close connections the child shares with its parent), no exit handlers. An exception in
    the child is raised here, at its place in the sequence; a consumer that stops early ends
    the child. Where the process may not fork, the thread (`_ahead`) instead."""
    read_fd, write_fd = os.pipe()
    try:
        pid = os.fork()
    except OSError as exc:
        logger.info("handover: parsing on a thread (no child process: %s)", exc)
        os.close(read_fd)
        os.close(write_fd)
        yield from _ahead(make)
        return
    if pid == 0:  # the child
        code = 1
        try:
            os.close(read_fd)
            _produce_into(make, Connection(write_fd, readable=False))
            code = 0
        finally:
            os._exit(code)
    os.close(write_fd)
    receiver = Connection(read_fd, writable=False)
    try:
        while True:
            try:
                payload = receiver.recv_bytes()
            except EOFError:
                raise RuntimeError("the handover parsing process ended early") from None
            ok, item = pickle.loads(payload)
            del payload
            if ok is None:
                return
            if not ok:
                raise item
            yield item
    finally:
        receiver.close()
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)  # done already, or stopped early
        os.waitpid(pid, 0)


def _produce_into(make: Callable[[], Iterator[Any]], sender: Connection) -> None:
    """The child's side of `_ahead_process`: (True, item)… then (None, None), or
    (False, exception) where `make` raised."""
    try:
        for item in make():
            sender.send_bytes(pickle.dumps((True, item), protocol=pickle.HIGHEST_PROTOCOL))
        sender.send_bytes(pickle.dumps((None, None)))
    except BrokenPipeError:
        pass  # the consumer stopped early
    except BaseException as exc:
        try:
            payload = pickle.dumps((False, exc))
        except Exception:
            payload = pickle.dumps((False, RuntimeError(f"{type(exc).__name__}: {exc}")))
        with contextlib.suppress(OSError):
            sender.send_bytes(payload)
    finally:
        sender.close()


_REJECTED = object()


def _has_float(value: Any) -> bool:
    """Whether a parsed line holds a float anywhere (nested lists and objects too). The types
    of a level are collected in C (`map(type, …)`): a few microseconds a line."""
    items = value.values() if value.__class__ is dict else value
    types = set(map(type, items))
    if float in types:
        return True
    if dict in types or list in types:
        return any(_has_float(v) for v in items if v.__class__ is dict or v.__class__ is list)
    return False


def _json_loads_or_reject(stage: _Staging, line: int, offset: int, raw: bytes, text: str) -> Any:
    """The standard parser's reading of a line orjson refused, or its reject."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        stage.reject(line=line, offset=offset, reason=f"invalid JSON: {exc.msg} (column {exc.colno})", raw=raw)
    except RecursionError:
        stage.reject(
            line=line, offset=offset, reason=f"invalid JSON: nested deeper than {MAX_JSON_DEPTH} levels", raw=raw
        )
    return _REJECTED


def records_import(*, run: ImportRun, stream: IO[bytes], source_name: str = "", bulk: bool | None = None) -> ImportRun:
    """Import a handover file into this instance and finish `run` with the counts.

    Lines are committed in batches (5000 on the bulk path, 500 on the ORM path), written in
    bulk and, when a batch holds a bad line, again line by line in savepoints; a line that
    cannot be imported becomes an ImportReject with its line number, byte offset and
    reason, and the rest goes on. A line whose inquiry, call or email comes later in
    the file is retried after the rest of the file.

    `bulk`: None chooses (the COPY path on PostgreSQL, see bulk_default); False forces the
    row-by-row ORM path; True asks for the COPY path (ignored on SQLite)."""
    importer = _Importer(run=run, source_name=source_name or run.source_name, bulk=bulk)
    error = ""
    deferred_indexes_restore()  # what a run that died left behind
    # A first handover: the bulk path inserts first and probes only the keys already there
    # (exact either way; the probe per line is what an empty database can skip).
    importer.ctx.insert_first = importer.ctx.copy and tables_empty()
    deferred = importer.ctx.copy and defer_enabled() and bool(first_handover_indexes_drop())
    try:
        try:
            importer.import_stream(stream)
        finally:
            if deferred:
                deferred_indexes_restore()
    except UnsupportedFormat as exc:
        error = str(exc)
    except Exception as exc:
        import_run_finish(run=run, **importer.counts.as_kwargs(), error=f"{type(exc).__name__}: {_first_line(exc)}")
        raise
    return import_run_finish(run=run, **importer.counts.as_kwargs(), error=error)


def _combine(prior: str | None, now: Outcome) -> Outcome:
    if prior == "created":
        return "created"
    if prior == "updated":
        return "updated"
    return now


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]


def _validation_message(exc: ValidationError) -> str:
    if hasattr(exc, "message_dict"):
        return "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items())[:500]
    return " ".join(exc.messages)[:500]


def _read_lines(stream: IO[bytes], limit: int) -> Iterator[tuple[int, int, bytes | Overlong]]:
    """(line number, byte offset, line without its end), never more than `limit` bytes of a
    line in memory: a longer line comes as an Overlong (rejected with its number)."""
    offset = 0
    for number, raw in enumerate(bounded_lines(stream, limit), start=1):
        if isinstance(raw, Overlong):
            yield number, offset, raw
            offset += raw.length
            continue
        size = len(raw)
        body = raw.rstrip(b"\r\n")
        if number == 1 and body.startswith(b"\xef\xbb\xbf"):
            body = body[3:]
            offset += 3
            size -= 3
        yield number, offset, body
        offset += size


def _chain(first: list, rest: Iterator) -> Iterator:
    yield from first
    yield from rest


def _as_header(raw: bytes | Overlong) -> dict | None:
    if isinstance(raw, Overlong) or json_too_deep(raw):
        return None
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    if isinstance(data, dict) and data.get("type") == "header":
        return data
    return None


def _spool_entries(spool: IO[bytes]) -> Iterator[tuple[int, int, bytes, str | None]]:
    """The spooled lines (`_Importer.defer`): per line a header `line offset prior size`
    (prior `-` for none), then `size` bytes of the line and a newline."""
    while header := spool.readline():
        line, offset, prior, size = header.split()
        raw = spool.read(int(size))
        spool.read(1)
        yield int(line), int(offset), raw, None if prior == b"-" else prior.decode("ascii")


def _batches(
    entries: Iterable[tuple[int, int, bytes | Overlong, str | None]], lines: int = BATCH_LINES, limit: int = BATCH_BYTES
) -> Iterator[list]:
    batch: list = []
    size = 0
    for entry in entries:
        batch.append(entry)
        size += len(entry[2]) if isinstance(entry[2], bytes) else len(entry[2].excerpt)
        if len(batch) >= lines or size >= limit:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def file_size(stream: IO[bytes]) -> int | None:
    try:
        return os.fstat(stream.fileno()).st_size
    except (AttributeError, OSError, ValueError):
        return None
