"""The bulk path of the mail file import (`import_mail --bulk`): for backfills of tens of
thousands of messages.

The row path (`helpdesk.mail.intake`, `mail_store` per message) stays the reference and the
rules are its own (`mail_message_fields`, `mail_opens_inquiry`, `mail_status_move`, …); this
module applies them to a batch at a time:

1. the raw messages are parsed in worker processes (`helpdesk.mail.parse.pool`), streamed,
   a bounded number of chunks in flight;
2. per batch (BATCH messages, one transaction), a few queries tell which Message-IDs are
   stored, which stored messages the batch's In-Reply-To / References name and their
   inquiries, the inquiries the subjects' `[EG-…]` references name, which batch messages
   stored mail already refers to, and the thread state (status, latest answer and question,
   earliest real answer) of every stored inquiry the batch may touch;
3. the batch is walked in file order as the row path would store it one message at a time,
   on that state in memory: a message threads to what the row path would find (a message
   of an earlier batch or earlier in this one), opens an inquiry, sets the first answer,
   moves the status — each with the row path's audit row;
4. messages, new inquiries, references, attachments and audit rows are written with COPY
   (`helpdesk.db.bulk_insert`; bulk_create on SQLite), ids taken from the sequences first so
   rows can name each other; stored inquiries whose state moved get one bulk UPDATE. A whole
   batch is prepared here and written by a writer thread on its own connection (`_Writer`)
   while the next batch is looked up and walked, on what is committed and on what the batch
   being written stores (`_Pending`); without the thread (SQLite, inside a caller's
   transaction) it is written here after the next one is walked, in the same order.

A message whose handling needs what only the row path does — stored or earlier mail that
refers to it (a reply imported before its question: adoption of orphans), an earlier question
that moves its inquiry's start, a citizen's reply that notifies an assignee, an answer to an
escalated inquiry, a value the database would refuse (a NUL byte) — ends the segment: what
came before it is written in bulk, it goes through `mail_store` in its own savepoint (same
rows, same reject), and the rest of the batch starts a new segment with fresh lookups. Such a
batch, and one with a reject, is imported in this thread once everything before it is
committed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import logging
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from django.conf import settings
from django.db import connection, connections, transaction
from django.db.models import F, Max, Min
from django.utils import timezone

from helpdesk.audit import AuditDraft, audit_record_many, diff_fields
from helpdesk.db import bulk_insert, existing_values, fewer_collections, pk_column
from helpdesk.imports.services import ImportCounts, import_run_progress, import_run_reject
from helpdesk.inquiries.services import PII_FIELDS, inquiry_new_ref
from helpdesk.mail.intake import (
    ANSWERED,
    ANSWERED_NOTE,
    CITIZEN_REPLIED_NOTE,
    STATUS_ANSWERS,
    STATUS_QUESTIONS,
    import_one,
    mail_inquiry_fields,
    mail_message_audit,
    mail_message_fields,
    mail_moves_inquiry_start,
    mail_opens_inquiry,
    mail_real_answer,
    mail_reference_ids,
    mail_reject_reason,
    mail_status_answer,
    mail_status_move,
    mail_status_question,
)
from helpdesk.mail.parse.message import ParsedMail
from helpdesk.mail.parse.pool import CHUNK, IN_FLIGHT_PER_WORKER, ParseFailure, parse_items
from helpdesk.mail.parse.sources import MailItem
from helpdesk.mail.parse.threads import subject_refs, thread_candidates
from helpdesk.mail.selectors import mail_real_answers
from helpdesk.models import AuditEvent, EmailMessage, ImportRun, Inquiry, MailReference
from helpdesk.models.mail import Attachment

logger = logging.getLogger(__name__)

BATCH = 2000  # messages per transaction (and per progress report)

_MESSAGE_TYPE = EmailMessage._meta.label_lower
_INQUIRY_TYPE = Inquiry._meta.label_lower


class _Stop(Exception):
    """This message needs the row path."""


@dataclasses.dataclass
class _Thread:
    """An inquiry as the walk sees it: its row's state and its thread's aggregates."""

    key: int  # the stored inquiry's id; for a new one, -(its position among the new ones) - 1
    ref: str
    channel: str
    status: str
    received_at: dt.datetime
    first_answered_at: dt.datetime | None
    version: int
    assigned_to_id: int | None
    latest_answer: dt.datetime | None  # `mail_sync_inquiry_status`'s aggregates
    latest_question: dt.datetime | None
    earliest_answer: dt.datetime | None  # `mail_refresh_first_answer`'s
    new: bool = False
    opener: int = -1  # a new inquiry: the index of the message that opened it
    opened: dict[str, Any] | None = None  # … and its `mail_inquiry_fields` (validated once)
    moved: bool = False  # a stored inquiry whose row changes


@dataclasses.dataclass
class _Message:
    item: MailItem
    parsed: ParsedMail
    fields: dict[str, Any]
    refs: list[str]
    thread: int | None = None  # _Thread.key


def mail_import_bulk(
    *,
    run: ImportRun,
    items: Iterable[MailItem],
    counts: ImportCounts,
    source: str = EmailMessage.Source.FILE,
    workers: int | None = None,
    batch: int | None = None,
) -> ImportCounts:
    """Import `items` on the bulk path; counts, rejects and progress as `mail_import_items`.
    Only for file imports (no acknowledgement is ever sent for them). `workers`: parsing
    processes (default HELPDESK_MAIL_BULK_WORKERS); `batch`: messages per transaction."""
    if workers is None:
        workers = settings.HELPDESK_MAIL_BULK_WORKERS
    batch = batch or BATCH
    if source != EmailMessage.Source.FILE:
        raise ValueError("the bulk path imports mail files only")
    # The parsers work a whole batch ahead: while this process walks and writes batch N (and
    # waits for PostgreSQL), batch N+1 is being parsed. (With the pool's default of a few
    # chunks in flight the parsers stood idle for the write: most of the wall time on a
    # 2-core machine.) Memory: one more batch of parsed messages, whatever the mailbox size.
    stream = parse_items(
        items,
        max_attachment_bytes=settings.HELPDESK_ATTACHMENT_MAX_BYTES,
        workers=workers,
        in_flight=-(-batch // CHUNK) + max(workers, 1) * IN_FLIGHT_PER_WORKER,
    )
    writer = _Writer(threaded=_can_overlap())
    try:
        with fewer_collections():
            while True:
                chunk = list(itertools.islice(stream, batch))
                if not chunk:
                    break
                # A batch with nothing for the row path is walked now, on what is stored and
                # what the batch before it (perhaps still being written) stores, and written
                # by the writer while the next one is walked.
                planned = _plan_batch(run, chunk, source, writer.pending, done=counts.read + len(chunk))
                if planned is not None:
                    plan, pending = planned
                    writer.submit(plan)
                    counts += pending
                    continue
                writer.drain()  # what the row path reads must be committed
                pending = ImportCounts()
                with transaction.atomic():
                    _import_batch(run, chunk, pending, source)
                counts += pending
                import_run_progress(run=run, done=counts.read)
    except BaseException:
        writer.close(failed=True)
        raise
    writer.close()
    return counts


def _can_overlap() -> bool:
    """The writer thread (its own connection) when each batch may commit on its own: on
    PostgreSQL, outside an enclosing transaction (a test's, which a second connection would not
    see), unless HELPDESK_MAIL_BULK_OVERLAP is off. Otherwise a batch is written, in this
    thread, after the next one is walked: the same order, the same rows."""
    return connection.vendor == "postgresql" and not connection.in_atomic_block and settings.HELPDESK_MAIL_BULK_OVERLAP


class _Writer:
    """Writes planned batches one at a time, in order, each in its own transaction: on a
    thread with its own database connection (`threaded`), so that PostgreSQL works on batch N
    while this process walks batch N+1, or in this thread when the next batch is submitted.
    `pending` is what the batch submitted last stores (not committed yet, perhaps)."""

    def __init__(self, *, threaded: bool) -> None:
        self.threaded = threaded
        self.pending: _Pending | None = None
        self._plan: _Plan | None = None  # (not threaded) submitted, not written yet
        self._executor: ThreadPoolExecutor | None = None
        self._future: Future | None = None

    def submit(self, plan: _Plan) -> None:
        self._wait()
        self.pending = plan.pending
        if not self.threaded:
            self._plan = plan
            return
        if self._executor is None:  # (after the parsing pool has forked: no thread is forked)
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mail-bulk-writer")
        self._future = self._executor.submit(_execute, plan)

    def _wait(self) -> None:
        if self._plan is not None:
            plan, self._plan = self._plan, None
            _execute(plan)
        if self._future is not None:
            future, self._future = self._future, None
            future.result()  # (re-raises the writer's error)

    def drain(self) -> None:
        """Every submitted batch committed."""
        self._wait()
        self.pending = None

    def close(self, *, failed: bool = False) -> None:
        """Every submitted batch committed, the thread and its connection closed. `failed`: the
        import failed; what was submitted is still written (and counted), an error doing so is
        logged (the import's own error is the one raised)."""
        try:
            if not failed:
                self.drain()
            else:
                try:
                    self.drain()
                except Exception:
                    logger.exception("mail import: the batch being written failed too")
        finally:
            if self._executor is not None:
                self._executor.submit(connections.close_all).result()
                self._executor.shutdown(wait=True)


def _import_batch(
    run: ImportRun, chunk: list[tuple[MailItem, ParsedMail | ParseFailure | None]], counts: ImportCounts, source: str
) -> None:
    todo: list[tuple[MailItem, ParsedMail]] = []
    for item, parsed in chunk:
        counts.read += 1
        if parsed is None:  # the source refused it (no such file, a line too long, …)
            _flush(run, todo, counts, source)
            import_run_reject(
                run=run,
                source_name=item.source_name,
                reason=item.error,
                line=item.line,
                offset=item.offset,
                raw=item.raw[:65536],
            )
            counts.add("rejected")
        elif isinstance(parsed, ParseFailure):
            _flush(run, todo, counts, source)
            logger.warning(
                "mail import: message at %s offset %s rejected (%s)", item.source_name, item.offset, parsed.name
            )
            import_run_reject(
                run=run,
                source_name=item.source_name,
                reason=mail_reject_reason(not_mail=parsed.not_mail, name=parsed.name, text=parsed.text),
                line=item.line,
                offset=item.offset,
                raw=item.raw,
            )
            counts.add("rejected")
        else:
            todo.append((item, parsed))
    _flush(run, todo, counts, source)


def _flush(run: ImportRun, todo: list[tuple[MailItem, ParsedMail]], counts: ImportCounts, source: str) -> None:
    """Write `todo` (then empty it): segments in bulk, each message the walk stops at through
    the row path."""
    start = 0
    while start < len(todo):
        start = _segment(todo, start, counts, source)
        if start < len(todo):
            item, parsed = todo[start]
            counts.add(import_one(run=run, item=item, source=source, parsed=parsed))
            start += 1
    todo.clear()


# --- one segment -------------------------------------------------------------------------------


def _storable(*values: Any) -> bool:
    """Values the database takes as the row path gives them (PostgreSQL refuses NUL in text
    and text that is not UTF-8 encodable; the row path would reject such a message): the
    texts checked at once."""
    text = "".join(v for v in values if isinstance(v, str))
    if "\x00" in text:
        return False
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return False
    return True


@dataclasses.dataclass
class _Pending:
    """What a batch submitted to the writer stores, as the walk of the next batch reads it
    (it may not be committed yet)."""

    messages: dict[str, int | None]  # Message-ID → its inquiry's id
    refers_to: set[str]  # Message-IDs its messages refer to
    inquiries: dict[str, tuple[int, dt.datetime]]  # its new inquiries: ref → (id, received_at)
    threads: dict[int, _Thread]  # every inquiry its walk read or made, in its final state
    top: dict[str, int]  # the highest id drawn, per table (SQLite draws above it)


def _plan_batch(
    run: ImportRun,
    chunk: list[tuple[MailItem, ParsedMail | ParseFailure | None]],
    source: str,
    pending: _Pending | None,
    *,
    done: int,
) -> tuple[_Plan, ImportCounts] | None:
    """The whole batch walked as one segment and its rows prepared, or None when a message of
    it is a reject or needs the row path (the batch is then imported as `_import_batch` does,
    once everything before it is committed)."""
    todo: list[tuple[MailItem, ParsedMail]] = []
    for item, parsed in chunk:
        if not isinstance(parsed, ParsedMail):
            return None
        todo.append((item, parsed))
    counts = ImportCounts()
    counts.read = len(todo)
    now = timezone.now()
    walk = _walk(todo, counts, source, now, pending)
    if walk.stop < len(todo):
        return None
    plan = _prepare(walk, now, pending)
    plan.run, plan.done = run, done
    if walk.messages:
        counts.add("created", len(walk.messages))
    return plan, counts


def _segment(todo: list[tuple[MailItem, ParsedMail]], start: int, counts: ImportCounts, source: str) -> int:
    """Walk todo[start:] as the row path would store it and write in bulk what it can; the
    index of the first message it could not take (len(todo) when it took them all)."""
    now = timezone.now()
    walk = _walk(todo[start:], counts, source, now, None)
    if walk.messages:
        _execute(_prepare(walk, now, None))
        counts.add("created", len(walk.messages))
    return start + walk.stop


@dataclasses.dataclass
class _Walked:
    messages: list[_Message]
    threads: dict[int, _Thread]
    new_threads: list[_Thread]
    drafts: list[tuple]  # ("inquiry", key) | ("first", key, old, new) | ("move", key, old, new, note) | ("message", i)
    stop: int  # the index of the first message it could not take (len(todo): none)


def _walk(
    todo: list[tuple[MailItem, ParsedMail]],
    counts: ImportCounts,
    source: str,
    now: dt.datetime,
    pending: _Pending | None,
) -> _Walked:
    """Look up what `todo` needs (in the database, and in `pending`: the batch before it, which
    may not be committed yet) and walk it as the row path would store it, up to the first
    message that needs the row path."""
    ids = list(dict.fromkeys(parsed.message_id for _, parsed in todo))
    stored = set(existing_values(EmailMessage, "message_id", "id", ids))
    candidates: set[str] = set()
    refs_named: set[str] = set()
    for _, parsed in todo:
        candidates.update(thread_candidates(in_reply_to=parsed.in_reply_to, references=parsed.references))
        refs_named.update(subject_refs(parsed.subject))
    # Stored messages in an inquiry, by Message-ID (the row path's first threading step).
    stored_inquiry = {
        k: int(v)
        for k, v in existing_values(EmailMessage, "message_id", "inquiry", list(candidates)).items()
        if v is not None
    }
    # Inquiries by subject reference: (id, received_at) per ref.
    by_ref = {
        ref: (pk, received)
        for ref, pk, received in Inquiry.objects.filter(ref__in=refs_named).values_list("ref", "pk", "received_at")
    }
    # Messages of the segment that stored mail already refers to: the row path adopts or
    # threads through them.
    referred = set(
        MailReference.objects.filter(referenced_message_id__in=ids).values_list("referenced_message_id", flat=True)
    )
    known: dict[int, _Thread] = {}
    if pending is not None:
        stored.update(mid for mid in ids if mid in pending.messages)
        for mid in candidates:
            pk = pending.messages.get(mid)
            if pk is not None:
                stored_inquiry[mid] = pk
        by_ref.update((ref, found) for ref, found in pending.inquiries.items() if ref in refs_named)
        referred.update(mid for mid in ids if mid in pending.refers_to)
        known = pending.threads
    pks = {*stored_inquiry.values(), *(pk for pk, _ in by_ref.values())}
    threads = _load_threads(pks - known.keys())
    threads.update((pk, known[pk]) for pk in pks & known.keys())  # (copied before they change)

    walked: list[_Message] = []
    drafts: list[tuple] = []
    written: dict[str, int | None] = {}  # Message-ID → thread key, of the segment's messages
    referenced: set[str] = set()  # Message-IDs the segment's messages refer to
    new_threads: list[_Thread] = []
    stop = len(todo)
    for offset, (item, parsed) in enumerate(todo):
        mid = parsed.message_id
        if mid in stored or mid in written:
            counts.add("unchanged")
            continue
        try:
            message = _walk_one(
                item,
                parsed,
                source,
                now,
                stored_inquiry,
                by_ref,
                threads,
                written,
                referenced,
                referred,
                drafts,
                len(walked),
                new_threads,
            )
        except _Stop:
            stop = offset
            break
        walked.append(message)
        written[mid] = message.thread
        referenced.update(message.refs)
    return _Walked(walked, threads, new_threads, drafts, stop)


def _load_threads(pks: set[int]) -> dict[int, _Thread]:
    if not pks:
        return {}
    threads = {
        pk: _Thread(pk, ref, channel, status, received, first, version, assignee, None, None, None)
        for pk, ref, channel, status, received, first, version, assignee in Inquiry.objects.filter(
            pk__in=pks
        ).values_list("pk", "ref", "channel", "status", "received_at", "first_answered_at", "version", "assigned_to_id")
    }
    latest = (
        EmailMessage.objects.filter(inquiry_id__in=pks)
        .values("inquiry_id")
        .annotate(
            answer=Max("received_at", filter=STATUS_ANSWERS), question=Max("received_at", filter=STATUS_QUESTIONS)
        )
        .values_list("inquiry_id", "answer", "question")
    )
    for pk, answer, question in latest:
        threads[pk].latest_answer, threads[pk].latest_question = answer, question
    earliest = (
        mail_real_answers()
        .filter(inquiry_id__in=pks, sent_at__gte=F("inquiry__received_at"))
        .values("inquiry_id")
        .annotate(first=Min("sent_at"))
        .values_list("inquiry_id", "first")
    )
    for pk, first in earliest:
        threads[pk].earliest_answer = first
    return threads


def _walk_one(
    item: MailItem,
    parsed: ParsedMail,
    source: str,
    now: dt.datetime,
    stored_inquiry: dict[str, int],
    by_ref: dict[str, tuple[int, dt.datetime]],
    threads: dict[int, _Thread],
    written: dict[str, int | None],
    referenced: set[str],
    referred: set[str],
    drafts: list[tuple],
    index: int,
    new_threads: list[_Thread],
) -> _Message:
    """One message, as `mail_store` → `_thread_new_message` would store it; raises _Stop
    (having changed nothing) when it needs the row path."""
    mid = parsed.message_id
    if mid in referred or mid in referenced:
        raise _Stop  # stored mail refers to it: threading through it, adopting orphans
    fields = mail_message_fields(parsed=parsed, raw=item.raw, source=source, fallback_received_at=item.mtime, now=now)
    if not _storable(*fields.values(), *(v for a in parsed.attachments for v in (a.filename, a.content_type))):
        raise _Stop
    message = _Message(item, parsed, fields, mail_reference_ids(parsed=parsed))

    # The inquiry `_find_inquiry` finds: In-Reply-To, References newest first, the subject's
    # reference (the latest received inquiry among those named).
    key: int | None = None
    for candidate in thread_candidates(in_reply_to=parsed.in_reply_to, references=parsed.references):
        key = written.get(candidate)
        if key is None:
            key = stored_inquiry.get(candidate)
        if key is not None:
            break
    if key is None:
        named = subject_refs(parsed.subject)
        if named and any(t.ref in named for t in new_threads):
            raise _Stop  # (a reference made in this very segment: never seen in practice)
        found = [by_ref[ref] for ref in named if ref in by_ref]
        if found:
            key = max(found, key=lambda f: (f[1], f[0]))[0]

    direction, auto = fields["direction"], fields["is_auto_acknowledgement"]
    events: list[tuple] = []
    if key is None:
        if mail_opens_inquiry(direction=direction, is_auto=auto):
            opened = mail_inquiry_fields(fields)
            thread = _Thread(
                key=-len(new_threads) - 1,
                ref=inquiry_new_ref(opened["received_at"]),  # (checked for collisions when written)
                channel=Inquiry.Channel.EMAIL,
                status=Inquiry.Status.NEW,
                received_at=opened["received_at"],
                first_answered_at=None,
                version=1,
                assigned_to_id=None,
                latest_answer=None,
                latest_question=fields["received_at"],
                earliest_answer=None,
                new=True,
                opener=index,
                opened=opened,
            )
            new_threads.append(thread)
            threads[thread.key] = thread
            key = thread.key
            events.append(("inquiry", key))
    else:
        thread = dataclasses.replace(threads[key])
        if mail_moves_inquiry_start(
            direction=direction,
            is_auto=auto,
            received_at=fields["received_at"],
            inquiry_channel=thread.channel,
            inquiry_received_at=thread.received_at,
        ):
            raise _Stop
        if direction == EmailMessage.Direction.INBOUND and not auto and thread.assigned_to_id is not None:
            raise _Stop  # notify_citizen_replied tells the assignee
        send_status = EmailMessage.SendStatus.NOT_APPLICABLE
        received, sent = fields["received_at"], fields["sent_at"]
        if mail_status_answer(direction=direction, is_auto=auto, send_status=send_status) and received is not None:
            thread.latest_answer = max(filter(None, (thread.latest_answer, received)))
        if mail_status_question(direction=direction, is_auto=auto) and received is not None:
            thread.latest_question = max(filter(None, (thread.latest_question, received)))
        if (
            mail_real_answer(direction=direction, is_auto=auto, send_status=send_status, sent_at=sent)
            and sent >= thread.received_at
        ):
            thread.earliest_answer = min(filter(None, (thread.earliest_answer, sent)))
        # mail_refresh_first_answer
        earliest = thread.earliest_answer
        if earliest is not None and (thread.first_answered_at is None or thread.first_answered_at > earliest):
            events.append(("first", key, thread.first_answered_at, earliest))
            thread.first_answered_at = earliest
            thread.version += 1
            thread.moved = True
        # mail_sync_inquiry_status
        if not auto:
            move = mail_status_move(
                status=thread.status, latest_answer=thread.latest_answer, latest_question=thread.latest_question
            )
            if move is not None:
                if move == ANSWERED and thread.status == Inquiry.Status.ESCALATED:
                    raise _Stop  # the escalation rule reads the escalations
                target = Inquiry.Status.ANSWERED if move == ANSWERED else Inquiry.Status.IN_PROGRESS
                note = ANSWERED_NOTE if move == ANSWERED else CITIZEN_REPLIED_NOTE
                events.append(("move", key, thread.status, target, note))
                thread.status = target
                thread.version += 1
                thread.moved = True
        threads[key] = thread
    message.thread = key
    drafts.extend(events)
    drafts.append(("message", index))
    return message


# --- writing -------------------------------------------------------------------------------------


def _allocate(model, n: int, above: int = 0) -> list[int]:
    """n new ids for `model`, taken now (the rows name each other before they are written);
    on SQLite above `above` too (the ids of a batch drawn but not written yet)."""
    if n == 0:
        return []
    table = model._meta.db_table
    column = pk_column(model)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)", [table, column, n]
            )
            return sorted(row[0] for row in cursor.fetchall())
        # SQLite: one writer at a time, inside this transaction; AUTOINCREMENT never reuses an
        # id below its sequence, so start above both.
        cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
        row = cursor.fetchone()
        cursor.execute(f"SELECT max({connection.ops.quote_name(column)}) FROM {connection.ops.quote_name(table)}")
        top = max(row[0] if row else 0, cursor.fetchone()[0] or 0, above)
    return list(range(top + 1, top + 1 + n))


