"""Raw RFC 822 bytes → plain data (`ParsedMail`). Pure: no ORM, no settings.

The stdlib parser runs with the compat32 policy, which never raises on malformed input and
keeps header values raw; headers and bodies are then decoded by `charsets` so broken and
mislabelled Japanese mail is read best-effort and flagged instead of rejected."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import email
import email.utils
import hashlib
import html
import itertools
import re
from email import policy
from email.generator import BytesGenerator
from email.message import Message
from html.parser import HTMLParser
from io import BytesIO

import nh3

from helpdesk.clock import TOKYO
from helpdesk.mail.parse.charsets import decode_bytes, decode_header_value
from helpdesk.mail.parse.threads import parse_message_ids


class NotAMailMessage(ValueError):
    """The bytes are not a mail message at all (empty, or no header fields)."""


@dataclasses.dataclass
class ParsedAttachment:
    filename: str
    content_type: str
    size: int
    content: bytes | None
    truncated: bool


@dataclasses.dataclass
class ParsedMail:
    message_id: str
    message_id_generated: bool
    from_name: str
    from_address: str
    to_addresses: list[str]
    subject: str
    body_text: str
    body_html: str  # sanitized
    in_reply_to: str
    references: list[str]
    date: dt.datetime | None  # Date:
    received: dt.datetime | None  # top-most Received:
    is_auto: bool
    auto_reason: str
    charset_problem: bool
    attachments: list[ParsedAttachment]
    # The raw message to store when attachments were not kept: the same headers and text
    # parts, each dropped attachment replaced by a short text/plain note. None: store the
    # raw bytes as they came.
    stored_raw: bytes | None = None

    @property
    def dropped(self) -> list[ParsedAttachment]:
        """Attachments over the size limit: neither kept as attachments nor in the stored raw."""
        return [a for a in self.attachments if a.truncated]

    @property
    def received_at(self) -> dt.datetime | None:
        """Received time of an inbound message: top-most Received:, else Date:."""
        return self.received or self.date


# --- HTML: sanitized for display, text for agents ------------------------------------------

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "dd", "div", "dl", "dt", "em", "font",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "li", "ol", "p", "pre", "q", "s", "small", "span",
    "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
    "*": {"lang", "dir"},
}


def sanitize_html(raw_html: str) -> str:
    """Only harmless markup survives: no script, style, event handler, form, iframe or
    image (so no remote image ever loads from a page showing mail); links keep http(s)
    and mailto only and open with rel="noopener noreferrer nofollow"."""
    return nh3.clean(
        raw_html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
        clean_content_tags={"script", "style", "title", "head", "noscript", "template", "textarea", "xmp"},
        strip_comments=True,
    )


_BLOCK = {"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "table", "hr", "dd"}
_SKIP = {"script", "style", "head", "title", "noscript", "template"}


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in _SKIP:
            self.skip += 1
        elif tag in _BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in _SKIP:
            self.skip = max(0, self.skip - 1)
        elif tag in _BLOCK:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)


def html_to_text(raw_html: str) -> str:
    parser = _TextExtractor()
    try:
        parser.feed(raw_html)
        parser.close()
    except Exception:  # HTMLParser is lenient; this is a last resort
        return html.unescape(re.sub(r"<[^>]*>", " ", raw_html))
    text = "".join(parser.parts).replace("\xa0", " ")
    text = re.sub(r"[ \t]+\n", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


# --- dates --------------------------------------------------------------------------------


def parse_date(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    value = value.strip()
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=TOKYO)  # "-0000" or no zone: Tokyo time
    if not (1980 <= parsed.year <= 2100):
        return None
    return parsed


def _received_date(value: str) -> dt.datetime | None:
    if ";" not in value:
        return None
    return parse_date(value.rsplit(";", 1)[1])


# --- auto-generated mail -------------------------------------------------------------------

_BOUNCE_SENDERS = re.compile(r"^(mailer-daemon|postmaster|mail-daemon|mailerdaemon)@", re.I)
_AUTO_SUBJECT = re.compile(
    r"^(auto(matic)?[ -]?reply|out of (the )?office|自動応答|自動返信|不在|undeliverable|"
    r"delivery status notification|returned mail|mail delivery failed)",
    re.I,
)


def detect_auto(msg: Message, from_address: str, subject: str) -> str:
    """Why this message was machine-generated, or "" for a person's mail."""
    auto_submitted = (msg.get("Auto-Submitted") or "").strip().lower()
    if auto_submitted and auto_submitted != "no":
        return f"auto-submitted:{auto_submitted.split(';')[0]}"
    if msg.get("X-EG-Auto-Ack"):
        return "x-eg-auto-ack"
    if msg.get("X-Autoreply") or msg.get("X-Autorespond") or msg.get("X-Auto-Response-Suppress", "").lower() == "all":
        return "x-autoreply"
    if (msg.get("Precedence") or "").strip().lower() in ("auto_reply", "auto-reply"):
        return "precedence"
    if msg.get_content_type() == "multipart/report":
        return "delivery-report"
    if _BOUNCE_SENDERS.match(from_address or ""):
        return "bounce-sender"
    if _AUTO_SUBJECT.match(subject or ""):
        return "subject"
    return ""


