"""A discrete-event simulation of a call-center queue on simpy's event loop, independent of
the Erlang formulas it checks: callers arrive at given times, wait FIFO for a free agent,
give up when their own patience runs out, and hold the agent for their own handle time.
The number of agents may change every half-hour; an agent who leaves finishes the current
call first. Events are plain callbacks (no process per caller) so 20 000 callers take a
fraction of a second."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import simpy


@dataclass
class Outcome:
    arrival: float
    answered_at: float | None  # None: the caller gave up
    left_at: float  # end of the call, or the moment the caller gave up


def simulate(
    arrivals: Sequence[float],
    handle: Sequence[float],
    patience: Sequence[float],
    agents_at: Callable[[float], int],
    *,
    change_every: float = 1800.0,
) -> list[Outcome]:
    env = simpy.Environment()
    n_calls = len(arrivals)
    answered: list[float | None] = [None] * n_calls
    left: list[float | None] = [None] * n_calls
    waiting: deque[int] = deque()
    st = {"free": 0, "busy": 0, "debt": 0}

    def at(delay: float, fn) -> None:
        ev = env.timeout(delay)
        ev.callbacks.append(lambda _ev: fn())

    def serve(i: int) -> None:
        st["free"] -= 1
        st["busy"] += 1
        answered[i] = env.now
        at(handle[i], lambda: done(i))

    def next_waiting() -> int | None:
        while waiting:
            i = waiting.popleft()
            if left[i] is None:  # not yet given up
                return i
        return None

    def done(i: int) -> None:
        left[i] = env.now
        st["busy"] -= 1
        if st["debt"]:
            st["debt"] -= 1
            return
        st["free"] += 1
        j = next_waiting()
        if j is not None:
            serve(j)

    def give_up(i: int) -> None:
        if answered[i] is None:
            left[i] = env.now

    def arrive(i: int) -> None:
        if st["free"] > 0 and not waiting:
            serve(i)
        else:
            waiting.append(i)
            at(patience[i], lambda: give_up(i))

    def staff() -> None:
        target = agents_at(env.now)
        effective = st["free"] + st["busy"] - st["debt"]
        if target > effective:
            add = target - effective
            cancel = min(add, st["debt"])
            st["debt"] -= cancel
            st["free"] += add - cancel
            while st["free"] > 0:
                j = next_waiting()
                if j is None:
                    break
                serve(j)
        elif target < effective:
            remove = effective - target
            idle = min(remove, st["free"])
            st["free"] -= idle
            st["debt"] += remove - idle
        if env.now <= horizon:
            at(change_every, staff)

    horizon = (max(arrivals) if n_calls else 0.0) + change_every
    staff()
    for i, t in enumerate(arrivals):
        at(t, lambda i=i: arrive(i))
    env.run()
    return [Outcome(arrivals[i], answered[i], left[i]) for i in range(n_calls)]


def answer_rate(outcomes: list[Outcome], *, after: float = 0.0) -> float:
    considered = [o for o in outcomes if o.arrival >= after]
    return sum(o.answered_at is not None for o in considered) / len(considered)
