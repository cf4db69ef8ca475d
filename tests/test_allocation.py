"""Allocation across configurations: estimators against brute force, and OSCA's real counts."""

from __future__ import annotations

from itertools import combinations
from pathlib import Path

import numpy as np
import pytest

from inferplan.planner.mix_allocation import (
    allocate_pass_at_k,
    answer_distributions,
    coverage_binomial,
    coverage_exact,
    greedy,
    success_rates,
    vote_accuracy,
)
from inferplan.policy.aggregate import Aggregation
from inferplan.policy.stopping import make_rule
from inferplan.profiles.store import load_profile
from inferplan.replay.cost import cost_model_for
from inferplan.replay.split import split_problems
from inferplan.replay.traces import densify, evaluate, trace


def test_coverage_exact_matches_enumeration() -> None:
    rng = np.random.default_rng(0)
    n = np.array([[6.0, 5.0], [6.0, 5.0]])
    outcomes = [rng.random(6) < 0.3, rng.random(5) < 0.5], [np.zeros(6, bool), np.array([0, 0, 1, 0, 0], bool)]
    c = np.array([[o[0].sum(), o[1].sum()] for o in outcomes], dtype=float)
    for k in ([2, 1], [0, 3], [4, 2]):
        got = coverage_exact(np.array(k, float), n, c)
        for p, (a, b) in enumerate(outcomes):
            hits = [any(a[list(i)]) or any(b[list(j)]) for i in combinations(range(6), k[0])
                    for j in combinations(range(5), k[1])]
            assert got[p] == pytest.approx(np.mean(hits))


def test_coverage_binomial_formula() -> None:
    n, c = np.array([[10.0, 10.0]]), np.array([[2.0, 5.0]])
    assert coverage_binomial(np.array([3.0, 1.0]), n, c) == pytest.approx(1 - 0.8**3 * 0.5)


def test_greedy_respects_budget_and_costs() -> None:
    # Two configurations; the second is twice as good per sample but three times as expensive.
    n, c = np.full((4, 2), 10.0), np.array([[1, 2], [1, 2], [0, 6], [3, 3]], float)
    alloc = greedy(lambda k: coverage_binomial(k, n, c), np.array([1.0, 3.0]), 7.0)
    assert alloc.cost <= 7.0 and alloc.counts[0] > 0
    assert alloc.objective == pytest.approx(coverage_binomial(np.array(alloc.counts, float), n, c))


def test_vote_accuracy_of_one_sample_is_mean_single_accuracy() -> None:
    dense_like = np.array([[[0.7, 0.2, 0.1]], [[0.1, 0.6, 0.3]]])  # 2 problems, 1 config, answers {0, 1} + none
    correct = np.array([[True, False], [True, False]])
    acc = vote_accuracy(dense_like, correct, np.array([1]), sims=20000, seed=1)
    assert acc == pytest.approx((0.7 + 0.1) / 2, abs=0.01)


@pytest.fixture(scope="module")
def osca(imported):
    table = load_profile(imported("osca", "osca/bigcodebench_hard.json"))
    split = split_problems(table, 0.5, 0)
    cm = cost_model_for(table, "samples")
    return table, split, densify(table, cm, split.train), densify(table, cm, split.test)


@pytest.mark.data
def test_osca_mix_beats_best_single_configuration(osca) -> None:
    """REFERENCE §4: C=16: 0.693 vs 0.639; the best single needs 32 for 0.690."""
    table, split, train, test = osca
    assert split.source == "profile" and (len(split.train), len(split.test)) == (70, 78)
    n_tr, c_tr = success_rates(train)
    n_te, c_te = success_rates(test)
    C = len(table.configs)

    def single(n, c, cfg, k):
        counts = np.zeros(C)
        counts[cfg] = k
        return coverage_exact(counts, n, c).mean()

    for budget in (4, 16, 64):
        mix = coverage_exact(np.array(allocate_pass_at_k(train, budget).counts, float), n_te, c_te).mean()
        best = max(range(C), key=lambda cfg: single(n_tr, c_tr, cfg, budget))
        assert mix > single(n_te, c_te, best, budget)
        if budget >= 16:
            assert mix >= single(n_te, c_te, best, 2 * budget) - 1e-9
    mix16 = coverage_exact(np.array(allocate_pass_at_k(train, 16).counts, float), n_te, c_te).mean()
    assert mix16 == pytest.approx(0.693, abs=0.01)


@pytest.mark.data
def test_oracle_replay_agrees_with_exact_pass_at_k(osca) -> None:
    table, _, _, test = osca
    n, c = success_rates(test)
    shares = np.zeros(len(table.configs))
    shares[[4, 9]] = 0.5
    tr = trace(test, shares, 16, Aggregation("oracle"), reps=40, seed=2)
    replayed = evaluate(tr, make_rule("fixed", (16,))).accuracy.mean()
    exact = coverage_exact(shares * 16, n, c).mean()
    assert replayed == pytest.approx(exact, abs=0.015)
    # First pass stops at the verifier's first acceptance: fewer than 16 samples on average.
    assert evaluate(tr, make_rule("fixed", (16,))).samples.mean() < 16


@pytest.mark.data
def test_answer_distributions_are_normalised(osca) -> None:
    _, _, train, _ = osca
    d = answer_distributions(train)
    assert np.allclose(d.sum(axis=2), 1.0)


def test_vote_mix_helps_where_configurations_err_differently(tmp_path: Path) -> None:
    """Planner logic on a synthetic profile: config A solves the even problems, B the odd ones."""
    from inferplan.planner.mix_allocation import allocate_vote
    from inferplan.profiles.store import ProfileWriter

    rng = np.random.default_rng(0)
    header = {"configs": [{"name": "A", "temperature": 0.2}, {"name": "B", "temperature": 1.0}]}
    recs = []
    for p in range(40):
        for cfg, good in (("A", p % 2 == 0), ("B", p % 2 == 1)):
            for i in range(20):
                right = rng.random() < (0.9 if good else 0.3)
                ans = "42" if right else str(rng.integers(0, 3))  # wrong answers split three ways
                recs.append({"problem": str(p), "config": cfg, "index": i, "answer": ans, "correct": right})
    path = tmp_path / "synthetic.jsonl"
    with ProfileWriter(path, header) as w:
        w.write(recs)
    table = load_profile(path)
    dense = densify(table, cost_model_for(table, "samples"))
    dist = answer_distributions(dense)
    alloc = allocate_vote(dense, 8.0, np.ones(2), sims=200, seed=0)
    assert sum(alloc.counts) == 8 and min(alloc.counts) > 0
    single = max(vote_accuracy(dist, dense.answer_correct, np.array(k, float), sims=400, seed=1) for k in ([8, 0], [0, 8]))
    mixed = vote_accuracy(dist, dense.answer_correct, np.array(alloc.counts, float), sims=400, seed=1)
    assert mixed > single + 0.05