# --- the message --------------------------------------------------------------------------


def generated_message_id(raw: bytes) -> str:
    """A stable id for a message without Message-ID: the same bytes (whatever the line
    endings, mbox or IMAP) always give the same id."""
    normalized = raw.replace(b"\r\n", b"\n")
    return f"<{hashlib.sha256(normalized).hexdigest()}@generated.invalid>"


def _header(msg: Message, name: str) -> tuple[str, bool]:
    for key, value in msg.raw_items():
        if key.lower() == name.lower():
            return decode_header_value(value)
    return "", False


def _raw_header(msg: Message, name: str) -> str | None:
    for key, value in msg.raw_items():
        if key.lower() == name.lower():
            return value
    return None


# The common shapes of an address field, read without the stdlib's address parser (a quarter
# of a message's parsing time): `addr@example.jp`, `<addr@example.jp>`, `Phrase <addr@…>`
# where the phrase is atoms (encoded words are atoms) separated by single spaces. Anything
# else goes to `email.utils`; `tests/helpdesk/mail/test_parse_fast.py` checks both readings
# agree.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_SIMPLE_ADDR = r"[A-Za-z0-9_%+-]+(?:\.[A-Za-z0-9_%+-]+)*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"
_SIMPLE_MAILBOX = re.compile(rf"[ \t]*(?:(?:({_ATOM}(?: {_ATOM})*)[ \t]*)?<({_SIMPLE_ADDR})>|({_SIMPLE_ADDR}))[ \t]*")


def _parseaddr(value: str) -> tuple[str, str]:
    """`email.utils.parseaddr` of an ASCII field, by a regular expression when it is simple."""
    m = _SIMPLE_MAILBOX.fullmatch(value)
    if m is None:
        return email.utils.parseaddr(value)
    return (m.group(1) or "", m.group(2)) if m.group(3) is None else ("", m.group(3))


def _getaddresses(values: list[str]) -> list[tuple[str, str]]:
    """`email.utils.getaddresses`, by a regular expression when every mailbox is simple."""
    found = []
    for value in values:
        for piece in value.split(","):
            m = _SIMPLE_MAILBOX.fullmatch(piece)
            if m is None:
                return email.utils.getaddresses(values)
            found.append((m.group(1) or "", m.group(2)) if m.group(3) is None else ("", m.group(3)))
    return found


def _address(msg: Message, name: str) -> tuple[str, str, bool]:
    raw = _raw_header(msg, name)
    if raw is None:
        return "", "", False
    unfolded = re.sub(r"\r?\n[ \t]", " ", raw)
    if unfolded.isascii():
        display, addr = _parseaddr(unfolded)
        if not addr and "@" not in unfolded:
            display, addr = unfolded, ""
        name_text, problem = decode_header_value(display)
        if not addr:
            # parseaddr gives up on some quoted names with encoded words: find the address.
            m = re.search(r"<([^<>@\s]+@[^<>\s]+)>", unfolded) or re.search(r"([^\s<>\"]+@[^\s<>\"]+)", unfolded)
            addr = m.group(1) if m else ""
    else:
        decoded, problem = decode_header_value(unfolded)
        display, addr = email.utils.parseaddr(decoded)
        name_text = display
    return name_text.strip().strip('"').strip(), addr.strip().lower(), problem


def _addresses(msg: Message, *names: str) -> list[str]:
    values = []
    for name in names:
        raw = _raw_header(msg, name)
        if raw:
            values.append(re.sub(r"\r?\n[ \t]", " ", raw))
    return [addr.lower() for _, addr in _getaddresses(values) if addr]