_MESSAGE_COLUMNS = [
    "id",
    "message_id",
    "direction",
    "source",
    "inquiry_id",
    "from_address",
    "from_name",
    "to_addresses",
    "subject",
    "body_text",
    "body_html",
    "in_reply_to",
    "references",
    "sent_at",
    "received_at",
    "raw",
    "is_auto_acknowledgement",
    "charset_problem",
    "send_status",
    "send_attempts",
    "last_send_error",
    "send_next_attempt_at",
    "send_claimed_at",
    "created_at",
]
_INQUIRY_FIELDS = [
    f for f in Inquiry._meta.concrete_fields if not f.generated and f.name not in ("search_text",)
]  # (search_text: kept by the database)


@dataclasses.dataclass
class _Plan:
    """A walked batch's rows, ready to write (`_execute`), and what they store (`pending`)."""

    messages: list[tuple]
    inquiries: list[list]
    moved: list[_Thread]
    references: list[tuple[int, str]]
    attachments: list[tuple]
    audit: list[AuditDraft]
    pending: _Pending
    now: dt.datetime
    run: ImportRun | None = None  # (a whole batch: its progress is written with it)
    done: int = 0


def _prepare(walk: _Walked, now: dt.datetime, pending: _Pending | None) -> _Plan:
    """Ids, references and rows of a walked segment (in this process: only the writing is
    left, which may then run beside the walk of the next batch)."""
    walked, threads = walk.messages, walk.threads
    new_threads = [threads[t.key] for t in walk.new_threads]  # (their final state)
    top = dict(pending.top) if pending is not None else {}
    message_ids = _allocate(EmailMessage, len(walked), top.get("message", 0))
    inquiry_ids = _allocate(Inquiry, len(new_threads), top.get("inquiry", 0))
    if message_ids:
        top["message"] = message_ids[-1]
    if inquiry_ids:
        top["inquiry"] = inquiry_ids[-1]
    pk_of: dict[int, int] = {t.key: t.key for t in threads.values() if not t.new}
    for thread, pk in zip(new_threads, inquiry_ids, strict=True):
        pk_of[thread.key] = pk
    _new_refs(new_threads, set(pending.inquiries) if pending is not None else set())

    rows = []
    for message, pk in zip(walked, message_ids, strict=True):
        f = message.fields
        rows.append(
            (
                pk,
                f["message_id"],
                f["direction"],
                f["source"],
                pk_of[message.thread] if message.thread is not None else None,
                f["from_address"],
                f["from_name"],
                f["to_addresses"],
                f["subject"],
                f["body_text"],
                f["body_html"],
                f["in_reply_to"],
                f["references"],
                f["sent_at"],
                f["received_at"],
                f["raw"],
                f["is_auto_acknowledgement"],
                f["charset_problem"],
                EmailMessage.SendStatus.NOT_APPLICABLE,
                0,
                "",
                None,
                None,
                now,
            )
        )

    inquiry_rows = []
    for thread in new_threads:
        source_index = thread.opener
        values = {
            **(thread.opened or mail_inquiry_fields(walked[source_index].fields)),
            "id": pk_of[thread.key],
            "ref": thread.ref,
            "channel": thread.channel,
            "status": thread.status,
            "first_answered_at": thread.first_answered_at,
            "version": thread.version,
            "source_message": message_ids[source_index],
            "created_at": now,
            "updated_at": now,
        }
        inquiry_rows.append([values[f.name] if f.name in values else f.get_default() for f in _INQUIRY_FIELDS])

    # What the next batch's walk reads of this one before it is committed.
    stored = {
        message.fields["message_id"]: (pk_of[message.thread] if message.thread is not None else None)
        for message in walked
    }
    known = {
        pk_of[t.key]: dataclasses.replace(t, key=pk_of[t.key], new=False, opener=-1, opened=None, moved=False)
        for t in threads.values()
    }
    return _Plan(
        messages=rows,
        inquiries=inquiry_rows,
        moved=[t for t in threads.values() if t.moved and not t.new],
        references=[(pk, mid) for message, pk in zip(walked, message_ids, strict=True) for mid in message.refs],
        attachments=[
            (pk, a.filename, a.content_type, a.size, a.content, a.truncated)
            for message, pk in zip(walked, message_ids, strict=True)
            for a in message.parsed.attachments
        ],
        audit=list(_drafts(walk.drafts, walked, message_ids, threads)),
        pending=_Pending(
            messages=stored,
            refers_to={mid for message in walked for mid in message.refs},
            inquiries={t.ref: (pk_of[t.key], t.received_at) for t in new_threads},
            threads=known,
            top=top,
        ),
        now=now,
    )


