"""The bulk path's parsing ahead of the writes (`services._ahead`, a thread, and
`services._ahead_process`, a forked child handing batches over pickled): in order, with the
producer's errors raised in their place."""

import os
import pickle

import pytest

from helpdesk.handover import services
from helpdesk.handover.registry import get_record_type


def test_items_come_back_in_order_from_another_process():
    def make():
        for n in range(5):
            yield (n, os.getpid())

    got = list(services._ahead_process(make))

    assert [n for n, _pid in got] == [0, 1, 2, 3, 4]
    assert {pid for _n, pid in got} != {os.getpid()}  # made in the child


@pytest.mark.parametrize("ahead", [services._ahead, services._ahead_process], ids=["thread", "process"])
def test_an_error_in_the_producer_is_raised_at_its_place(ahead):
    def make():
        yield 1
        yield 2
        raise ValueError("broken line source")

    got = []
    with pytest.raises(ValueError, match="broken line source"):
        for item in ahead(make):
            got.append(item)
    assert got == [1, 2]


def test_an_error_that_cannot_be_pickled_still_arrives_named():
    class Local(Exception):  # a local class: pickle cannot name it
        pass

    def make():
        yield 1
        raise Local("the child's own error")

    with pytest.raises(RuntimeError, match="Local: the child's own error"):
        list(services._ahead_process(make))


def test_a_consumer_that_stops_early_ends_the_child():
    pids = []

    def make():
        for n in range(10_000):
            yield (n, os.getpid())

    for n, pid in services._ahead_process(make):
        pids.append(pid)
        if n == 3:
            break
    with pytest.raises(ProcessLookupError):
        os.kill(pids[0], 0)  # gone (terminated and reaped)


def test_a_process_that_may_not_fork_parses_on_a_thread(monkeypatch):
    def no_fork():
        raise OSError("fork refused")

    monkeypatch.setattr(os, "fork", no_fork)

    def make():
        yield os.getpid()

    assert list(services._ahead_process(make)) == [os.getpid()]


def test_the_setting_turns_the_process_off(settings):
    settings.HELPDESK_HANDOVER_PARSE_PROCESS = False
    assert services.parse_in_process() is False
    settings.HELPDESK_HANDOVER_PARSE_PROCESS = True
    assert services.parse_in_process() is True  # Linux can fork


def test_a_record_type_crosses_by_name():
    call = get_record_type("call")
    assert pickle.loads(pickle.dumps(call)) is call
