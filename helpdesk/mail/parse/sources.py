"""Mail files → raw messages, streamed: mbox (mboxo/mboxrd), Maildir and single .eml files,
or directories holding any of them. Memory stays flat in the size of the mailbox: an mbox
is read line by line and one message is held at a time.

Each `MailItem` says where the message came from (file, 1-based line of its first line,
byte offset) so a reject can be found again."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from helpdesk.imports.lines import Overlong, bounded_lines

MAX_MESSAGE_BYTES = 64 * 1024 * 1024  # larger than any mail server accepts
MAX_LINE_BYTES = 1024 * 1024  # a mail line: RFC 5322 says 998 bytes; HTML-only mail can be long
_FROM_ESCAPED = re.compile(rb"^>+From ")
_FROM_ESCAPED_LINES = re.compile(rb"^>(>*From )", re.M)
_BLOCK = 256 * 1024  # bytes read at a time by the mbox splitter (memory: see iter_mbox)


@dataclasses.dataclass
class MailItem:
    source_name: str
    raw: bytes
    line: int | None = None
    offset: int | None = None
    mtime: dt.datetime | None = None
    error: str = ""  # set when the item cannot be read at all (reject it)


def is_maildir(path: Path) -> bool:
    return path.is_dir() and (path / "cur").is_dir() and (path / "new").is_dir()


def _looks_like_mbox(path: Path) -> bool:
    with path.open("rb") as fh:
        head = fh.read(5)
    return head == b"From "


@dataclasses.dataclass
class _MboxState:
    """Where the line-by-line reader is: lines and bytes read, and the message being read
    (its first line and offset; None before the first From_ line)."""

    line_no: int = 0
    offset: int = 0
    start_line: int | None = None
    start_offset: int | None = None
    prev_blank: bool = True


def _mbox_lines(fh: IO[bytes], name: str, state: _MboxState, *, one: bool = False) -> Iterator[MailItem]:
    """The reference reader, line by line from `state` (`fh` positioned at `state.offset`).
    With `one`, it stops at the From_ line that ends the message being read (having yielded
    that message), leaving `state` at the next message's start."""
    lines: list[bytes] = []
    size = 0
    too_big = False
    overlong = ""

    def flush() -> MailItem | None:
        if state.start_offset is None:
            return None
        if too_big:
            reason = overlong or f"message larger than {MAX_MESSAGE_BYTES} bytes"
            return MailItem(name, b"", state.start_line, state.start_offset, error=reason)
        raw = b"".join(lines)
        # The blank line before the next From_ line belongs to the mbox, not the message.
        if raw.endswith(b"\r\n\r\n"):
            raw = raw[:-2]
        elif raw.endswith(b"\n\n"):
            raw = raw[:-1]
        return MailItem(name, raw, state.start_line, state.start_offset)

    for line in bounded_lines(fh, MAX_LINE_BYTES):
        state.line_no += 1
        if type(line) is Overlong:
            # A line no mail system writes (RFC 5322 allows 998 bytes): the message it is
            # in becomes a reject and the line is never held.
            state.offset += line.length
            if state.start_offset is None:
                yield MailItem(name, line.excerpt, state.line_no, state.offset - line.length, error=line.reason)
            else:
                too_big, lines, overlong = True, [], line.reason
            state.prev_blank = False
            continue
        length = len(line)
        if line.startswith(b"From ") and state.prev_blank:
            item = flush()
            if item is not None:
                yield item
            lines, size, too_big, overlong = [], 0, False, ""
            state.start_line, state.start_offset = state.line_no + 1, state.offset + length
            state.offset += length
            state.prev_blank = False
            if one and item is not None:
                return
            continue
        if state.start_offset is None:
            if line.strip():
                # Text before the first From_ line: not an mbox message.
                yield MailItem(
                    name, line[:4096], state.line_no, state.offset, error="data before the first 'From ' line"
                )
        else:
            if _FROM_ESCAPED.match(line):
                line = line[1:]
            size += len(line)
            if size > MAX_MESSAGE_BYTES:
                too_big = True
                lines = []
            elif not too_big:
                lines.append(line)
        state.prev_blank = line in (b"\n", b"\r\n")
        state.offset += length
    item = flush()
    state.start_offset = None
    if item is not None:
        yield item


def _unescape(raw: bytes) -> bytes:
    return _FROM_ESCAPED_LINES.sub(rb"\1", raw) if b">From " in raw else raw