def _execute(plan: _Plan) -> None:
    """Write a prepared segment; a whole batch (`plan.run`) in its own transaction, with its
    progress."""
    with transaction.atomic(savepoint=False):
        bulk_insert(EmailMessage, _MESSAGE_COLUMNS, plan.messages, binary=True)
        bulk_insert(Inquiry, [f.attname if f.is_relation else f.name for f in _INQUIRY_FIELDS], plan.inquiries)
        if plan.moved:
            _update_moved(plan.moved, plan.now)
        bulk_insert(MailReference, ["message_id", "referenced_message_id"], plan.references)
        bulk_insert(
            Attachment,
            ["message_id", "filename", "content_type", "size", "content", "truncated"],
            plan.attachments,
            binary=True,
        )
        audit_record_many(plan.audit)
        if plan.run is not None:
            import_run_progress(run=plan.run, done=plan.done)


_UPDATE_MOVED = """
    UPDATE {table} AS i SET status = v.status, first_answered_at = v.first, version = v.version, updated_at = %s
    FROM unnest(%s::bigint[], %s::text[], %s::timestamptz[], %s::integer[]) AS v(id, status, first, version)
    WHERE i.id = v.id
"""


def _update_moved(moved: list[_Thread], now: dt.datetime) -> None:
    """The stored inquiries whose status or first answer moved: one UPDATE joined to arrays
    of the new values on PostgreSQL (bulk_update's CASE over every id compares each row with
    every id: it took a fifth of the bulk path's time); bulk_update on SQLite."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                _UPDATE_MOVED.format(table=connection.ops.quote_name(Inquiry._meta.db_table)),
                [
                    now,
                    [t.key for t in moved],
                    [t.status for t in moved],
                    [t.first_answered_at for t in moved],
                    [t.version for t in moved],
                ],
            )
        return
    Inquiry.objects.bulk_update(
        [
            Inquiry(pk=t.key, status=t.status, first_answered_at=t.first_answered_at, version=t.version, updated_at=now)
            for t in moved
        ],
        ["status", "first_answered_at", "version", "updated_at"],
        batch_size=500,
    )


def _new_refs(new_threads: list[_Thread], taken: set[str]) -> None:
    """Each new inquiry's `EG-…` reference (`inquiry_new_ref`, drawn when it was opened),
    drawn again while it is already used (as `inquiry_create` retries a collision)."""
    todo = list(new_threads)
    first = True
    while todo:
        if not first:
            for thread in todo:
                thread.ref = inquiry_new_ref(thread.received_at)
        first = False
        refs = [t.ref for t in todo]
        used = set(existing_values(Inquiry, "ref", "id", refs)) | taken
        again = []
        for thread in todo:
            if thread.ref in used:
                again.append(thread)
            else:
                used.add(thread.ref)
                taken.add(thread.ref)
        todo = again


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    # The row path's values come back from the database (UTC) before they are audited.
    return value.astimezone(dt.UTC) if value is not None else None


def _drafts(
    drafts: list[tuple], walked: list[_Message], message_ids: list[int], threads: dict[int, _Thread]
) -> Iterator[AuditDraft]:
    """The row path's audit rows, in its order, now that ids and references are known."""
    for event in drafts:
        kind = event[0]
        if kind == "message":
            message = walked[event[1]]
            f = message.fields
            thread = threads[message.thread] if message.thread is not None else None
            changes, note = mail_message_audit(
                parsed=message.parsed,
                raw=message.item.raw,
                stored_raw=f["raw"],
                direction=f["direction"],
                source=f["source"],
                inquiry_ref=thread.ref if thread is not None else None,
            )
            yield AuditDraft(AuditEvent.Action.CREATE, _MESSAGE_TYPE, str(message_ids[event[1]]), changes, note)
        elif kind == "inquiry":
            thread = threads[event[1]]
            yield AuditDraft(
                AuditEvent.Action.CREATE,
                _INQUIRY_TYPE,
                thread.ref,
                {"channel": thread.channel, "received_at": thread.received_at.isoformat()},
            )
        elif kind == "first":
            thread = threads[event[1]]
            changes = diff_fields(
                Inquiry(first_answered_at=_utc(event[2])), {"first_answered_at": _utc(event[3])}, pii_fields=PII_FIELDS
            )
            yield AuditDraft(AuditEvent.Action.UPDATE, _INQUIRY_TYPE, thread.ref, changes, "first answer")
        else:
            thread = threads[event[1]]
            yield AuditDraft(
                AuditEvent.Action.TRANSITION,
                _INQUIRY_TYPE,
                thread.ref,
                {"status": {"old": event[2], "new": event[3]}},
                event[4],
            )
