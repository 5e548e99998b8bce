"""Reading a file line by line without ever holding a line no PBX or mail system writes.

`for raw in fh` reads a whole line whatever its length: one 50 MB line (a broken export, a
hostile upload) costs hundreds of MB. `bounded_lines` reads at most `limit` bytes of a line;
a longer one comes out as an `Overlong` excerpt (the rest is skipped, never kept), so the
adapter can reject it with its line number and carry on.
"""

from collections.abc import Iterator
from typing import IO, NamedTuple, final, overload

MAX_LINE_BYTES = 64 * 1024
REJECT_EXCERPT_BYTES = 4096  # what a reject keeps of a line


@final  # (the readers test `type(raw) is Overlong` in their hot loop; final lets mypy narrow it)
class Overlong(NamedTuple):
    excerpt: bytes
    length: int
    limit: int

    @property
    def reason(self) -> str:
        return f"line longer than {self.limit} bytes ({self.length} bytes)"


@final
class Padding(NamedTuple):
    """A run of padding bytes before a line (logrotate's copytruncate leaves as many NULs as
    the file had bytes): skipped, whatever its length, and never part of the line."""

    length: int


@overload
def bounded_lines(fh: IO[bytes], limit: int = ..., *, padding: None = None) -> Iterator[bytes | Overlong]: ...
@overload
def bounded_lines(fh: IO[bytes], limit: int = ..., *, padding: bytes) -> Iterator[bytes | Overlong | Padding]: ...
def bounded_lines(
    fh: IO[bytes], limit: int = MAX_LINE_BYTES, *, padding: bytes | None = None
) -> Iterator[bytes | Overlong | Padding]:
    """Every line of `fh` (with its line end), or an `Overlong` for a line over `limit` bytes.
    With `padding` (one byte), a run of it before a line comes out first as a `Padding`.
    Each item's length in the file: `len(item)` for a line, `.length` otherwise."""
    readline = fh.readline
    while raw := readline(limit + 1):
        if padding is not None and raw.startswith(padding):
            skipped = 0
            while raw and not (line := raw.lstrip(padding)):
                skipped += len(raw)
                raw = readline(limit + 1)
            if not raw:
                yield Padding(skipped)
                return
            yield Padding(skipped + len(raw) - len(line))
            raw = line if line.endswith(b"\n") else line + readline(limit + 1 - len(line))
        if len(raw) <= limit or raw.endswith(b"\n"):
            yield raw
            continue
        length = len(raw)
        while (rest := readline(limit)) and not rest.endswith(b"\n"):
            length += len(rest)
        yield Overlong(raw[:REJECT_EXCERPT_BYTES], length + len(rest), limit)


def excerpt(raw: bytes) -> bytes:
    return raw[:REJECT_EXCERPT_BYTES]
