"""The queue model against independent references: Erlang C's textbook closed form, Erlang B
in the no-patience limit, the chain's generator solved by linear algebra, and a
discrete-event simulation (simpy) over a grid of load, agents and patience."""

import math

import numpy as np
import pytest

from kpi.staffing.erlang import agents_needed, answer_rate, erlang_a, erlang_c, queue_model
from tests.kpi.staffing import sim


def erlang_b(n: int, a: float) -> float:
    b = 1.0
    for k in range(1, n + 1):
        b = a * b / (k + a * b)
    return b


def erlang_c_closed_form(n: int, a: float) -> float:
    """C(n, a) = a^n/n! · n/(n−a) ÷ (Σ_{k<n} a^k/k! + a^n/n! · n/(n−a)), via Erlang B."""
    b = erlang_b(n, a)
    return n * b / (n - a * (1 - b))


@pytest.mark.parametrize(
    ("per_hour", "aht", "n"), [(100, 300, 9), (100, 300, 10), (30, 600, 6), (1000, 180, 55), (5000, 300, 430)]
)
def test_erlang_c_equals_closed_form(per_hour, aht, n):
    lam, a = per_hour / 3600, per_hour / 3600 * aht
    r = erlang_c(arrivals_per_second=lam, aht_seconds=aht, agents=n)
    c = erlang_c_closed_form(n, a)
    assert r.p_wait == pytest.approx(c, rel=1e-9)
    assert r.mean_queue_wait_seconds == pytest.approx(c / (n / aht - lam), rel=1e-9)
    assert r.occupancy == pytest.approx(a / n)
    assert r.answer_rate == 1.0


def test_erlang_c_overloaded_reports_unbounded_wait():
    r = erlang_c(arrivals_per_second=100 / 3600, aht_seconds=300, agents=8)  # 8.33 erlangs on 8 agents
    assert (r.stable, r.p_wait, r.mean_queue_wait_seconds) == (False, 1.0, None)
    assert r.answer_rate == pytest.approx(8 / (100 / 12))


def test_erlang_a_limits_are_erlang_c_and_erlang_b():
    lam, aht, n = 100 / 3600, 300, 10
    patient = erlang_a(arrivals_per_second=lam, aht_seconds=aht, patience_seconds=1e12, agents=n)
    c = erlang_c(arrivals_per_second=lam, aht_seconds=aht, agents=n)
    assert patient.p_wait == pytest.approx(c.p_wait, rel=1e-8)
    assert patient.mean_queue_wait_seconds == pytest.approx(c.mean_queue_wait_seconds, rel=1e-8)
    impatient = erlang_a(arrivals_per_second=lam, aht_seconds=aht, patience_seconds=1e-6, agents=n)
    assert impatient.answer_rate == pytest.approx(1 - erlang_b(n, lam * aht), rel=1e-6)


@pytest.mark.parametrize(
    ("per_hour", "aht", "patience", "n"), [(80, 360, 90, 6), (300, 240, 600, 15), (50, 300, 30, 1)]
)
def test_erlang_a_matches_the_chain_solved_by_linear_algebra(per_hour, aht, patience, n):
    lam, mu, theta, size = per_hour / 3600, 1 / aht, 1 / patience, 250
    q = np.zeros((size, size))
    for k in range(size):
        if k + 1 < size:
            q[k, k + 1] = lam
        if k:
            q[k, k - 1] = min(k, n) * mu + max(k - n, 0) * theta
        q[k, k] = -q[k].sum()
    # πQ = 0 with Σπ = 1: replace one (redundant) balance equation by the normalisation
    a = q.T.copy()
    a[-1] = 1.0
    pi = np.linalg.solve(a, np.r_[np.zeros(size - 1), 1.0])
    mean_q = sum(max(k - n, 0) * pi[k] for k in range(size))
    r = erlang_a(arrivals_per_second=lam, aht_seconds=aht, patience_seconds=patience, agents=n)
    assert r.answer_rate == pytest.approx(1 - theta * mean_q / lam, abs=1e-9)
    assert r.p_wait == pytest.approx(pi[n:].sum(), abs=1e-9)


def test_erlang_a_is_stable_at_scale():
    r = erlang_a(arrivals_per_second=20000 / 3600, aht_seconds=400, patience_seconds=60, agents=2000)
    assert all(math.isfinite(v) for v in (r.answer_rate, r.p_wait, r.mean_queue_wait_seconds, r.occupancy))
    # 2 222 erlangs on 2 000 agents: nearly all busy, so they answer ≈ 2000/2222 of the callers
    assert r.answer_rate == pytest.approx(2000 / 2222.2, abs=0.005)
    assert r.occupancy == pytest.approx(1, abs=0.001)


# Load (erlangs) from under to over the agents, short and long patience.
GRID = [
    (60, 300, 60, 4),  # 5 erlangs on 4 agents, impatient
    (60, 300, 300, 6),
    (120, 240, 60, 8),
    (120, 240, 300, 7),  # 8 erlangs on 7, patient
    (240, 300, 120, 18),
    (240, 300, 600, 22),
]


def test_erlang_a_agrees_with_a_simulation_within_one_point():
    rng = np.random.default_rng(20181101)
    worst = 0.0
    for per_hour, aht, patience, n in GRID:
        calls = 20_000
        arrivals = np.cumsum(rng.exponential(3600 / per_hour, calls)).tolist()
        out = sim.simulate(
            arrivals, rng.exponential(aht, calls).tolist(), rng.exponential(patience, calls).tolist(), lambda t, n=n: n
        )
        simulated = sim.answer_rate(out, after=arrivals[calls // 20])
        model = answer_rate(arrivals=per_hour / 2, aht_seconds=aht, patience_seconds=patience, agents=n)
        worst = max(worst, abs(simulated - model))
        assert simulated == pytest.approx(model, abs=0.01), (per_hour, aht, patience, n)
    assert worst > 0  # the simulation is not the formula


def test_agents_needed_is_the_fewest_that_reach_the_target():
    kw = {"arrivals": 60, "aht_seconds": 400, "patience_seconds": 90}
    n = agents_needed(target=0.8, **kw)
    assert answer_rate(agents=n, **kw) >= 0.8 > answer_rate(agents=n - 1, **kw)
    assert agents_needed(target=0.8, arrivals=0, aht_seconds=400, patience_seconds=90, minimum=1) == 1


def test_queue_model_picks_erlang_c_without_patience():
    assert queue_model(arrivals_per_second=0.01, aht_seconds=300, agents=5).model == "erlang_c"
    assert queue_model(arrivals_per_second=0.01, aht_seconds=300, agents=5, patience_seconds=60).model == "erlang_a"


@pytest.mark.parametrize(
    "bad",
    [
        {"aht_seconds": 0},
        {"aht_seconds": float("nan")},
        {"agents": -1},
        {"agents": 10**9},
        {"patience_seconds": 0},
        {"arrivals_per_second": 1e9, "patience_seconds": 1e6},  # ~10^15 callers waiting
    ],
)
def test_bad_parameters_are_refused(bad):
    kw = {"arrivals_per_second": 0.01, "aht_seconds": 300, "patience_seconds": 60, "agents": 3} | bad
    with pytest.raises(ValueError):
        erlang_a(**kw)
