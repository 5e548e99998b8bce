"""Decoding Japanese mail text that is often mislabelled or broken.

Everything here is pure: bytes (and a declared charset label) in, text and a "there was a
problem" flag out. Nothing is ever rejected for its encoding; the worst case is a
best-effort decode with U+FFFD where bytes could not be read, flagged for the agent.

ISO-2022-JP is decoded with a CP50220-compatible decoder of our own: the JIS X 0208 pairs
are mapped to Shift_JIS and decoded as CP932, so the NEC special characters (丸数字 ①,
Roman numerals, ㈱), the NEC-selected IBM extensions (はしご高 髙, たつざき 﨑) and half-width
katakana (ESC ( I, or SO/SI) survive, which Python's strict `iso2022_jp` rejects.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import quopri
import re

REPLACEMENT = "\ufffd"

_ISO2022JP_LABELS = {
    "iso-2022-jp",
    "iso2022jp",
    "iso2022_jp",
    "csiso2022jp",
    "iso-2022-jp-1",
    "iso-2022-jp-2",
    "iso-2022-jp-3",
    "iso-2022-jp-2004",
    "iso-2022-jp-ms",
    "iso-2022-jp-ext",
    "cp50220",
    "cp50221",
    "cp50222",
    "jis",
    "x-jis",
}
_SJIS_LABELS = {
    "shift_jis",
    "shift-jis",
    "sjis",
    "x-sjis",
    "s-jis",
    "ms_kanji",
    "csshiftjis",
    "cp932",
    "ms932",
    "windows-31j",
    "x-ms-cp932",
    "shift_jisx0213",
    "shift_jis-2004",
}
_EUC_LABELS = {
    "euc-jp",
    "eucjp",
    "x-euc-jp",
    "euc_jp",
    "cseucpkdfmtjapanese",
    "ujis",
    "x-euc",
    "cp51932",
    "euc-jis-2004",
}
# Labels that can decode any byte string, so a wrong one is only noticed by sniffing.
_SINGLE_BYTE_LATIN = {"us-ascii", "ascii", "iso-8859-1", "latin-1", "latin1", "windows-1252", "cp1252"}
_GARBAGE_LABELS = {"", "unknown-8bit", "x-unknown", "unknown", "8bit", "default", "none"}

_ESC = 0x1B
_SO = 0x0E
_SI = 0x0F


def _jis_pair_to_sjis(j1: int, j2: int) -> bytes:
    s1 = ((j1 + 1) >> 1) + (0x70 if j1 <= 0x5E else 0xB0)
    if j1 & 1:
        s2 = j2 + 0x1F
        if s2 >= 0x7F:
            s2 += 1
    else:
        s2 = j2 + 0x7E
    return bytes((s1, s2))


def decode_iso2022jp(data: bytes) -> tuple[str, bool]:
    """CP50220-compatible ISO-2022-JP decoder. Returns (text, problem)."""
    out: list[str] = []
    problem = False
    mode = "ascii"  # ascii | roman | jis0208 | kana | jis0212
    shifted = False  # SO ... SI: half-width katakana (CP50221/CP50222 style)
    i = 0
    n = len(data)
    while i < n:
        b = data[i]
        if b == _ESC:
            seq3 = data[i : i + 3]
            seq4 = data[i : i + 4]
            if seq3 in (b"\x1b(B",):
                mode = "ascii"
                i += 3
            elif seq3 == b"\x1b(J" or seq3 == b"\x1b(H":
                mode = "roman"
                i += 3
            elif seq3 == b"\x1b(I":
                mode = "kana"
                i += 3
            elif seq3 in (b"\x1b$B", b"\x1b$@"):
                mode = "jis0208"
                i += 3
            elif seq4 in (b"\x1b$(Q", b"\x1b$(O", b"\x1b$(B"):
                mode = "jis0208"  # JIS X 0213 plane 1 is a superset of 0208's layout
                i += 4
            elif seq4 == b"\x1b$(D":
                mode = "jis0212"
                i += 4
            elif data[i : i + 6] == b"\x1b&@\x1b$B":
                mode = "jis0208"
                i += 6
            else:
                # An escape we do not know: give up on our decoder for this run of text.
                raise UnicodeDecodeError("iso2022_jp", data, i, i + 1, "unknown escape sequence")
            continue
        if b == _SO:
            shifted = True
            i += 1
            continue
        if b == _SI:
            shifted = False
            i += 1
            continue
        if b in (0x0A, 0x0D):
            # Line ends reset to ASCII in well-formed mail; tolerate those that do not.
            out.append(chr(b))
            i += 1
            continue
        if shifted or mode == "kana":
            if 0x21 <= b <= 0x5F:
                out.append(bytes((b + 0x80,)).decode("cp932"))
            else:
                out.append(chr(b) if b < 0x80 else REPLACEMENT)
                problem = problem or b >= 0x80
            i += 1
            continue
        if mode in ("jis0208", "jis0212"):
            if i + 1 < n and 0x21 <= b <= 0x7E and 0x21 <= data[i + 1] <= 0x7E:
                pair = data[i : i + 2]
                if mode == "jis0212":
                    try:
                        out.append((b"\x1b$(D" + pair + b"\x1b(B").decode("iso2022_jp_2"))
                    except UnicodeDecodeError:
                        out.append(REPLACEMENT)
                        problem = True
                else:
                    try:
                        out.append(_jis_pair_to_sjis(pair[0], pair[1]).decode("cp932"))
                    except UnicodeDecodeError:
                        try:
                            out.append((b"\x1b$(Q" + pair + b"\x1b(B").decode("iso2022_jp_2004"))
                        except UnicodeDecodeError:
                            out.append(REPLACEMENT)
                            problem = True
                i += 2
                continue
            if b < 0x21 or b == 0x20:
                out.append(chr(b))
                i += 1
                continue
            out.append(REPLACEMENT)
            problem = True
            i += 1
            continue
        # ascii / roman
        if b < 0x80:
            if mode == "roman" and b == 0x5C:
                out.append("¥")
            elif mode == "roman" and b == 0x7E:
                out.append("‾")
            else:
                out.append(chr(b))
        else:
            # 8-bit bytes in a 7-bit charset: mislabelled (often Shift_JIS or UTF-8).
            raise UnicodeDecodeError("iso2022_jp", data, i, i + 1, "8-bit byte in ISO-2022-JP")
        i += 1
    return "".join(out), problem


def _japanese_score(text: str) -> int:
    score = 0
    for ch in text:
        o = ord(ch)
        if 0x3040 <= o <= 0x30FF or 0x4E00 <= o <= 0x9FFF or 0x3000 <= o <= 0x303F or 0xFF01 <= o <= 0xFF5E:
            score += 2
        elif 0xFF61 <= o <= 0xFF9F:
            score -= 1  # half-width kana: what Shift_JIS misread as EUC (and vice versa) looks like
        elif o == 0xFFFD or (0x80 <= o < 0xA0):
            score -= 3
    return score


def sniff_decode(data: bytes) -> tuple[str, str]:
    """Decode bytes of unknown charset. Returns (text, charset used)."""
    if b"\x1b$" in data or b"\x1b(" in data:
        try:
            text, _ = decode_iso2022jp(data)
            return text, "iso-2022-jp"
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    candidates = []
    for codec in ("cp932", "euc_jp", "euc_jis_2004"):
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            continue
        candidates.append((_japanese_score(text), codec, text))
    if candidates:
        candidates.sort(key=lambda c: c[0], reverse=True)
        return candidates[0][2], candidates[0][1]
    # Nothing decodes cleanly: the one that loses the fewest characters.
    best = min(
        (data.decode(codec, "replace") for codec in ("utf-8", "cp932", "euc_jp")),
        key=lambda t: t.count(REPLACEMENT),
    )
    return best, "unknown"


def decode_bytes(data: bytes, label: str | None) -> tuple[str, bool]:
    """Decode `data` declared as `label`. Returns (text, charset_problem)."""
    label = (label or "").strip().strip('"').lower()
    if not data:
        return "", False
    if label in _GARBAGE_LABELS:
        if data.isascii() and b"\x1b" not in data:
            return data.decode("ascii"), False
        text, _ = sniff_decode(data)
        return text, True
    if label in _ISO2022JP_LABELS:
        try:
            return decode_iso2022jp(data)
        except UnicodeDecodeError:
            try:
                return data.decode("iso2022_jp_2"), False
            except UnicodeDecodeError:
                text, _ = sniff_decode(data)
                return text, True
    if label in _SJIS_LABELS:
        for codec in ("cp932", "shift_jis_2004"):
            try:
                return data.decode(codec), False
            except UnicodeDecodeError:
                continue
        text, _ = sniff_decode(data)
        return text, True
    if label in _EUC_LABELS:
        for codec in ("euc_jp", "euc_jis_2004"):
            try:
                return data.decode(codec), False
            except UnicodeDecodeError:
                continue
        text, _ = sniff_decode(data)
        return text, True
    if label in _SINGLE_BYTE_LATIN:
        if data.isascii() and b"\x1b" not in data:
            return data.decode("ascii"), False
        # Japanese text under a Latin label is a mislabel; Latin text sniffs as itself only
        # when it is not valid UTF-8 / Japanese, so prefer a confident Japanese reading.
        text, used = sniff_decode(data)
        if used != "unknown" and (used == "utf-8" or _japanese_score(text) > 0):
            return text, True
        return data.decode("cp1252" if label in ("windows-1252", "cp1252") else "latin-1", "replace"), False
    if label in ("utf8", "utf-8", "x-utf8", "unicode-1-1-utf-8"):
        try:
            return data.decode("utf-8"), False
        except UnicodeDecodeError:
            text, used = sniff_decode(data)
            return text, True
    try:
        codecs.lookup(label)
    except LookupError:
        text, _ = sniff_decode(data)
        return text, True
    try:
        return data.decode(label), False
    except (UnicodeDecodeError, LookupError):
        text, _ = sniff_decode(data)
        return text, True


# --- RFC 2047 headers --------------------------------------------------------------------

_ENCODED_WORD = re.compile(rb"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")
_BETWEEN_WORDS = re.compile(rb"^[ \t\r\n]*$")


def _decode_word_payload(kind: bytes, payload: bytes) -> bytes:
    if kind in (b"b", b"B"):
        padded = payload + b"=" * (-len(payload) % 4)
        try:
            return base64.b64decode(padded)
        except (binascii.Error, ValueError):
            return base64.b64decode(re.sub(rb"[^A-Za-z0-9+/]", b"", payload) + b"==", validate=False)
    return quopri.decodestring(payload.replace(b"_", b" "), header=False)


# Every character that breaks a header line: the controls but tab (Unicode category Cc:
# U+0000–001F, U+007F–009F) and the line and paragraph separators — everything `str.splitlines`
# splits on, which the email package refuses in a header value, and NUL, which PostgreSQL
# refuses in text. The web form refuses them (helpdesk/mail/form.py); a decoded header has
# them replaced by a space (the raw message keeps the original bytes).
HEADER_BREAKS = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]+")


def header_safe(text: str) -> str:
    """`text` with each run of header-breaking characters (HEADER_BREAKS) made one space."""
    return HEADER_BREAKS.sub(" ", text)


def decode_header_value(value: str | bytes | None) -> tuple[str, bool]:
    """Decode a raw header value: RFC 2047 encoded words (adjacent words of one charset are
    joined as bytes before decoding, so a character split across two words survives),
    raw 8-bit or raw ISO-2022-JP text. Returns (text, problem)."""
    if value is None:
        return "", False
    if isinstance(value, bytes):
        raw = value
    else:
        try:
            raw = value.encode("ascii", "surrogateescape")
        except UnicodeEncodeError:
            # Already text (e.g. an RFC 2231 filename the parser decoded): only look for
            # encoded words in it.
            return _decode_words_in_text(value), False
    # Unfold.
    raw = re.sub(rb"\r?\n[ \t]", b" ", raw)
    pieces: list[tuple[str, bytes, str | None]] = []  # (kind, bytes, charset)
    pos = 0
    for m in _ENCODED_WORD.finditer(raw):
        literal = raw[pos : m.start()]
        if literal and not (pieces and pieces[-1][0] == "word" and _BETWEEN_WORDS.match(literal)):
            pieces.append(("text", literal, None))
        charset = m.group(1).decode("ascii", "replace").split("*", 1)[0].lower()
        payload = _decode_word_payload(m.group(2), m.group(3))
        if pieces and pieces[-1][0] == "word" and pieces[-1][2] == charset:
            pieces[-1] = ("word", pieces[-1][1] + payload, charset)
        else:
            pieces.append(("word", payload, charset))
        pos = m.end()
    if raw[pos:]:
        pieces.append(("text", raw[pos:], None))
    out: list[str] = []
    problem = False
    for kind, data, charset in pieces:
        if kind == "word":
            if charset in ("iso-2022-jp",) and b"\x1b" in data and not data.rstrip().endswith(b"\x1b(B"):
                data = data + b"\x1b(B"
            text, bad = decode_bytes(data, charset)
        elif data.isascii() and b"\x1b" not in data:
            text, bad = data.decode("ascii"), False
        else:
            # Raw 8-bit (or raw ISO-2022-JP) in a header: not allowed, but common.
            text, _ = sniff_decode(data)
            bad = True
        out.append(text)
        problem = problem or bad
    text = header_safe("".join(out))
    return text.strip(), problem


def _decode_words_in_text(text: str) -> str:
    def repl(m: re.Match) -> str:
        decoded, _ = decode_header_value(m.group(0).encode("ascii"))
        return decoded

    return re.sub(r"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=", repl, text).strip()
