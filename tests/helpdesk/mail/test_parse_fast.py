"""The parser's fast path (`simple_message`, and the address fields read by a regular
expression) gives what the stdlib parser gives: the same `Message` tree and the same
`ParsedMail`, and it steps aside for everything it does not read itself."""

import base64
import email
import email.utils
import re
from email import policy
from pathlib import Path

import pytest

from helpdesk.mail.parse import message as m
from helpdesk.mail.parse.sources import iter_mail_items
from tests.helpdesk.mail import builders as b

DATA = Path(__file__).resolve().parents[2] / "data" / "mail"

MP = b'Content-Type: multipart/mixed; boundary="b1"\n\n'
HEAD = b"From: =?UTF-8?B?5bGx55Sw?= <taro@example.jp>\nTo: support@e-gov-help.example.jp\nSubject: test\n"

# Messages the fast path reads itself.
SIMPLE = {
    "each charset": [b.message(charset=c) for c in ("iso-2022-jp", "shift_jis", "euc-jp", "utf-8")],
    "quoted-printable and 8bit": [
        b.message(cte="quoted-printable"),
        b.message(cte="8bit", charset="shift_jis"),
    ],
    "LF line ends": [HEAD + b"Message-ID: <a@b>\n\nbody\n"],
    "continuation lines": [
        b"Subject: =?UTF-8?B?44GC?=\n =?UTF-8?B?44GE?=\n\t more\nReferences: <a@b>\n <c@d>\nFrom: x@example.jp\n\nbody\n"
    ],
    "no space after the colon, trailing blanks": [b"Subject:tight  \r\nFrom:x@example.jp\r\nX-Empty:\r\n\r\nbody"],
    "duplicate fields (the first wins)": [
        HEAD
        + b"Received: from a by b; Thu, 01 Oct 2026 10:00:00 +0900\nReceived: from c by d; Thu, 01 Oct 2026 11:00:00 +0900\n\nx"
    ],
    "empty body": [HEAD + b"\n", HEAD + b"\r\n"],
    "8-bit body without a charset": [HEAD + b"\n" + "本文です".encode("cp932")],
    "single-part attachment (kept and over the cap)": [
        HEAD + b"Content-Type: application/pdf; name=a.pdf\nContent-Transfer-Encoding: base64\n\nJVBERi0xLjQK\n",
        HEAD
        + b'Content-Type: text/plain; charset=utf-8\nContent-Disposition: attachment; filename="n.txt"\n\naGVsbG8=\n',
    ],
    "html only": [HEAD + b"Content-Type: text/html; charset=utf-8\n\n<p>a<script>x</script></p>\n"],
    "automatic": [HEAD + b"Auto-Submitted: auto-replied\nPrecedence: auto_reply\n\nx"],
    "multipart with an attachment": [
        HEAD + MP + b"--b1\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n"
        b'5pys5paH\n--b1\nContent-Type: image/png\nContent-Disposition: attachment; filename="s.png"\n'
        b"Content-Transfer-Encoding: base64\n\niVBORw0KGgo=\n--b1--\n",
    ],
    "multipart, CRLF, preamble and epilogue": [
        (
            HEAD + MP + b"This is a preamble.\n\n--b1\nContent-Type: text/plain\n\none\n\n--b1 \t\n\ntwo\n--b1--  \n"
            b"\nepilogue\n"
        ).replace(b"\n", b"\r\n"),
        HEAD + MP + b"pre\n--b1\n\none\n--b1--",  # the closing boundary without a line end
        HEAD + MP + b"--b1\n\none\n--b1--\nafter\n--b1\nnot a part\n",
        HEAD + MP + b"--b1\n\n--b1x is not a boundary\n--b1--\n",
    ],
    "multipart/alternative with html": [
        HEAD + b'Content-Type: multipart/alternative; boundary="=_a b"\n\n--=_a b\nContent-Type: text/plain\n\n'
        b"text\n--=_a b\nContent-Type: text/html\n\n<b>html</b>\n--=_a b--\n"
    ],
}

# Messages the fast path leaves to the stdlib parser.
NOT_SIMPLE = {
    "nested multipart": [
        HEAD + MP + b'--b1\nContent-Type: multipart/alternative; boundary="b2"\n\n--b2\n\nx\n--b2--\n--b1--\n'
    ],
    "multipart without a boundary, or never closed": [
        HEAD + b"Content-Type: multipart/mixed\n\n--b1\n\nx\n",
        HEAD + MP + b"--b1\n\nx\n",
        HEAD + MP + b"no boundary at all\n",
        HEAD + MP + b"--b1--\n",
    ],
    "boundary lines in a row, a part without an empty line": [
        HEAD + MP + b"--b1\n--b1\n\nx\n--b1--\n",
        HEAD + MP + b"--b1\nbody at once\n--b1--\n",
    ],
    "a digest, a message part": [
        HEAD + b'Content-Type: multipart/digest; boundary="b1"\n\n--b1\n\nSubject: in\n\nx\n--b1--\n',
        HEAD + MP + b"--b1\nContent-Type: message/rfc822\n\nSubject: in\n\nx\n--b1--\n",
    ],
    "message/rfc822": [HEAD + b"Content-Type: message/rfc822\n\nSubject: inner\n\nbody\n"],
    "raw 8-bit header": [b"Subject: " + "件名".encode("cp932") + b"\nFrom: x@example.jp\n\nbody"],
    "bare CR in a header": [b"Subject: a\rb\nFrom: x@example.jp\n\nbody"],
    "a line that is not a header": [b"Subject: a\nnot a header\n\nbody"],
    "first line a continuation": [b" folded\nSubject: a\n\nbody"],
    "an envelope line": [b"From x@example.jp Thu Oct  1 10:00:00 2026\nSubject: a\n\nbody"],
    "no empty line after the headers": [b"Subject: a\nFrom: x@example.jp\n"],
    "an empty field name": [b": nameless\nSubject: a\n\nbody"],
}


