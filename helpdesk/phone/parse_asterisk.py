"""Asterisk adapter (formats.md "Phone" B, spec/asterisk.md): `queue_log` lines and CDR
`Master.csv` rows are parsed here (pure functions, no ORM); `build_call` turns the staged
pieces of one caller uniqueid into a CallRecord. Storage and the join live in
`helpdesk.phone.importer`.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import functools
import hashlib
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import BinaryIO, Protocol

from helpdesk.clock import TOKYO
from helpdesk.imports.lines import Overlong, Padding, bounded_lines, excerpt
from helpdesk.phone.records import IVR_OR_OUT_OF_HOURS, CallRecord, RowError

UTC = dt.UTC

# Member-management and housekeeping lines carry one of these instead of a caller uniqueid.
NON_CALL_IDS = frozenset({"NONE", "REALTIME", "MANAGER", "CLI", ""})

# The data fields an event needs before we rely on it; fewer means the line was cut off.
MIN_DATA_FIELDS = {
    "ENTERQUEUE": 2,
    "CONNECT": 1,
    "COMPLETEAGENT": 2,
    "COMPLETECALLER": 2,
    "ABANDON": 3,
    "EXITWITHTIMEOUT": 1,
    "EXITWITHKEY": 2,
    "EXITEMPTY": 1,
    "BLINDTRANSFER": 4,
    "ATTENDEDTRANSFER": 4,
    "TRANSFER": 4,
}
QUEUE_EXITS = {
    "ABANDON": "queue_abandoned",
    "WITHDRAW": "queue_abandoned",
    "EXITWITHTIMEOUT": "queue_timeout",
    "EXITWITHKEY": "queue_exit_key",
    "EXITEMPTY": "queue_empty",
}
# Events that end an agent's part of an answered call. A transfer keeps the call one call.
AGENT_LEG_ENDS = frozenset({"COMPLETEAGENT", "COMPLETECALLER", "BLINDTRANSFER", "ATTENDEDTRANSFER", "TRANSFER"})

# Dialplan contexts a help-desk call can end in without reaching a queue: the entry
# points for trunk calls and the IVR / announcement contexts behind them (FreePBX/Issabel
# names and common ones). Setting HELPDESK_ASTERISK_INBOUND_CONTEXTS overrides it.
DEFAULT_INBOUND_CONTEXTS = (
    "from-trunk*",
    "from-pstn*",
    "ext-did*",
    "from-external*",
    "incoming*",
    "inbound*",
    "ivr*",
    "app-ivr*",
    "app-announcement*",
    "ext-queues",
)
# A caller id of at most this many digits is one of the PBX's own extensions (an internal
# test call), not a citizen. Setting HELPDESK_ASTERISK_EXTENSION_DIGITS overrides it.
DEFAULT_EXTENSION_DIGITS = 6

CDR_COLUMN_COUNTS = (17, 18, 21)

# --- what both assembly paths read: Python here, SQL in `asterisk_pg` -----------------------
# Each pattern is written once, in the syntax Python's `re` and PostgreSQL's regular
# expressions share; tests/helpdesk/phone/test_asterisk_parity.py runs both paths.

FIELD_BLANKS = " \t"  # what a number field may carry around it
CDR_INT_PATTERN = r"-?[0-9]{1,9}"  # CDR duration / billsec
SECONDS_PATTERN = r"\+?[0-9]{1,9}"  # a queue_log seconds field (hold time, call time); else 0
LOCAL_CHANNEL_PREFIX = "Local/"


def extension_pattern(digits: int) -> str:
    """A caller id that is one of the PBX's own extensions."""
    return f"[0-9]{{1,{int(digits)}}}"


def fnmatch_regex(pattern: str) -> str:
    """A shell pattern (`fnmatch.fnmatchcase`: `*`, `?`, `[…]`, `[!…]`) as a regular expression
    both Python (fullmatch, DOTALL) and PostgreSQL (`~ '^(?:…)$'`) read the same way."""
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        i += 1
        if ch == "*":
            out.append(".*")
        elif ch == "?":
            out.append(".")
        elif ch == "[":
            j = i
            if j < n and pattern[j] == "!":
                j += 1
            if j < n and pattern[j] == "]":
                j += 1
            while j < n and pattern[j] != "]":
                j += 1
            if j >= n:
                out.append("\\[")
                continue
            body, i = pattern[i:j], j + 1
            negate = body.startswith("!")
            body = (body[1:] if negate else body).replace("\\", "\\\\")
            out.append("[" + ("^" if negate else "") + body + "]")
        elif not ch.isascii() or ch.isalnum():
            out.append(ch)
        else:
            out.append("\\" + ch)
    return "".join(out)


@functools.lru_cache(maxsize=64)
def _compiled(regex: str) -> re.Pattern[str]:
    return re.compile(regex, re.S)


