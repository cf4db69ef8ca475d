"""Replay of stopping rules on real recorded samples (ESC Last Letters, BoInf MATH500)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from inferplan.api import simulate
from inferplan.policy.aggregate import Aggregation
from inferplan.policy.stopping import make_rule
from inferplan.profiles.store import load_profile
from inferplan.replay.budgets import capped
from inferplan.replay.cost import cost_model_for
from inferplan.replay.traces import densify, evaluate, schedule, trace

pytestmark = pytest.mark.data


@pytest.fixture(scope="module")
def esc(imported) -> Path:
    return imported("esc", "esc/last_letters_gpt35.jsonl")


@pytest.fixture(scope="module")
def math500(imported) -> Path:
    return imported("boinf", "boinf/math500_Qwen3-14B.jsonl")


def test_esc_reference_numbers(esc: Path) -> None:
    """REFERENCE §3: SC@40 83.14%; beta 0.95 → 83.11% at 6.38; ESC w=5 → 83.09% at 8.88."""
    r = simulate(esc, rule="beta:0.95", max_samples=40)
    assert r.estimate.accuracy.point == pytest.approx(0.831, abs=0.005)
    assert r.estimate.samples == pytest.approx(6.4, abs=0.4)
    sc40 = next(b for b in r.baselines if b.name == "fixed-40")
    assert sc40.accuracy.point == pytest.approx(0.8314, abs=0.002)
    w5 = simulate(esc, rule="esc:5", max_samples=40)
    assert w5.estimate.accuracy.point == pytest.approx(0.8309, abs=0.005)
    assert w5.estimate.samples == pytest.approx(8.88, abs=0.4)
    assert [b.name for b in r.baselines] == ["fixed-1", "fixed-2", "fixed-4", "fixed-8", "fixed-16", "fixed-32", "fixed-40"]
    lo, hi = r.estimate.accuracy.interval
    assert lo < r.estimate.accuracy.point < hi and hi - lo > 0.02  # 500 problems: a few points wide


def test_costs_are_the_tokens_actually_consumed(math500: Path) -> None:
    table = load_profile(math500)
    cm = cost_model_for(table, "tokens")
    dense = densify(table, cm)
    tr = trace(dense, np.array([1.0]), 80, Aggregation(), reps=4, seed=1)
    # Drawing all 80 samples costs exactly each problem's recorded total, whatever the order.
    total = np.zeros(len(table.problems))
    np.add.at(total, table.problem, table.completion_tokens)
    o = evaluate(tr, make_rule("fixed", (80,)))
    assert np.allclose(o.cost, total[dense.problem_index])
    # One sample costs, on average over orders, about the mean sample length.
    one = evaluate(tr, make_rule("fixed", (1,)))
    assert one.cost.mean() == pytest.approx(np.nanmean(table.completion_tokens), rel=0.05)
    # An adaptive rule pays for what it consumed: between 1 and 80 samples' worth.
    b = evaluate(tr, make_rule("beta", (0.95,), max_samples=80))
    assert one.cost.mean() < b.cost.mean() < o.cost.mean()
    assert 1 <= b.samples.min() and b.samples.max() <= 80


def test_replay_is_seeded_and_paired(esc: Path) -> None:
    a = simulate(esc, rule="bayes:10", max_samples=40, seed=3, reps=5)
    b = simulate(esc, rule="bayes:10", max_samples=40, seed=3, reps=5)
    c = simulate(esc, rule="bayes:10", max_samples=40, seed=4, reps=5)
    assert a == b
    assert a.estimate != c.estimate


def test_token_cap_turns_long_samples_into_abstentions(math500: Path) -> None:
    table = load_profile(math500)
    dense = densify(table, cost_model_for(table, "tokens"))
    cap = int(np.nanquantile(table.completion_tokens, 0.5))
    d = capped(dense, cap)
    long = dense.tokens > cap
    assert (d.answer[long] == -1).all() and not d.correct[long].any()
    assert np.allclose(d.cost[long], cap) and np.array_equal(d.cost[~long], dense.cost[~long])


def test_schedule_follows_the_mix() -> None:
    s = schedule(np.array([0.75, 0.25]), 8)
    assert list(np.bincount(s, minlength=2)) == [6, 2]
    assert s[0] == 0 and set(s[:4]) == {0, 1}  # interleaved, not blocks


def test_fixed_n_replay_agrees_with_exact_maj_at_k(esc: Path) -> None:
    """Permutation replay of fixed-N majority ≈ the exact maj@k estimator (mean over all k-subsets)."""
    from inferplan.stats.estimators import maj_at_k

    table = load_profile(esc)
    dense = densify(table, cost_model_for(table, "samples"))
    K = dense.answer_correct.shape[1]
    counts = np.zeros((dense.n_problems, K), dtype=np.int64)
    a = dense.answer[:, 0, :]
    for j in range(K):
        counts[:, j] = (a == j).sum(axis=1)
    exact = maj_at_k(counts, dense.answer_correct, 8, n=dense.count[:, 0]).mean()
    tr = trace(dense, np.array([1.0]), 40, Aggregation(), reps=20, seed=5)
    replayed = evaluate(tr, make_rule("fixed", (8,))).accuracy.mean()
    assert replayed == pytest.approx(exact, abs=0.005)


def test_usd_unit_prices_completion_tokens(math500: Path) -> None:
    tokens = simulate(math500, rule="fixed:4", unit="tokens", reps=3)
    usd = simulate(math500, rule="fixed:4", unit="usd", price_out=2.0, reps=3)
    assert usd.estimate.cost.point == pytest.approx(tokens.estimate.cost.point * 2.0 / 1e6)
    assert usd.estimate.accuracy.point == tokens.estimate.accuracy.point