def _corpus() -> list[bytes]:
    raws = [raw for group in (*SIMPLE.values(), *NOT_SIMPLE.values()) for raw in group]
    raws += [item.raw for item in iter_mail_items([DATA]) if not item.error]
    return raws


def _tree(msg) -> tuple:
    return (
        msg.get_unixfrom(),
        list(msg._headers),
        msg.get_payload() if not msg.is_multipart() else None,
        msg.as_bytes(policy=policy.compat32),
    )


@pytest.mark.parametrize("raw", [r for group in SIMPLE.values() for r in group])
def test_a_simple_message_gets_the_stdlib_parsers_tree(raw):
    fast = m.simple_message(raw)

    assert fast is not None
    assert _tree(fast) == _tree(email.message_from_bytes(raw, policy=policy.compat32))


@pytest.mark.parametrize("raw", [r for group in NOT_SIMPLE.values() for r in group])
def test_anything_else_is_left_to_the_stdlib_parser(raw):
    assert m.simple_message(raw) is None


def _outcome(raw: bytes, cap: int, fast: bool):
    try:
        return m.parse_message(raw, max_attachment_bytes=cap, fast=fast)
    except Exception as exc:  # a refusal must be the same refusal
        return type(exc), str(exc)


@pytest.mark.parametrize("cap", [10 * 1024 * 1024, 4])
def test_every_message_parses_the_same_both_ways(cap):
    corpus = _corpus()

    assert len(corpus) > 30
    for raw in corpus:
        assert _outcome(raw, cap, True) == _outcome(raw, cap, False), raw[:200]


def test_a_dropped_single_part_attachment_is_noted_in_the_stored_copy_both_ways():
    raw = SIMPLE["single-part attachment (kept and over the cap)"][0]

    parsed = m.parse_message(raw, max_attachment_bytes=4)

    assert parsed.attachments[0].truncated
    assert b"X-Helpdesk-Dropped: size=9" in parsed.stored_raw
    assert parsed.stored_raw == m.parse_message(raw, max_attachment_bytes=4, fast=False).stored_raw


ADDRESS_FIELDS = [
    "taro@example.jp",
    " Taro@Example.JP ",
    "<taro@example.jp>",
    "=?UTF-8?B?5bGx55Sw?= <taro@example.jp>",
    "=?ISO-2022-JP?B?GyRCOzNFRBsoQg==?=<taro@example.jp>",
    "Taro Yamada <taro.yamada@mail.example.jp>",
    "Taro  Yamada <t@example.jp>",  # two spaces: the stdlib's reading
    '"Yamada, Taro" <t@example.jp>',
    "t@example.jp (Taro)",
    "Taro <t@example>",
    "a..b@example.jp",
    ".a@example.jp",
    "Taro <t@example.jp> trailing",
    "Dr. Taro <t@example.jp>",
    "undisclosed-recipients:;",
    "",
    "x@y.jp, Hanako <h@example.jp>",
]


@pytest.mark.parametrize("value", ADDRESS_FIELDS)
def test_address_fields_read_as_the_stdlib_reads_them(value):
    assert m._parseaddr(value) == email.utils.parseaddr(value)
    assert m._getaddresses([value, "c@example.jp"]) == email.utils.getaddresses([value, "c@example.jp"])


def test_the_common_address_shapes_take_the_fast_path(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the stdlib address parser was called")

    monkeypatch.setattr(email.utils, "parseaddr", refuse)
    monkeypatch.setattr(email.utils, "getaddresses", refuse)

    assert m._parseaddr("=?UTF-8?B?5bGx55Sw?= <Taro@example.jp>") == ("=?UTF-8?B?5bGx55Sw?=", "Taro@example.jp")
    assert m._getaddresses(["a@example.jp, B <b@example.jp>"]) == [("", "a@example.jp"), ("B", "b@example.jp")]


@pytest.mark.parametrize(
    "text",
    [
        "aGVsbG8=\n",
        "aGVs\r\nbG8=\r\n",
        "aGVsbG8",
        "aGVsbG8h\nd",
        "aGV=sbG8=\n",
        "aGV sbG8\n",
        "a*GVsbG8\n",
        "",
        "===\n",
    ],
)
def test_lenient_base64_reads_as_the_character_filter_does(text):
    cleaned = re.sub(r"[^A-Za-z0-9+/]", "", text)
    cleaned = cleaned[:-1] if len(cleaned) % 4 == 1 else cleaned
    reference = base64.b64decode(cleaned + "=" * (-len(cleaned) % 4))

    assert m._lenient_base64(text) == reference