def line_hash(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


@dataclass(slots=True)
class QueueLogLine:
    line_hash: str
    time: dt.datetime
    callid: str
    queue: str
    agent: str
    event: str
    data: list[str]


@dataclass(slots=True)
class CdrRow:
    row_hash: str
    uniqueid: str
    linkedid: str
    src: str
    dst: str
    dcontext: str
    channel: str
    dstchannel: str
    lastapp: str
    start: dt.datetime
    answer: dt.datetime | None
    end: dt.datetime
    duration: int
    billsec: int
    disposition: str
    columns: int

    def values(self) -> tuple[object, ...]:
        """The row in `CDR_FIELDS` order: the column order of both staging paths (the SQL
        assembly's COPY and the row-by-row path's insert), so the two cannot drift apart."""
        return (
            self.row_hash,
            self.uniqueid,
            self.linkedid,
            self.src,
            self.dst,
            self.dcontext,
            self.channel,
            self.dstchannel,
            self.lastapp,
            self.start,
            self.answer,
            self.end,
            self.duration,
            self.billsec,
            self.disposition,
            self.columns,
        )


CDR_FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(CdrRow))
"""`CdrRow`'s fields in declaration order; `CdrRow.values()` follows it (tested)."""


@dataclass(slots=True)
class Bad:
    line: int
    offset: int
    raw: bytes
    reason: str


def clean_line(raw: bytes) -> bytes:
    """Drop the NUL runs logrotate's copytruncate leaves and the line end."""
    if b"\x00" in raw:
        raw = raw.replace(b"\x00", b"")
    return raw.rstrip(b"\r\n")


def parse_queue_log_line(body: bytes, *, encoding: str = "utf-8") -> QueueLogLine:
    try:
        text = body.decode(encoding)
    except UnicodeDecodeError as exc:
        raise RowError(f"undecodable bytes ({encoding}) at byte {exc.start + 1}") from None
    parts = text.split("|")
    if len(parts) < 5:
        raise RowError(f"truncated queue_log line: {len(parts)} of at least 5 fields")
    epoch, callid, queue, agent, event = parts[:5]
    if not (epoch.isdigit() and 9 <= len(epoch) <= 11):
        raise RowError(f"bad epoch {epoch[:20]!r}")
    event = event.strip()
    if not event:
        raise RowError("queue_log line without an event name")
    data = parts[5:]
    if data == [""]:
        data = []
    need = MIN_DATA_FIELDS.get(event)
    if need is not None and len(data) < need:
        raise RowError(f"truncated {event} line: {len(data)} of {need} data fields")
    if len(callid) > 128 or len(queue) > 128 or len(agent) > 128 or len(event) > 64:
        raise RowError("queue_log field too long")
    return QueueLogLine(
        line_hash=line_hash(body),
        time=dt.datetime.fromtimestamp(int(epoch), tz=UTC),
        callid=callid.strip(),
        queue=queue if queue != "NONE" else "",
        agent=agent if agent != "NONE" else "",
        event=event,
        data=data,
    )


def queue_log_item(raw: bytes, lineno: int, start: int, *, encoding: str = "utf-8") -> QueueLogLine | Bad | None:
    """One line as `bounded_lines` gave it (line end included): the parsed line, a Bad with
    its reason, or None for a blank line."""
    body = clean_line(raw)
    if not body.strip():
        return None
    try:
        return parse_queue_log_line(body, encoding=encoding)
    except RowError as exc:
        return Bad(lineno, start, excerpt(raw), str(exc))


def read_queue_log(fh: BinaryIO, *, encoding: str = "utf-8") -> Iterator[QueueLogLine | Bad]:
    offset = 0
    lineno = 0
    for raw in bounded_lines(fh, padding=b"\x00"):
        if type(raw) is Padding:
            offset += raw.length
            continue
        lineno += 1
        start = offset
        if type(raw) is Overlong:
            offset += raw.length
            yield Bad(lineno, start, raw.excerpt, raw.reason)
            continue
        offset += len(raw)
        item = queue_log_item(raw, lineno, start, encoding=encoding)
        if item is not None:
            yield item


def _cdr_time(value: str, field: str, tz: dt.tzinfo) -> dt.datetime | None:
    value = value.strip()
    if not value:
        return None
    if len(value) != 19:
        raise RowError(f"bad CDR time in {field}: {value[:30]!r}")
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise RowError(f"bad CDR time in {field}: {value[:30]!r}") from None
    return moment.replace(tzinfo=tz)


def _int(value: str, field: str) -> int:
    value = value.strip()
    if not value:
        return 0
    if not re.fullmatch(CDR_INT_PATTERN, value):
        raise RowError(f"bad number in {field}: {value[:20]!r}")
    return int(value)