def _is_attachment(part: Message) -> bool:
    disposition = (part.get("Content-Disposition") or "").split(";")[0].strip().lower()
    if disposition == "attachment":
        return True
    if part.get_content_maintype() == "text" and part.get_content_subtype() in ("plain", "html"):
        return bool(part.get_filename()) and disposition != "inline"
    return True


_BASE64_LINES = re.compile(r"[A-Za-z0-9+/]*=*")


def _lenient_base64(text: str) -> bytes:
    cleaned = text.replace("\n", "").replace("\r", "")
    # The usual case, lines of base64 with the padding at the end, without the character filter
    # (a regular expression substitution over every character: most of a 24 KB attachment's cost).
    cleaned = cleaned.rstrip("=") if _BASE64_LINES.fullmatch(cleaned) else re.sub(r"[^A-Za-z0-9+/]", "", text)
    if len(cleaned) % 4 == 1:
        cleaned = cleaned[:-1]  # a truncated last quantum: the stray character is dropped
    return base64.b64decode(cleaned + "=" * (-len(cleaned) % 4))


def _charset_label(part: Message) -> str | None:
    """The part's declared charset as text. `get_content_charset` gives up (None) on an
    RFC 2231 value that is not ASCII once decoded; `get_param` then returns it as a
    (charset, language, value) tuple, which is collapsed here rather than passed on."""
    label = part.get_content_charset() or part.get_param("charset")
    if isinstance(label, tuple):
        label = email.utils.collapse_rfc2231_value(label)
    return label if isinstance(label, str) else None


def _payload_bytes(part: Message) -> bytes:
    if (part.get("Content-Transfer-Encoding") or "").strip().lower() == "base64" and not part.is_multipart():
        inner = part.get_payload()
        if isinstance(inner, str):
            return _lenient_base64(inner)
    payload = part.get_payload(decode=True)
    if payload is None:
        inner = part.get_payload()
        if isinstance(inner, list):  # message/rfc822 and friends
            return b"".join(p.as_bytes(policy=policy.compat32) for p in inner if isinstance(p, Message))
        if isinstance(inner, str):
            return inner.encode("ascii", "surrogateescape")
        return b""
    return payload


# --- the stdlib parser's tree of a simple message, built directly -------------------------

# A header block the feedparser reads line by line without any defect: printable ASCII field
# lines (`name:` with the feedparser's name characters) and continuation lines, each ended by
# LF or CRLF, then an empty line.
_HEADER_BLOCK = re.compile(r"(?:[\x21-\x39\x3b-\x7e]+:[\t\x20-\x7e]*\r?\n(?:[\t ][\t\x20-\x7e]*\r?\n)*)*")
_SEPARATOR = re.compile(r"\r?\n")


class _IndexedMessage(Message):
    """A `Message` whose `get` looks a field up in a dict built once (the stdlib compares every
    field's lowercased name each time: a message's parse asks ~20 times). The index is rebuilt
    whenever the field list is replaced (`del`), grows (`add_header`, `msg[name] = …`) or is
    replaced in place (`replace_header`) — the only ways `Message` changes its fields. Its
    values are ASCII (`simple_message`), which compat32 returns as they are."""

    _index: dict[str, str] | None = None
    _indexed: list | None = None
    _indexed_len = -1

    def get(self, name, failobj=None):  # type: ignore[override]
        headers = self._headers
        if self._index is None or self._indexed is not headers or self._indexed_len != len(headers):
            index: dict[str, str] = {}
            for key, value in headers:
                index.setdefault(key.lower(), value)
            self._index, self._indexed, self._indexed_len = index, headers, len(headers)
        return self._index.get(name.lower(), failobj)

    def replace_header(self, _name, _value):
        self._index = None
        super().replace_header(_name, _value)


def simple_message(raw: bytes) -> Message | None:
    """The `Message` that `email.message_from_bytes(raw, policy=compat32)` gives, built without
    the feedparser (which reads a message line by line, a generator step per line: most of the
    parse of a message with an attachment) for the common shapes: a well-formed ASCII header
    block, then a body that is not message/*, or is multipart/* with a boundary and parts of
    the same kind, not nested (the feedparser's rules for preamble, boundaries, the line end
    before each boundary and the epilogue are followed as they are). None when the message is
    anything else: the stdlib parser reads it. `tests/helpdesk/mail/test_parse_fast.py`
    checks the two trees and results are the same."""
    text = raw.decode("ascii", "surrogateescape")
    msg = _simple_part(text, top=True)
    return msg if msg is not None and msg.keys() else None


