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

from helpdesk.imports.lines import Overlong, bounded_lines

MAX_MESSAGE_BYTES = 64 * 1024 * 1024  # larger than any mail server accepts
MAX_LINE_BYTES = 1024 * 1024  # a mail line: RFC 5322 says 998 bytes; HTML-only mail can be long
_FROM_ESCAPED = re.compile(rb"^>+From ")


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


def iter_mbox(path: Path) -> Iterator[MailItem]:
    name = str(path)
    lines: list[bytes] = []
    size = 0
    start_line = start_offset = None
    offset = 0
    line_no = 0
    prev_blank = True
    too_big = False
    overlong = ""

    def flush() -> MailItem | None:
        if start_offset is None:
            return None
        if too_big:
            reason = overlong or f"message larger than {MAX_MESSAGE_BYTES} bytes"
            return MailItem(name, b"", start_line, start_offset, error=reason)
        raw = b"".join(lines)
        # The blank line before the next From_ line belongs to the mbox, not the message.
        if raw.endswith(b"\r\n\r\n"):
            raw = raw[:-2]
        elif raw.endswith(b"\n\n"):
            raw = raw[:-1]
        return MailItem(name, raw, start_line, start_offset)

    with path.open("rb") as fh:
        for line in bounded_lines(fh, MAX_LINE_BYTES):
            line_no += 1
            if type(line) is Overlong:
                # A line no mail system writes (RFC 5322 allows 998 bytes): the message it is
                # in becomes a reject and the line is never held.
                offset += line.length
                if start_offset is None:
                    yield MailItem(name, line.excerpt, line_no, offset - line.length, error=line.reason)
                else:
                    too_big, lines, overlong = True, [], line.reason
                prev_blank = False
                continue
            length = len(line)
            if line.startswith(b"From ") and prev_blank:
                item = flush()
                if item is not None:
                    yield item
                lines, size, too_big, overlong = [], 0, False, ""
                start_line, start_offset = line_no + 1, offset + length
            elif start_offset is None:
                if line.strip():
                    # Text before the first From_ line: not an mbox message.
                    yield MailItem(name, line[:4096], line_no, offset, error="data before the first 'From ' line")
                    start_line = start_offset = None
            else:
                if _FROM_ESCAPED.match(line):
                    line = line[1:]
                size += len(line)
                if size > MAX_MESSAGE_BYTES:
                    too_big = True
                    lines = []
                elif not too_big:
                    lines.append(line)
            prev_blank = line in (b"\n", b"\r\n")
            offset += length
    item = flush()
    if item is not None:
        yield item


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