def cdr_row(row: Sequence[str], *, raw_hash: str, tz: dt.tzinfo) -> CdrRow | None:
    """One Master.csv row; None for a header row. The column count tells the layout:
    16 (no uniqueid: cannot be joined), 17 (+uniqueid), 18 (+userfield), 21 (+peeraccount,
    linkedid, sequence)."""
    n = len(row)
    if n and row[0].strip().lower() == "accountcode":
        return None
    if n == 16:
        raise RowError("CDR row without uniqueid (16 columns): enable loguniqueid in cdr.conf")
    if n not in CDR_COLUMN_COUNTS:
        raise RowError(f"unexpected CDR column count {n} (expected 17, 18 or 21)")
    uniqueid = row[16].strip()
    if not uniqueid:
        raise RowError("CDR row with an empty uniqueid")
    start = _cdr_time(row[9], "start", tz)
    end = _cdr_time(row[11], "end", tz)
    if start is None or end is None:
        raise RowError("CDR row without start or end time")
    if end < start:
        raise RowError("CDR end before start")
    return CdrRow(
        row_hash=raw_hash,
        uniqueid=uniqueid[:128],
        linkedid=row[19].strip()[:128] if n == 21 else "",
        src=row[1][:80],
        dst=row[2][:80],
        dcontext=row[3][:80],
        channel=row[5][:128],
        dstchannel=row[6][:128],
        lastapp=row[7][:80],
        start=start,
        answer=_cdr_time(row[10], "answer", tz),
        end=end,
        duration=_int(row[12], "duration"),
        billsec=_int(row[13], "billsec"),
        disposition=row[14][:32],
        columns=n,
    )


def cdr_item(
    raw: bytes, lineno: int, start: int, *, encoding: str = "utf-8", tz: dt.tzinfo = TOKYO
) -> CdrRow | Bad | None:
    """One Master.csv line as `bounded_lines` gave it: the row, a Bad with its reason, or None
    (a blank line or the header row)."""
    body = clean_line(raw)
    if not body.strip():
        return None
    try:
        text = body.decode(encoding)
    except UnicodeDecodeError as exc:
        return Bad(lineno, start, excerpt(raw), f"undecodable bytes ({encoding}) at byte {exc.start + 1}")
    try:
        rows = list(csv.reader([text], strict=True))
        if len(rows) != 1:
            raise RowError("truncated CDR row (unterminated quote)")
        return cdr_row(rows[0], raw_hash=line_hash(body), tz=tz)
    except csv.Error as exc:
        reason = "truncated CDR row (unterminated quote)" if "end of data" in str(exc) else f"malformed CDR row: {exc}"
        return Bad(lineno, start, excerpt(raw), reason)
    except RowError as exc:
        return Bad(lineno, start, excerpt(raw), str(exc))


def read_cdr(fh: BinaryIO, *, encoding: str = "utf-8", tz: dt.tzinfo = TOKYO) -> Iterator[CdrRow | Bad]:
    offset = 0
    for lineno, raw in enumerate(bounded_lines(fh), 1):
        start = offset
        if type(raw) is Overlong:
            offset += raw.length
            yield Bad(lineno, start, raw.excerpt, raw.reason)
            continue
        offset += len(raw)
        item = cdr_item(raw, lineno, start, encoding=encoding, tz=tz)
        if item is not None:
            yield item


def detect_kind(head: bytes) -> str:
    """'queue_log' or 'cdr', from the first bytes of a file."""
    for raw in head.split(b"\n"):
        body = clean_line(raw).strip()
        if not body:
            continue
        first = body.split(b"|", 1)[0]
        if b"|" in body and first.isdigit():
            return "queue_log"
        return "cdr"
    return "queue_log"


# --- building one call from its pieces ----------------------------------------------------


class Event(Protocol):
    time: dt.datetime
    event: str
    queue: str
    agent: str
    data: list


class Cdr(Protocol):
    uniqueid: str
    linkedid: str
    src: str
    dcontext: str
    channel: str
    start: dt.datetime
    end: dt.datetime


@dataclass(frozen=True, slots=True)
class Coverage:
    """The span of time the imported queue_log pieces cover. A call's absence from the log
    (an IVR abandon) is only a fact once the log covers the call's time."""

    start: dt.datetime | None
    end: dt.datetime | None

    def covers(self, start: dt.datetime, end: dt.datetime) -> bool:
        return self.start is not None and self.end is not None and self.start <= start and end <= self.end


class Pending:
    """Not decidable yet: a half is missing."""

    def __repr__(self) -> str:
        return "PENDING"


PENDING = Pending()


def is_internal_caller(cdr: Cdr, extension_digits: int = DEFAULT_EXTENSION_DIGITS) -> bool:
    if cdr.channel.startswith(LOCAL_CHANNEL_PREFIX):
        return True
    return _compiled(extension_pattern(extension_digits)).fullmatch(cdr.src.strip(FIELD_BLANKS)) is not None


