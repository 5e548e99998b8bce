"""The parsing workers of the bulk path (`helpdesk.mail.parse.pool`)."""

import multiprocessing.util
import os
from pathlib import Path

from helpdesk.mail.parse.message import ParsedMail, parse_message
from helpdesk.mail.parse.pool import parse_items
from helpdesk.mail.parse.sources import MailItem
from tests.helpdesk.mail.builders import message


class _Hooked:
    """Something of the importer's that registered an after-fork hook (as kombu's connection
    pools do, whose hook blocks for ever on a broker connection left waiting on a BRPOP)."""

    def __init__(self, marks: Path) -> None:
        self.marks = marks
        self.parent = os.getpid()


def _mark_child(hooked: _Hooked) -> None:
    if os.getpid() != hooked.parent:
        (hooked.marks / str(os.getpid())).touch()


def test_the_importers_after_fork_hooks_never_run_in_a_parsing_worker(tmp_path):
    hooked = _Hooked(tmp_path)
    multiprocessing.util.register_after_fork(hooked, _mark_child)
    raws = [message(subject=f"質問 {n}", message_id=f"<pool{n}@example.jp>") for n in range(130)]
    items = [MailItem(source_name="box", raw=raw) for raw in raws]

    parsed = list(parse_items(items, max_attachment_bytes=1024, workers=2))

    assert [item for item, _ in parsed] == items  # in the source's order
    assert all(isinstance(result, ParsedMail) for _, result in parsed)
    assert [result.subject for _, result in parsed] == [parse_message(raw).subject for raw in raws]
    assert list(tmp_path.iterdir()) == []  # no worker ran the hook