def _simple_part(text: str, *, top: bool) -> Message | None:
    m = _HEADER_BLOCK.match(text)
    end = m.end() if m is not None else 0
    sep = _SEPARATOR.match(text, end)
    if sep is None:  # no empty line after the headers (or a line the feedparser would defect on)
        return None
    headers: list[tuple[str, str]] = []
    for line in text[:end].splitlines(keepends=True):
        if line[0] in " \t":
            name, value = headers[-1]
            headers[-1] = (name, value + line)
        elif line.startswith("From "):  # an envelope line inside the headers
            return None
        else:
            name, value = line.split(":", 1)
            headers.append((name, value.lstrip(" \t")))
    msg = _IndexedMessage()
    msg._headers = [(name, value.rstrip("\r\n")) for name, value in headers]
    maintype = msg.get_content_maintype()
    body = text[sep.end() :]
    if maintype == "multipart" and top:
        return msg if _simple_multipart(msg, body) else None
    if maintype in ("multipart", "message"):
        return None
    msg.set_payload(body)
    return msg


def _drop_eol(text: str) -> str:
    """`text` without one line end at its end (the feedparser's NLCRE_eol)."""
    if text.endswith("\r\n"):
        return text[:-2]
    return text[:-1] if text.endswith(("\r", "\n")) else text


def _simple_multipart(msg: Message, body: str) -> bool:
    """Attach the parts of a multipart body to `msg` as the feedparser would; False when it
    is not of the simple kind (no boundary, no closing boundary, boundary lines in a row, a
    part that is not simple)."""
    boundary = msg.get_boundary()
    if not boundary or msg.get_content_subtype() == "digest":  # (a digest's parts default to message/rfc822)
        return False
    separator = "--" + boundary
    # The feedparser's `boundaryre`, on a line that starts at a position: the separator, "--"
    # for the closing one, blanks, the line end (CRLF, CR or LF) or the end of the text.
    boundary_line = re.compile(re.escape(separator) + r"(?P<end>--)?[ \t]*(?P<linesep>\r\n|\r|\n|\Z)").match
    found: list[re.Match] = []  # the boundary lines, in order, up to the closing one
    at = body.find(separator)
    while at >= 0:
        if at == 0 or body[at - 1] in "\r\n":
            line = boundary_line(body, at)
            if line is not None:
                found.append(line)
                if line.group("end"):
                    break
        at = body.find(separator, at + 1)
    if not found or not found[-1].group("end") or found[0].group("end"):
        return False
    if found[0].start():
        msg.preamble = _drop_eol(body[: found[0].start()])
    for here, following in itertools.pairwise(found):
        if following.start() == here.end():  # boundary lines in a row (the feedparser skips the empty part)
            return False
        part = _simple_part(body[here.end() : following.start()], top=False)
        if part is None:
            return False
        if isinstance(part._payload, str):
            part._payload = _drop_eol(part._payload)
        msg.attach(part)
    close = found[-1]
    msg.epilogue = body[close.end() :] if close.group("linesep") else ""
    return True