def iter_mbox(path: Path) -> Iterator[MailItem]:
    """The messages of an mbox, as `_mbox_lines` reads them, but split with `bytes.find` on
    blocks of the file (C speed: the line-by-line reader cost the bulk import's own process
    a third of its time). A message of more than MAX_LINE_BYTES (the only kind that can hold
    a line too long, or be too big) goes through `_mbox_lines`, and the split resumes at the
    next message; so does anything odd at the start of the file, to the end. Memory: the
    buffer holds at most one message under MAX_LINE_BYTES and one block."""
    name = str(path)
    with path.open("rb") as fh:
        first = fh.readline(MAX_LINE_BYTES + 1)
        if not (first.startswith(b"From ") and first.endswith(b"\n")):
            fh.seek(0)
            yield from _mbox_lines(fh, name, _MboxState())
            return
        from_line = 1  # the line number of the From_ line before the message being split
        # buf[p] is the newline that ends that From_ line, so the message starts at
        # buf[p + 1]; base is the file offset of buf[0].
        buf = first[-1:] + fh.read(_BLOCK)
        base = len(first) - 1
        p = 0
        eof = len(buf) == 1
        while True:
            q = buf.find(b"\nFrom ", p + 1)
            # A From_ line only after a blank line ("\n" or "\r\n").
            while q != -1 and not (buf[q - 1] == 10 or (buf[q - 1] == 13 and buf[q - 2] == 10)):
                q = buf.find(b"\nFrom ", q + 1)
            e = buf.find(b"\n", q + 1) if q != -1 else -1
            end = q if q != -1 else len(buf)
            if end - p > MAX_LINE_BYTES or (e != -1 and e - q > MAX_LINE_BYTES):
                # A large message (or a From_ line too long to be one): line by line.
                state = _MboxState(from_line, base + p + 1, from_line + 1, base + p + 1, False)
                fh.seek(base + p + 1)
                buf = b""  # (not held while the reference reads)
                yield from _mbox_lines(fh, name, state, one=True)
                if state.start_offset is None or state.start_line is None:
                    return  # (the end of the file)
                from_line, base, p = state.start_line - 1, state.start_offset - 1, 0
                fh.seek(state.start_offset)
                buf = b"\n" + fh.read(_BLOCK)
                eof = len(buf) == 1
                continue
            if (q == -1 or e == -1) and not eof:
                # No next message with its whole From_ line in the buffer: read on.
                more = fh.read(_BLOCK)
                eof = not more
                buf = buf[p:] + more
                base += p
                p = 0
                continue
            if q == -1:
                # The last message: to the end of the file.
                yield _mbox_item(name, buf[p + 1 :], from_line + 1, base + p + 1)
                return
            if e == -1:
                # A From_ line without a line end closes the file: as the reference reads it.
                state = _MboxState(from_line, base + p + 1, from_line + 1, base + p + 1, False)
                fh.seek(base + p + 1)
                yield from _mbox_lines(fh, name, state)
                return
            yield _mbox_item(name, buf[p + 1 : q + 1], from_line + 1, base + p + 1)
            from_line += buf.count(b"\n", p + 1, q + 1) + 1
            p = e


def _mbox_item(name: str, content: bytes, line: int, offset: int) -> MailItem:
    raw = content
    # The blank line before the next From_ line belongs to the mbox, not the message.
    if raw.endswith(b"\r\n\r\n"):
        raw = raw[:-2]
    elif raw.endswith(b"\n\n"):
        raw = raw[:-1]
    return MailItem(name, _unescape(raw), line, offset)


def _file_item(path: Path) -> MailItem:
    stat = path.stat()
    mtime = dt.datetime.fromtimestamp(stat.st_mtime, tz=dt.UTC)
    if stat.st_size > MAX_MESSAGE_BYTES:
        return MailItem(str(path), b"", 1, 0, mtime, error=f"message larger than {MAX_MESSAGE_BYTES} bytes")
    if stat.st_size > MAX_LINE_BYTES:
        # A file that could hold a line no mail system writes is checked line by line first
        # (bounded reads): parsing one 50 MB line costs the parser hundreds of MB.
        with path.open("rb") as fh:
            for lineno, line in enumerate(bounded_lines(fh, MAX_LINE_BYTES), 1):
                if type(line) is Overlong:
                    return MailItem(str(path), line.excerpt, lineno, None, mtime, error=line.reason)
    return MailItem(str(path), path.read_bytes(), 1, 0, mtime)


def _link(entry: Path) -> MailItem:
    """A symbolic link inside the folder given is never followed: it could point anywhere
    (a system file would become an inquiry). It is a reject, so the operator sees it."""
    return MailItem(str(entry), b"", None, None, error="symbolic link: not followed (only files inside the folder)")


def iter_maildir(path: Path) -> Iterator[MailItem]:
    for sub in ("new", "cur"):
        for entry in sorted((path / sub).iterdir()):
            if entry.name.startswith("."):
                continue
            if entry.is_symlink():
                yield _link(entry)
            elif entry.is_file():
                yield _file_item(entry)


def iter_path(path: Path) -> Iterator[MailItem]:
    if is_maildir(path):
        yield from iter_maildir(path)
    elif path.is_dir():
        for entry in sorted(path.iterdir()):
            if entry.name.startswith("."):
                continue
            if entry.is_symlink():
                yield _link(entry)
                continue
            if entry.is_dir() and entry.name in ("tmp",):
                continue
            yield from iter_path(entry)
    elif path.is_file():
        if _looks_like_mbox(path):
            yield from iter_mbox(path)
        else:
            yield _file_item(path)
    else:
        yield MailItem(str(path), b"", None, None, error="no such file or directory")


def iter_mail_items(paths: list[Path]) -> Iterator[MailItem]:
    for path in paths:
        yield from iter_path(Path(path))
