"""The batch allocator's knowledge gradient against values computed from its definition."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats

from inferplan.errors import InvalidValue
from inferplan.policy.batch_allocation import (
    BatchAllocator,
    knowledge_gradient,
    majority_probabilities,
    one_more,
)
from inferplan.policy.stopping import parse_rule


def exact_two(a: int, b: int) -> float:
    """P(θ₁ > θ₂) under Beta(a, b): P(X > ½) = P(Bin(a + b − 1, ½) ≤ a − 1)."""
    n = a + b - 1
    return sum(math.comb(n, j) for j in range(a)) / 2 ** n


def exact_majority(alpha) -> np.ndarray:
    """I_i = ∫ f_{α_i}(x) Π_{j≠i} F_{α_j}(x) dx (θ ∝ independent gammas), by quadrature."""
    out = []
    for i, a in enumerate(alpha):
        def f(x, i=i, a=a):
            return stats.gamma.pdf(x, a) * np.prod([stats.gamma.cdf(x, b) for j, b in enumerate(alpha) if j != i])
        out.append(integrate.quad(f, 0, np.inf)[0])
    return np.array(out)


def exact_h_plus(alpha):
    h = exact_majority(alpha).max()
    plus = []
    for m in range(len(alpha)):
        a = list(alpha)
        a[m] += 1
        plus.append(exact_majority(a).max())
    return h, np.array(plus)


@pytest.mark.parametrize("a,b", [(1, 1), (3, 1), (2, 2), (4, 3), (6, 2)])
def test_majority_probability_two_answers_exact(a, b):
    p = exact_two(a, b)
    est = majority_probabilities(np.array([a, b], float), draws=200_000, rng=np.random.default_rng(1))
    assert est[0] == pytest.approx(p, abs=0.005)
    assert est.sum() == pytest.approx(1.0)


def test_hand_computed_values():
    # α = (3, 1): h = 7/8; one more for the leader: (4, 1) → 15/16; for the other: (3, 2) → 11/16.
    assert exact_two(3, 1) == 7 / 8 and exact_two(4, 1) == 15 / 16 and exact_two(3, 2) == 11 / 16
    rng = np.random.default_rng(0)
    h, plus = one_more(np.array([3.0, 1.0]), draws=400_000, rng=rng)
    assert h == pytest.approx(7 / 8, abs=0.003)
    assert plus == pytest.approx([15 / 16, 11 / 16], abs=0.003)
    # optimistic (PETS's OKG) = 15/16 − 7/8; expected = ¾·15/16 + ¼·11/16 − 7/8 = 0 (the leader cannot change)
    assert knowledge_gradient(np.array([3.0, 1.0]), draws=400_000, rng=rng) == pytest.approx(1 / 16, abs=0.003)
    assert knowledge_gradient(np.array([3.0, 1.0]), value="expected", draws=400_000, rng=rng) == pytest.approx(0, abs=0.003)
    # α = (2, 2): h = ½; either outcome makes h = P(Beta(3, 2) > ½) = 11/16, so both values are 3/16
    for value in ("optimistic", "expected"):
        assert knowledge_gradient(np.array([2.0, 2.0]), value=value, draws=400_000, rng=rng) == pytest.approx(3 / 16, abs=0.004)


@pytest.mark.parametrize("alpha", [(1, 1, 1), (3, 2, 1), (2, 2, 1, 1), (4, 1, 1, 1)])
def test_one_more_matches_quadrature(alpha):
    h, plus = exact_h_plus(alpha)
    est_h, est_plus = one_more(np.array(alpha, float), draws=300_000, rng=np.random.default_rng(2))
    assert est_h == pytest.approx(h, abs=0.004)
    assert est_plus == pytest.approx(plus, abs=0.004)
    a = np.array(alpha, float)
    exp_kg = float(a @ plus / a.sum() - h)
    assert exp_kg >= -1e-9  # h is convex and I is a martingale: the expected gain is never negative
    assert knowledge_gradient(a, value="expected", draws=300_000, rng=np.random.default_rng(3)) == pytest.approx(exp_kg, abs=0.005)
    assert knowledge_gradient(a, draws=300_000, rng=np.random.default_rng(4)) == pytest.approx(plus.max() - h, abs=0.005)


def test_shared_draws_are_less_noisy_than_fresh_ones():
    alpha = np.array([6.0, 3.0, 1.0, 1.0])
    h, plus = exact_h_plus(tuple(alpha))
    truth = plus.max() - h
    shared = [knowledge_gradient(alpha, draws=500, rng=np.random.default_rng(s)) for s in range(40)]
    rng = np.random.default_rng(99)
    fresh = []
    for _ in range(40):  # PETS's estimator: independent draws for α and each α + e_m
        base = majority_probabilities(alpha, draws=500, rng=rng).max()
        fresh.append(max(majority_probabilities(alpha + np.eye(4)[m], draws=500, rng=rng).max() for m in range(4)) - base)
    assert np.sqrt(np.mean((np.array(shared) - truth) ** 2)) < 0.8 * np.sqrt(np.mean((np.array(fresh) - truth) ** 2))


def feed(alloc: BatchAllocator, q: int, answers, cost: float = 1.0) -> None:
    for a in answers:
        alloc.observe(q, a, cost)


def test_choose_prefers_the_contested_query():
    alloc = BatchAllocator(3, n_options=2, draws=20_000, random_state=0)
    feed(alloc, 0, ["A"] * 6)  # settled
    feed(alloc, 1, ["A", "B", "A", "B"])  # contested
    feed(alloc, 2, ["B"] * 5 + ["A"])
    assert alloc.choose() == 1
    assert alloc.choose(exclude={1}) in (0, 2)
    alloc.close(1)
    assert alloc.choose() != 1


def test_choose_divides_by_expected_cost():
    alloc = BatchAllocator(2, n_options=2, draws=20_000, random_state=0)
    feed(alloc, 0, ["A", "B"], cost=1000.0)
    feed(alloc, 1, ["A", "B"], cost=100.0)
    assert alloc.value_of(0) == pytest.approx(alloc.value_of(1), abs=0.02)
    assert alloc.choose() == 1
    assert alloc.expected_costs()[0] == pytest.approx((2000 + 550) / 3)


def test_unseen_slots_and_abstentions():
    alloc = BatchAllocator(1, n_options=4)
    assert list(alloc.alpha(0)) == [1, 1, 1, 1]
    feed(alloc, 0, ["x", None, "y", "x", "z", "w", "v"])
    assert list(alloc.alpha(0)) == [3, 2, 2, 2, 2]  # grows past n_options; the abstention costs but adds nothing
    assert alloc.samples(0) == 7


def test_rule_and_cap_close_queries():
    alloc = BatchAllocator(2, n_options=4, rule=parse_rule("fixed:3", max_samples=3), random_state=0)
    feed(alloc, 0, ["A", "A", "A"])
    assert not alloc.is_open(0) and alloc.is_open(1)
    capped = BatchAllocator(1, max_samples=2)
    feed(capped, 0, ["A", "B"])
    assert capped.choose() is None


def test_bad_settings():
    with pytest.raises(InvalidValue):
        BatchAllocator(2, value="pessimistic")
    with pytest.raises(InvalidValue):
        BatchAllocator(0)
    with pytest.raises(InvalidValue):
        knowledge_gradient(np.ones(3), value="nope")