def is_inbound(cdrs: Iterable[Cdr], patterns: Sequence[str], extension_digits: int = DEFAULT_EXTENSION_DIGITS) -> bool:
    """A CDR-only call counts when it came from outside (not an extension or a Local
    channel) and ended in an entry / IVR context."""
    cdrs = list(cdrs)
    if all(is_internal_caller(c, extension_digits) for c in cdrs):
        return False
    regexes = [_compiled(fnmatch_regex(p)) for p in patterns]
    return any(r.fullmatch(c.dcontext) for c in cdrs for r in regexes)


def _seconds(data: list, index: int) -> int:
    """A seconds field of an event, 0 when it is missing or not a whole number."""
    try:
        value = str(data[index]).strip(FIELD_BLANKS)
    except IndexError:
        return 0
    return int(value) if _compiled(SECONDS_PATTERN).fullmatch(value) else 0


def build_call(
    uniqueid: str,
    events: Sequence[Event],
    cdrs: Sequence[Cdr],
    *,
    coverage: Coverage,
    inbound_contexts: Sequence[str] = DEFAULT_INBOUND_CONTEXTS,
    extension_digits: int = DEFAULT_EXTENSION_DIGITS,
) -> CallRecord | Pending | None:
    """The Call for one caller uniqueid, PENDING while a half is missing, or None when the
    pieces are not an inbound call (internal call, secondary CDR leg, housekeeping)."""
    own = [c for c in cdrs if c.uniqueid == uniqueid]
    if not own:
        return PENDING if events else None
    cdr_start = min(c.start for c in own)
    cdr_end = max(c.end for c in own)
    # The caller: the earliest CDR that names one (ties: the order given, the staging order).
    caller = next((c.src for c in sorted(own, key=lambda c: c.start) if c.src), "")
    by_time = sorted(events, key=lambda e: e.time)
    enters = [e for e in by_time if e.event == "ENTERQUEUE"]

    if not enters:
        if any(c.linkedid and c.linkedid != c.uniqueid for c in own):
            return None  # a later leg of another call (Asterisk 12+: tied by linkedid)
        if not is_inbound(own, inbound_contexts, extension_digits):
            return None
        if not coverage.covers(cdr_start, cdr_end):
            return PENDING
        return CallRecord(
            call_id=uniqueid,
            arrived_at=cdr_start,
            outcome=IVR_OR_OUT_OF_HOURS,
            caller=caller[:64],
            ended_at=cdr_end,
            source="asterisk",
        )

    first = enters[0]
    queued_at = first.time
    arrived_at = min(cdr_start, queued_at)
    if not caller and len(first.data) > 1:
        caller = str(first.data[1])
    connects = [e for e in by_time if e.event == "CONNECT"]
    if connects:
        connect = connects[0]
        answered_at = connect.time
        if answered_at < queued_at:  # clock stepped back: trust the hold time instead
            answered_at = queued_at + dt.timedelta(seconds=_seconds(connect.data, 0))
        ends = [e for e in by_time if e.event in AGENT_LEG_ENDS]
        if ends:
            last = ends[-1]
            ended_at = last.time
            if ended_at < answered_at:
                calltime = _seconds(last.data, 3 if last.event in ("BLINDTRANSFER", "TRANSFER") else 1)
                held = _seconds(last.data, 2 if last.event in ("BLINDTRANSFER", "TRANSFER") else 0)
                ended_at = answered_at + dt.timedelta(seconds=max(calltime - held, 0))
        else:
            if not coverage.covers(cdr_start, cdr_end):
                return PENDING
            ended_at = max(cdr_end, answered_at)
        return CallRecord(
            call_id=uniqueid,
            arrived_at=arrived_at,
            outcome="answered",
            caller=caller[:64],
            queue=first.queue[:64],
            queued_at=queued_at,
            answered_at=answered_at,
            ended_at=ended_at,
            agent=connect.agent[:64],
            source="asterisk",
        )

    exits = [e for e in by_time if e.event in QUEUE_EXITS]
    if exits:
        last = exits[-1]
        outcome = QUEUE_EXITS[last.event]
        ended_at = max(last.time, queued_at)
    else:
        if not coverage.covers(cdr_start, cdr_end):
            return PENDING
        outcome = "queue_abandoned"  # left the queue without any exit line (crash, hang-up race)
        ended_at = max(cdr_end, queued_at)
    return CallRecord(
        call_id=uniqueid,
        arrived_at=arrived_at,
        outcome=outcome,
        caller=caller[:64],
        queue=first.queue[:64],
        queued_at=queued_at,
        ended_at=ended_at,
        source="asterisk",
    )