def parse_message(raw: bytes, *, max_attachment_bytes: int = 10 * 1024 * 1024, fast: bool = True) -> ParsedMail:
    """`fast=False`: always the stdlib parser (the reference `simple_message` is tested
    against)."""
    if not raw or not raw.strip():
        raise NotAMailMessage("empty message")
    msg = (simple_message(raw) if fast else None) or email.message_from_bytes(raw, policy=policy.compat32)
    if not msg.keys():
        raise NotAMailMessage("no header fields")
    problem = False

    raw_id = _raw_header(msg, "Message-ID") or ""
    ids = parse_message_ids(raw_id)
    if ids:
        message_id, generated = ids[0], False
    else:
        message_id, generated = generated_message_id(raw), True

    subject, p = _header(msg, "Subject")
    problem |= p
    from_name, from_address, p = _address(msg, "From")
    problem |= p
    in_reply_to_ids = parse_message_ids(_raw_header(msg, "In-Reply-To") or "")
    references = parse_message_ids(_raw_header(msg, "References") or "")

    received = None
    for key, value in msg.raw_items():
        if key.lower() == "received":
            received = _received_date(re.sub(r"\r?\n[ \t]", " ", value))
            break  # only the top-most one
    date = parse_date(_raw_header(msg, "Date"))

    texts: list[str] = []
    htmls: list[str] = []
    attachments: list[ParsedAttachment] = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        if _is_attachment(part):
            content = _payload_bytes(part)
            filename = part.get_filename() or ""
            if filename:
                filename, p = decode_header_value(filename)
            keep = len(content) <= max_attachment_bytes
            attachment = ParsedAttachment(
                filename=filename[:255],
                content_type=part.get_content_type()[:127],
                size=len(content),
                content=content if keep else None,
                truncated=not keep,
            )
            del content  # a dropped attachment's bytes go now, not at the next part
            attachments.append(attachment)
            if not keep:
                _replace_with_note(part, attachment)
            continue
        data = _payload_bytes(part)
        text, p = decode_bytes(data, _charset_label(part))
        if part.get_content_charset() is None and not data.isascii():
            p = True
        problem |= p
        if part.get_content_subtype() == "html":
            htmls.append(text)
        else:
            texts.append(text)

    body_html = sanitize_html("\n".join(htmls)) if htmls else ""
    if texts:
        body_text = "\n\n".join(t.replace("\r\n", "\n").strip("\n") for t in texts)
    elif htmls:
        body_text = html_to_text("\n".join(htmls))
    else:
        body_text = ""

    return ParsedMail(
        message_id=message_id[:512],
        message_id_generated=generated,
        from_name=from_name[:200],
        from_address=from_address[:320],
        to_addresses=_addresses(msg, "To", "Cc"),
        subject=subject[:998],
        body_text=body_text,
        body_html=body_html,
        in_reply_to=in_reply_to_ids[0][:512] if in_reply_to_ids else "",
        references=[r[:512] for r in references],
        date=date,
        received=received,
        is_auto=bool(auto := detect_auto(msg, from_address, subject)),
        auto_reason=auto,
        charset_problem=problem,
        attachments=attachments,
        stored_raw=_regenerate(msg, raw) if any(a.truncated for a in attachments) else None,
    )


# --- the stored copy of a message whose attachments were too big ----------------------------

DROPPED_NOTE = (
    "[添付ファイルは保存されていません / attachment not kept]\n"
    "ファイル名 / file: {filename}\n"
    "種類 / type: {content_type}\n"
    "サイズ / size: {size} bytes\n"
    "上限 HELPDESK_ATTACHMENT_MAX_BYTES を超えたため、元のメールから取り除きました。\n"
    "It was over the size limit and was removed from the stored copy of this message.\n"
)


def _replace_with_note(part: Message, attachment: ParsedAttachment) -> None:
    """Turn an attachment part into a short UTF-8 text/plain note naming what was there, in
    place: the original payload (possibly tens of MB) is released with it."""
    had_mime_version = "MIME-Version" in part  # the top-level part of a one-part message
    for name in ("Content-Type", "Content-Transfer-Encoding", "Content-Disposition"):
        del part[name]
    note = DROPPED_NOTE.format(
        filename=attachment.filename or "(no name)", content_type=attachment.content_type, size=attachment.size
    )
    part.set_payload(note, charset="utf-8")
    if not had_mime_version:
        del part["MIME-Version"]  # set_payload adds one; a body part has none
    # An attachment itself (not inline text): read again, the stored copy must give the
    # same body text, so the note must not join it.
    name = f"{attachment.filename or 'attachment'}.removed.txt"
    part.add_header("Content-Disposition", "attachment", filename=("utf-8", "", name) if not name.isascii() else name)
    part["X-Helpdesk-Dropped"] = f"size={attachment.size}"


def _regenerate(msg: Message, raw: bytes) -> bytes:
    """The message tree back to bytes: headers as they were (raw, not re-folded), the line
    ending of the original."""
    head = raw[: raw.find(b"\n") + 1]
    linesep = "\r\n" if head.endswith(b"\r\n") else "\n"
    out = BytesIO()
    BytesGenerator(out, mangle_from_=False, policy=policy.compat32.clone(linesep=linesep, max_line_length=0)).flatten(
        msg
    )
    return out.getvalue()
