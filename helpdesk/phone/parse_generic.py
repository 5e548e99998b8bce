"""Generic call CSV adapter (formats.md "Phone" A). Pure parsing: bytes in, CallRecords and
rejects out; no ORM. The file is streamed line by line, so memory does not depend on its size.

    call_id,arrived_at,caller,outcome,queue,queued_at,answered_at,ended_at,agent,acw_seconds
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import operator
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import BinaryIO, NamedTuple

from helpdesk.clock import TOKYO
from helpdesk.imports.lines import Overlong, bounded_lines, excerpt
from helpdesk.phone.records import OUTCOMES, CallRecord, RowError
from helpdesk.phone.rules import Typed, cross_field_error

COLUMNS = (
    "call_id",
    "arrived_at",
    "caller",
    "outcome",
    "queue",
    "queued_at",
    "answered_at",
    "ended_at",
    "agent",
    "acw_seconds",
)
BOM = b"\xef\xbb\xbf"
# Values no center's PBX produces: past them a row is a reject, never a figure bent by a typo
# (docs/phone.md, "Values the import refuses"; line length: helpdesk/ingest/lines.py).
EARLIEST_YEAR, LATEST_YEAR = 2000, 2099  # timestamps: the century the center lives in
MAX_ACW_SECONDS = 86_400  # after-call work the PBX measured: at most a day
CALL_ID_MAX = 128  # characters (the Call column's length)
ENCODINGS = {"utf-8": "utf-8", "utf8": "utf-8", "cp932": "cp932", "shift_jis": "cp932", "sjis": "cp932"}


class FileError(ValueError):
    """The whole file cannot be read (wrong header, unknown encoding)."""


@dataclass(slots=True)
class Reject:
    line: int
    offset: int
    raw: bytes
    reason: str


@dataclass(slots=True)
class Parsed:
    line: int
    record: CallRecord


class Row(NamedTuple):
    """A structurally sound row, not yet validated: fields stripped, in COLUMNS order (a
    named tuple: an import holds tens of thousands of them in its batches)."""

    line: int
    offset: int
    fields: tuple[str, ...]


def normalise_encoding(name: str | None) -> str:
    key = (name or "utf-8").strip().lower().replace("_", "-") if name else "utf-8"
    key = {"shift-jis": "shift_jis"}.get(key, key)
    if key not in ENCODINGS:
        raise FileError(f"unsupported encoding {name!r} (use utf-8 or cp932)")
    return ENCODINGS[key]


class _Lines:
    """Decodes a binary stream line by line, remembering where each line was, and sets
    aside lines that do not decode (they become rejects instead of stopping the file).

    Iterated, it is the csv reader's source of decoded lines. `iter_rows` also takes lines
    from it itself (`next_raw`, `decode`) and hands one to the reader only when the reader is
    needed for it: it then sets it as `pending`, which the reader gets first."""

    def __init__(self, fh: BinaryIO, encoding: str) -> None:
        self.raws = bounded_lines(fh)
        self.encoding = encoding
        self.lineno = 0
        self.offset = 0  # byte offset of the current line
        self.next_offset = 0
        self.raw = b""  # its bytes
        self.bad: list[Reject] = []
        self.pending: str | None = None

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        pending = self.pending
        if pending is not None:
            self.pending = None
            return pending
        while True:
            text = self.decode(self.next_raw())
            if text is not None:
                return text

    def next_raw(self) -> bytes:
        """The next line that is neither overlong nor holds a NUL (those go to `bad`);
        StopIteration at the end."""
        for raw in self.raws:
            kept = self.take(raw)
            if kept is not None:
                return kept
        raise StopIteration

    def take(self, raw: bytes | Overlong) -> bytes | None:
        """Count `raw` as the next line: its bytes, or None when it is overlong or holds a NUL
        (then a reject in `bad`)."""
        self.lineno += 1
        self.offset = self.next_offset
        if type(raw) is Overlong:
            self.next_offset += raw.length
            self.bad.append(Reject(self.lineno, self.offset, raw.excerpt, raw.reason))
            return None
        self.raw = raw
        self.next_offset += len(raw)
        if b"\x00" in raw:
            # PostgreSQL text cannot hold NUL, and no PBX writes one inside a field.
            self.bad.append(Reject(self.lineno, self.offset, excerpt(raw), f"NUL byte at byte {raw.index(0) + 1}"))
            return None
        return raw

    def decode(self, raw: bytes) -> str | None:
        """The current line decoded, or None (and a reject in `bad`)."""
        data = raw[3:] if self.lineno == 1 and raw.startswith(BOM) else raw
        try:
            return data.decode(self.encoding)
        except UnicodeDecodeError as exc:
            reason = f"undecodable bytes ({self.encoding}) at byte {exc.start + 1}"
            self.bad.append(Reject(self.lineno, self.offset, excerpt(raw), reason))
            return None


# The ISO 8601 forms accepted (the PostgreSQL fast path applies the same pattern):
# date, T or space, hh:mm[:ss[.ffffff]], optional Z or ±hh[:]mm.
TIMESTAMP_PATTERN = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]{1,6})?)?(Z|[+-][0-9]{2}:?[0-9]{2})?$"
)
_TIMESTAMP = re.compile(TIMESTAMP_PATTERN)
_TS_GROUPLESS = TIMESTAMP_PATTERN[1:-1].replace("(", "(?:")
# The four timestamps of a row in one match (separated by \x1f, which no timestamp holds).
_TIMESTAMPS = re.compile("\x1f".join([_TS_GROUPLESS, *[f"(?:{_TS_GROUPLESS})?"] * 3]))
_CENTURY = ("20", "")  # a timestamp's first two characters, or an empty field
# The usual shape of a row's four timestamps, "2026-10-01 09:00:00" (or with T) or empty, the
# first one present: with ASCII digits mapped to 0, the joined fields' UTF-8 is one of these
# (mapped to how many timestamps they hold; bytes, whose translate is five times str's). Each
# matches _TIMESTAMPS: a row of this shape whose present timestamps all start with "20"
# passes the timestamp checks without the regex (a sixth of the import's Python time).
_ZERO_DIGITS = bytes.maketrans(b"0123456789", b"0" * 10)
_SHAPES = {
    b"\x1f".join((first, *rest)): 1 + sum(1 for part in rest if part)
    for first in (b"0000-00-00 00:00:00", b"0000-00-00T00:00:00")
    for rest in itertools.product((b"", b"0000-00-00 00:00:00", b"0000-00-00T00:00:00"), repeat=3)
}


def parse_timestamp(value: str, field: str) -> dt.datetime | None:
    if not value:
        return None
    if not _TIMESTAMP.match(value):
        raise RowError(f"bad timestamp in {field}: {value[:40]!r}")
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise RowError(f"bad timestamp in {field}: {value[:40]!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=TOKYO)
    return moment


def field_error(fields: Sequence[str]) -> str | None:
    """The checks of single fields, without parsing anything (call id, outcome, timestamp
    shapes): the first rules of `row_to_record`, also run alone before a batch goes to the
    PostgreSQL fast path."""
    call_id, arrived, _, outcome, _, queued, answered, ended, _, acw = fields
    if not call_id:
        return "missing call_id"
    if len(call_id) > CALL_ID_MAX:
        return f"call_id longer than {CALL_ID_MAX} characters"
    if outcome not in OUTCOMES:
        return f"unknown outcome {outcome[:40]!r}"
    if not arrived:
        return "missing arrived_at"
    if len(acw) > 5 or (len(acw) == 5 and acw > str(MAX_ACW_SECONDS)):
        return f"acw_seconds above {MAX_ACW_SECONDS} (a day): {acw[:20]!r}"
    joined = f"{arrived}\x1f{queued}\x1f{answered}\x1f{ended}"
    present = _SHAPES.get(joined.encode("utf-8", "surrogatepass").translate(_ZERO_DIGITS))
    if present is not None and f"\x1f{joined}".count("\x1f20") == present:
        return None  # (the usual shapes, every timestamp of the century: no regex)
    if (
        _TIMESTAMPS.fullmatch(joined)
        and arrived[:2] == "20"
        and queued[:2] in _CENTURY
        and answered[:2] in _CENTURY
        and ended[:2] in _CENTURY
    ):
        return None  # (cheap checks for the usual row; the loop below says which field is wrong)
    for name, value in (("arrived_at", arrived), ("queued_at", queued), ("answered_at", answered), ("ended_at", ended)):
        if value and not _TIMESTAMP.match(value):
            return f"bad timestamp in {name}: {value[:40]!r}"
        if value and not EARLIEST_YEAR <= int(value[:4]) <= LATEST_YEAR:
            return f"{name} year {value[:4]} outside {EARLIEST_YEAR}–{LATEST_YEAR}"
    return None


def row_to_record(fields: Sequence[str]) -> CallRecord:
    """Validate one row (its fields stripped, in COLUMNS order) into a CallRecord; RowError
    says why not. The cross-field rules are `rules.CROSS_RULES` (also run in SQL by `generic_pg`)."""
    error = field_error(fields)
    if error:
        raise RowError(error)
    call_id, arrived, caller, outcome, queue, queued, answered, ended, agent, acw = fields
    arrived_at = parse_timestamp(arrived, "arrived_at")
    queued_at = parse_timestamp(queued, "queued_at")
    answered_at = parse_timestamp(answered, "answered_at")
    ended_at = parse_timestamp(ended, "ended_at")
    assert arrived_at is not None
    error = cross_field_error(
        Typed(outcome, arrived_at, queued_at, answered_at, ended_at, caller, queue, agent, acw_text=acw)
    )
    if error:
        raise RowError(error)
    acw_seconds = int(acw) if acw else None
    return CallRecord(
        call_id=call_id,
        arrived_at=arrived_at,
        outcome=outcome,
        caller=caller,
        queue=queue,
        queued_at=queued_at,
        answered_at=answered_at,
        ended_at=ended_at,
        agent=agent,
        acw_seconds=acw_seconds,
        source="generic",
    )


def iter_rows(fh: BinaryIO, *, encoding: str = "utf-8") -> Iterator[Row | Reject]:
    """Yield a Row for every line that decodes and splits into the right number of columns
    and a Reject (line, byte offset, raw bytes, reason) for every other, in file order.
    Raises FileError when the header is wrong."""
    lines = _Lines(fh, normalise_encoding(encoding))
    reader = csv.reader(lines, strict=True)
    header: list[str] | None = None
    while header is None:
        try:
            row = next(reader)
        except StopIteration:
            if lines.bad:
                raise FileError("the header line cannot be decoded") from None
            raise FileError("empty file: no header row") from None
        except csv.Error as exc:
            raise FileError(f"unreadable header: {exc}") from None
        if lines.bad:
            raise FileError("the header line cannot be decoded")
        if row and any(cell.strip() for cell in row):
            header = [cell.strip().lower() for cell in row]
    missing = [c for c in COLUMNS if c not in header]
    unknown = [c for c in header if c not in COLUMNS]
    if missing or unknown or len(set(header)) != len(header):
        raise FileError(
            "header must name exactly the columns " + ",".join(COLUMNS) + f" (missing: {missing}, unknown: {unknown})"
        )
    index = tuple(header.index(c) for c in COLUMNS)
    width = len(COLUMNS)
    ordered = index == tuple(range(width))
    pick = operator.itemgetter(*index)
    strip = str.strip
    raws, encoding = lines.raws, lines.encoding
    new = tuple.__new__
    lineno, next_offset = lines.lineno, lines.next_offset
    for raw in raws:
        # The usual line, read here without the bookkeeping of `_Lines` (a quarter of the
        # reading's time): whole, without NUL, decodable, without quotes or a carriage return
        # inside — one record, split at its commas exactly as the csv reader would.
        if type(raw) is bytes and b"\x00" not in raw:
            try:
                text = raw.decode(encoding)
            except UnicodeDecodeError:
                pass
            else:
                if '"' not in text:
                    body = text.rstrip("\r\n")
                    if "\r" not in body:
                        cells = body.split(",")
                        if len(cells) == width:
                            lineno += 1
                            # (a Row, made without its Python-level __new__)
                            yield new(Row, (lineno, next_offset, tuple(map(strip, cells if ordered else pick(cells)))))
                            next_offset += len(raw)
                            continue
        # Any other line the usual way: rejected, or handed to the csv reader (which may take
        # more lines for a quoted field).
        lines.lineno, lines.next_offset = lineno, next_offset
        kept = lines.take(raw)
        if kept is not None and (decoded := lines.decode(kept)) is not None:
            yield from _drain(lines)
            yield from _through_reader(lines, reader, decoded, width, ordered, pick)
        else:
            yield from _drain(lines)
        lineno, next_offset = lines.lineno, lines.next_offset
    yield from _drain(lines)


def _through_reader(
    lines: _Lines, reader, text: str, width: int, ordered: bool, pick: operator.itemgetter
) -> Iterator[Row | Reject]:
    """The record that starts with the line `text` (decoded, not yet read), read by the csv
    reader: a Row, a Reject, or nothing (a blank line)."""
    strip = str.strip
    lines.pending = text
    try:
        row = next(reader)
    except csv.Error as exc:
        yield from _drain(lines)
        yield Reject(lines.lineno, lines.offset, lines.raw, f"malformed CSV: {exc}")
        return
    if lines.bad:
        yield from _drain(lines)
    if not row or (len(row) == 1 and not row[0].strip()):
        return  # blank line
    if len(row) != width:
        yield Reject(lines.lineno, lines.offset, lines.raw, f"wrong column count: expected {width}, got {len(row)}")
        return
    yield Row(lines.lineno, lines.offset, tuple(map(strip, row if ordered else pick(row))))


def read_calls_csv(fh: BinaryIO, *, encoding: str = "utf-8") -> Iterator[Parsed | Reject]:
    """Yield a Parsed for every good row and a Reject (line, byte offset, raw bytes, reason)
    for every bad one, in file order. Raises FileError when the header is wrong."""
    for item in iter_rows(fh, encoding=encoding):
        if isinstance(item, Reject):
            yield item
            continue
        try:
            yield Parsed(item.line, row_to_record(item.fields))
        except RowError as exc:
            yield Reject(item.line, item.offset, encode_row(item.fields), str(exc))


def encode_row(fields: Sequence[str]) -> bytes:
    """The row as one CSV line (for a reject's raw bytes when the original is not at hand)."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(fields)
    return out.getvalue().encode("utf-8", "surrogateescape")


def _drain(lines: _Lines) -> Iterator[Reject]:
    bad, lines.bad = lines.bad, []
    yield from bad
