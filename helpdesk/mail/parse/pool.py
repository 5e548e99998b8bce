"""Parsing raw messages in worker processes, streamed and in order. Pure: no ORM, no settings.

`parse_items(items, workers=N)` reads `MailItem`s from the source iterator, sends chunks of
their raw bytes to a process pool (`parse_message` in each worker) and yields
`(item, parsed)` in the source's order: `parsed` is a `ParsedMail`, a `ParseFailure` (the
message could not be parsed), or None for an item the source already refused
(`item.error`). At most `in_flight` chunks are out at a time, so memory stays flat whatever
the size of the mailbox. `workers=0` parses in this process (same results, no pool), as does a
daemonic process (a Celery prefork child), which may not start processes."""

from __future__ import annotations

import dataclasses
import itertools
import multiprocessing
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor

from helpdesk.mail.parse.message import NotAMailMessage, ParsedMail, parse_message
from helpdesk.mail.parse.sources import MailItem

CHUNK = 64  # messages per task: large enough that pickling is not the cost, small for latency
IN_FLIGHT_PER_WORKER = 3


@dataclasses.dataclass
class ParseFailure:
    """Why a message could not be parsed: the exception's class name and text, and whether it
    was the parser saying "not mail" (the reject reason is built from these by the intake)."""

    name: str
    text: str
    not_mail: bool


def _parse_one(raw: bytes, max_attachment_bytes: int) -> ParsedMail | ParseFailure:
    try:
        return parse_message(raw, max_attachment_bytes=max_attachment_bytes)
    except Exception as exc:  # one bad message never stops the import
        return ParseFailure(type(exc).__name__, str(exc)[:500], isinstance(exc, NotAMailMessage))


def parse_chunk(raws: list[bytes], max_attachment_bytes: int) -> list[ParsedMail | ParseFailure]:
    """The worker's task: one chunk of raw messages."""
    return [_parse_one(raw, max_attachment_bytes) for raw in raws]


def _pool_context() -> multiprocessing.context.BaseContext:
    """Workers forked from a clean server process, not from the importer: a plain fork runs
    the importer's after-fork hooks in each worker (multiprocessing's `register_after_fork`),
    and kombu's closes its pooled broker connections there, which blocks for ever on a
    connection the importer left waiting on a BRPOP (a Celery worker's own, an `app.control`
    reply). The server imports the parser once (preloaded), so each worker still starts in
    milliseconds with it imported, and needs no `if __name__ == "__main__"` guard in whatever
    script imports (only the named modules are preloaded, never `__main__`). Where there is no
    forkserver (not POSIX), spawn."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    return context


def parse_items(
    items: Iterable[MailItem],
    *,
    max_attachment_bytes: int,
    workers: int = 2,
    chunk: int = CHUNK,
    in_flight: int | None = None,
) -> Iterator[tuple[MailItem, ParsedMail | ParseFailure | None]]:
    iterator = iter(items)
    if multiprocessing.current_process().daemon:
        workers = 0  # a daemonic process (a Celery prefork child) may not start processes
    if workers <= 0:
        for item in iterator:
            yield item, (None if item.error else _parse_one(item.raw, max_attachment_bytes))
        return
    limit = in_flight or workers * IN_FLIGHT_PER_WORKER
    executor = ProcessPoolExecutor(max_workers=workers, mp_context=_pool_context())
    pending: deque[tuple[list[MailItem], Future | None]] = deque()
    try:
        while True:
            while len(pending) < limit:
                batch = list(itertools.islice(iterator, chunk))
                if not batch:
                    break
                raws = [item.raw for item in batch if not item.error]
                future = executor.submit(parse_chunk, raws, max_attachment_bytes) if raws else None
                pending.append((batch, future))
            if not pending:
                return
            batch, future = pending.popleft()
            results = iter(future.result() if future is not None else ())
            for item in batch:
                yield item, (None if item.error else next(results))
    finally:
        for _batch, future in pending:
            if future is not None:
                future.cancel()
        executor.shutdown(wait=True, cancel_futures=True)
