"""The mbox splitter (`iter_mbox`, `bytes.find` over blocks of the file) gives exactly the
messages of the line-by-line reader (`_mbox_lines`): the same bytes, first line, offset and
reject, whatever falls on a block's edge, with CRLF line ends, escaped `>From ` lines, From
lines that do not follow a blank line, and messages large enough to go through the line
reader in the middle of the file."""

import random
from pathlib import Path

import pytest

from helpdesk.mail.parse import sources
from helpdesk.mail.parse.sources import MailItem, _mbox_lines, _MboxState, iter_mbox

DATA = Path(__file__).resolve().parents[2] / "data" / "mail"


def reference(path: Path) -> list[MailItem]:
    with path.open("rb") as fh:
        return list(_mbox_lines(fh, str(path), _MboxState()))


@pytest.fixture
def small_limits(monkeypatch):
    """A line limit of 200 bytes and blocks of 97: every edge case within a few lines."""
    monkeypatch.setattr(sources, "MAX_LINE_BYTES", 200)
    monkeypatch.setattr(sources, "_BLOCK", 97)


CASES = {
    "two messages": b"From a\nSubject: 1\n\nbody\n\nFrom b\nSubject: 2\n\nbody 2\n",
    "crlf": b"From a\r\nSubject: 1\r\n\r\nbody\r\n\r\nFrom b\r\nSubject: 2\r\n\r\nx\r\n",
    "escaped From lines": b"From a\n\n>From here\n>>From there\n> From not\n\nFrom b\n\n>From x",
    "From not after a blank line": b"From a\nSubject: 1\n\nline\nFrom inside\n\nFrom b\n\nend\n",
    "From right after the From_ line": b"From a\nFrom b\n\nFrom c\n\n",
    "a large message between small ones": b"From a\n\nsmall\n\nFrom b\n\n"
    + b"x" * 150
    + b"\n"
    + b"y" * 150
    + b"\n\nFrom c\n\nsmall\n",  # fmt: skip
    "a line too long": b"From a\n\nsmall\n\nFrom b\n\n" + b"z" * 500 + b"\n\nFrom c\n\nsmall\n",
    "a From_ line too long": b"From a\n\nsmall\n\nFrom " + b"b" * 300 + b"\n\nFrom c\n\nsmall\n",
    "a From_ line without a line end": b"From a\n\nsmall\n\nFrom b",
    "no line end at the end": b"From a\n\nsmall\n\nFrom b\n\nlast",
    "an overlong first line": b"From " + b"a" * 300 + b"\nSubject: x\n\nFrom b\n\nbody\n",
    "an empty last message": b"From a\n\nbody\n\nFrom b\n",
}


@pytest.mark.parametrize("content", CASES.values(), ids=CASES.keys())
def test_the_split_is_the_line_readers(content, small_limits, tmp_path):
    path = tmp_path / "box.mbox"
    path.write_bytes(content)
    assert iter_mbox(path) and list(iter_mbox(path)) == reference(path)


def test_random_mailboxes(small_limits, tmp_path):
    pieces = [
        b"From a\n", b"From b\r\n", b"\n", b"\r\n", b">From x\n", b">>From y\n", b"text\n",
        b"x" * 150 + b"\n", b"y" * 300 + b"\n", b"Subject: s\n", b"From ", b"zz", b"\r", b"F",
    ]  # fmt: skip
    rng = random.Random(17)
    path = tmp_path / "box.mbox"
    for _ in range(3000):
        content = b"From start\n" + b"".join(rng.choice(pieces) for _ in range(rng.randrange(40)))
        path.write_bytes(content)
        assert list(iter_mbox(path)) == reference(path), content


def test_the_data_mailboxes(tmp_path):
    boxes = [p for p in DATA.rglob("*") if p.is_file() and p.read_bytes()[:5] == b"From "]
    assert boxes
    for path in boxes:
        assert list(iter_mbox(path)) == reference(path), path
