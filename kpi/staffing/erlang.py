"""Queue models for one half-hour, pure Python + NumPy (no ORM): Erlang A (M/M/n+M — Poisson
arrivals, exponential handle times, n agents, callers who abandon after an exponential
patience) as the planning model, and Erlang C (M/M/n, nobody abandons) beside it.

Both are computed exactly from the stationary distribution of the birth–death chain on
"callers in the system" k = 0, 1, 2, …: births at rate λ, deaths at min(k, n)·μ + max(k − n, 0)·θ
(μ = 1/AHT, θ = 1/mean patience). The unnormalised log-probabilities are sums of logs of
λ / death rate, normalised with log-sum-exp, so 200 agents at 190 erlangs neither overflow
nor underflow. The chain is infinite; for Erlang A its tail past
j* = (λ − nμ)/θ behaves like a Poisson tail with variance λ/θ, so it is cut 12 standard
deviations further (the mass left out is below 1e-30). Erlang C's queue tail is geometric and
summed in closed form.

Quantities (PASTA: an arrival sees the stationary distribution):
- p_wait = P(k ≥ n): all agents busy when the caller reaches the queue;
- mean_queue_wait_seconds = E[Q] / λ (Little's law, over *all* arrivals, answered or not);
- Erlang A: P(abandon) = θ·E[Q] / λ (abandons per second ÷ arrivals per second),
  answer_rate = 1 − P(abandon);
- occupancy = E[busy agents] / n = λ·(1 − P(abandon)) / (n μ).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from functools import lru_cache

import numpy as np

SLOT_SECONDS = 1800
MAX_AGENTS = 100_000
MAX_STATES = 2_000_000  # ≈ 16 MB of float64: beyond any call center, not beyond memory


@dataclass(frozen=True)
class QueueResult:
    model: str  # "erlang_a" | "erlang_c"
    agents: int
    offered_load_erlangs: float
    answer_rate: float
    p_wait: float
    mean_queue_wait_seconds: float | None  # None: Erlang C with load ≥ agents (the queue grows without bound)
    occupancy: float
    p_abandon: float
    stable: bool

    def as_dict(self) -> dict:
        return asdict(self)


def _validate(arrivals_per_second: float, aht_seconds: float, agents: int) -> None:
    if not (arrivals_per_second >= 0 and math.isfinite(arrivals_per_second)):
        raise ValueError("arrivals must be a finite number ≥ 0")
    if not (aht_seconds > 0 and math.isfinite(aht_seconds)):
        raise ValueError("aht_seconds must be a finite number > 0")
    if agents < 0 or agents > MAX_AGENTS:
        raise ValueError(f"agents must be between 0 and {MAX_AGENTS}")


def _empty(model: str, agents: int) -> QueueResult:
    return QueueResult(model, agents, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, True)


def _log_busy_terms(lam: float, mu: float, n: int) -> np.ndarray:
    """log π_k (unnormalised, π_0 = 1) for k = 0..n: the Erlang B part, a^k / k!."""
    if n == 0:
        return np.zeros(1)
    return np.concatenate(([0.0], np.cumsum(np.log(lam / (mu * np.arange(1, n + 1))))))


def erlang_a(*, arrivals_per_second: float, aht_seconds: float, patience_seconds: float, agents: int) -> QueueResult:
    """M/M/n+M exactly, from the birth–death chain in log space."""
    _validate(arrivals_per_second, aht_seconds, agents)
    if not (patience_seconds > 0 and math.isfinite(patience_seconds)):
        raise ValueError("patience_seconds must be a finite number > 0")
    lam, mu, theta, n = arrivals_per_second, 1.0 / aht_seconds, 1.0 / patience_seconds, int(agents)
    if lam == 0:
        return _empty("erlang_a", n)
    busy = _log_busy_terms(lam, mu, n)
    j_peak = max(0.0, (lam - n * mu) / theta)
    j_max = int(j_peak + 12.0 * math.sqrt(lam / theta) + 30)
    if lam < n * mu:
        # Every queue term is at most ρ = λ/(nμ) times the one before: past J the geometric
        # tail (and its first moment) is below e^-70 of π_n whatever the patience.
        rho = lam / (n * mu)
        j_geo = int(1.5 * (70 - math.log1p(-rho)) / -math.log(rho)) + 50
        j_max = min(j_max, j_geo)
    if n + j_max > MAX_STATES:
        raise ValueError("arrivals × patience too large for the model (more than 2 million callers waiting)")
    j = np.arange(1, j_max + 1)
    queue = busy[-1] + np.cumsum(np.log(lam / (n * mu + j * theta)))
    log_all = np.concatenate((busy, queue))
    top = log_all.max()
    w = np.exp(log_all - top)
    total = w.sum()
    p_wait = float(w[n:].sum() / total)
    mean_q = float((w[n + 1 :] * j).sum() / total)
    p_abandon = min(1.0, theta * mean_q / lam)
    occupancy = (lam * (1.0 - p_abandon) / (n * mu)) if n else 0.0
    return QueueResult(
        model="erlang_a",
        agents=n,
        offered_load_erlangs=lam / mu,
        answer_rate=1.0 - p_abandon,
        p_wait=p_wait,
        mean_queue_wait_seconds=mean_q / lam,
        occupancy=min(1.0, occupancy),
        p_abandon=p_abandon,
        stable=True,  # abandonment keeps every M/M/n+M queue finite
    )


def erlang_c(*, arrivals_per_second: float, aht_seconds: float, agents: int) -> QueueResult:
    """M/M/n exactly: the Erlang B terms of the chain plus its geometric queue tail, summed in
    closed form (Σ ρ^j = ρ / (1 − ρ), ρ = a / n). With a ≥ n the queue grows without bound:
    everybody waits, the wait is unbounded (None) and agents are always busy; the answer
    rate reported is the share the agents can serve at all, n / a."""
    _validate(arrivals_per_second, aht_seconds, agents)
    lam, mu, n = arrivals_per_second, 1.0 / aht_seconds, int(agents)
    if lam == 0:
        return _empty("erlang_c", n)
    a = lam / mu
    if n == 0 or a >= n:
        return QueueResult("erlang_c", n, a, min(1.0, n / a), 1.0, None, 1.0 if n else 0.0, 0.0, False)
    busy = _log_busy_terms(lam, mu, n)
    rho = a / n
    # log of the queue's total mass Σ_{j≥1} π_n ρ^j = π_n ρ / (1 − ρ)
    log_queue = busy[-1] + math.log(rho) - math.log1p(-rho)
    top = max(busy.max(), log_queue)
    below = np.exp(busy[:-1] - top).sum()  # k < n
    at_n = math.exp(busy[-1] - top)
    queue = math.exp(log_queue - top)
    total = below + at_n + queue
    p_wait = (at_n + queue) / total
    # E[Q] = Σ j π_n ρ^j = π_n ρ / (1 − ρ)²
    mean_q = math.exp(busy[-1] - top) * rho / (1 - rho) ** 2 / total
    return QueueResult("erlang_c", n, a, 1.0, float(p_wait), float(mean_q / lam), rho, 0.0, True)


def queue_model(
    *, arrivals_per_second: float, aht_seconds: float, agents: int, patience_seconds: float | None = None
) -> QueueResult:
    """Erlang A with a patience, Erlang C without."""
    if patience_seconds is None:
        return erlang_c(arrivals_per_second=arrivals_per_second, aht_seconds=aht_seconds, agents=agents)
    return erlang_a(
        arrivals_per_second=arrivals_per_second,
        aht_seconds=aht_seconds,
        patience_seconds=patience_seconds,
        agents=agents,
    )


def answer_rate(*, arrivals: float, aht_seconds: float, patience_seconds: float, agents: int) -> float:
    """Erlang A answer rate of one half-hour given its expected arrivals."""
    return _answer_rate(float(arrivals), float(aht_seconds), float(patience_seconds), int(agents))


@lru_cache(maxsize=65536)
def _answer_rate(arrivals: float, aht_seconds: float, patience_seconds: float, agents: int) -> float:
    # A plan asks the same half-hour about the needed, rostered and what-if agents, which are
    # often the same number: the cache makes the repeats free.
    return erlang_a(
        arrivals_per_second=arrivals / SLOT_SECONDS,
        aht_seconds=aht_seconds,
        patience_seconds=patience_seconds,
        agents=agents,
    ).answer_rate


def agents_needed(
    *, arrivals: float, aht_seconds: float, patience_seconds: float, target: float, minimum: int = 0
) -> int:
    """Fewest agents whose Erlang A answer rate for one half-hour is ≥ target. The answer
    rate grows with n, so a binary search: n ≥ target·a is necessary (answered work can't
    exceed what n agents do), and a + 10√a + 10 agents leave essentially nobody waiting."""
    if not 0 <= target < 1:
        raise ValueError("target must be in [0, 1)")
    if arrivals <= 0:
        return minimum

    def ok(n: int) -> bool:
        return answer_rate(arrivals=arrivals, aht_seconds=aht_seconds, patience_seconds=patience_seconds, agents=n) >= (
            target
        )

    a = arrivals / SLOT_SECONDS * aht_seconds
    lo = max(minimum, int(target * a))  # lo may or may not be enough
    if ok(lo):
        return lo
    # The answer is usually a few agents above target·a: walk up a little before bisecting.
    for _ in range(4):
        lo += 1
        if ok(lo):
            return lo
    hi = max(lo + 1, int(a + 10 * math.sqrt(a) + 10))
    while not ok(hi):
        hi *= 2
    while hi - lo > 1:  # invariant: not ok(lo), ok(hi)
        mid = (lo + hi) // 2
        if ok(mid):
            hi = mid
        else:
            lo = mid
    return hi
