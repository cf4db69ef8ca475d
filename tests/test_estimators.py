"""Estimators are exact averages over all k-subsets: checked against brute force and closed forms."""

from __future__ import annotations

import itertools
from math import comb

import numpy as np
import pytest

from inferplan.stats.estimators import best_of_k, maj_at_k, maj_at_k_problem, pass_at_k


def brute_maj(answers: list[int], correct: set[int], k: int) -> float:
    """Mean over all k-subsets of the plurality being correct, ties split uniformly; −1 abstains."""
    total = 0.0
    subsets = list(itertools.combinations(range(len(answers)), k))
    for sub in subsets:
        votes: dict[int, int] = {}
        for i in sub:
            if answers[i] >= 0:
                votes[answers[i]] = votes.get(answers[i], 0) + 1
        if votes:
            top = max(votes.values())
            leaders = [a for a, v in votes.items() if v == top]
            total += sum(a in correct for a in leaders) / len(leaders)
    return total / len(subsets)


def test_pass_at_k_matches_closed_form() -> None:
    n = np.array([10, 10, 5, 80, 300, 7])
    c = np.array([0, 3, 5, 40, 1, 7])
    for k in (1, 2, 5):
        ref = [1 - comb(int(a) - int(b), k) / comb(int(a), k) for a, b in zip(n, c)]
        assert np.allclose(pass_at_k(n, c, k), ref, atol=1e-12)
    # pass@1 is the plain success rate; pass@n is "solved at least once".
    assert np.allclose(pass_at_k(n, c, 1), c / n)
    assert np.array_equal(pass_at_k(np.full(3, 9), np.array([0, 1, 9]), 9), [0.0, 1.0, 1.0])


def test_pass_at_k_rejects_k_beyond_n() -> None:
    with pytest.raises(ValueError):
        pass_at_k(np.array([4]), np.array([1]), 5)


def test_maj_at_k_exact_against_brute_force() -> None:
    rng = np.random.default_rng(7)
    for trial in range(40):
        n = int(rng.integers(2, 10))
        m = int(rng.integers(1, 5))
        answers = rng.integers(-1, m, size=n)  # −1: no answer extracted
        counts = np.array([(answers == j).sum() for j in range(m)])
        mask = np.zeros(m, dtype=bool)
        mask[rng.integers(m)] = True
        if trial % 4 == 0:  # several answers graded correct
            mask = rng.random(m) < 0.5
        for k in range(1, n + 1):
            got = maj_at_k_problem(counts, mask, k, n)
            assert got == pytest.approx(brute_maj(list(answers), set(np.flatnonzero(mask)), k), abs=1e-9)


def test_maj_at_k_ties_and_falling_curve() -> None:
    # Two answers 1:1 — a uniform tie-break gives exactly 1/2 at k = 2.
    assert maj_at_k_problem(np.array([1, 1]), np.array([True, False]), 2) == pytest.approx(0.5)
    # Correct answer is a minority: maj@k falls with k (never "more samples always help").
    counts, mask = np.array([4, 6]), np.array([True, False])
    curve = [maj_at_k_problem(counts, mask, k) for k in (1, 3, 5, 10)]
    assert curve[0] == pytest.approx(0.4)
    assert all(a > b for a, b in zip(curve, curve[1:]))
    assert curve[-1] == 0.0


def test_maj_at_k_is_not_first_k() -> None:
    # Same multiset, any order: the estimator only sees counts, so order cannot matter,
    # whereas "the first 3" of [right, right, right, wrong×4] would say 1.0.
    answers = [0, 0, 0, 1, 1, 1, 1]
    exact = brute_maj(answers, {0}, 3)
    assert maj_at_k(np.array([[3, 4]]), np.array([[True, False]]), 3)[0] == pytest.approx(exact)
    assert exact < 0.5


def test_maj_at_k_large_n_is_fast_and_bounded() -> None:
    counts = np.array([[120, 90, 50, 20, 10, 5, 3, 2]])
    mask = np.zeros_like(counts, dtype=bool)
    mask[0, 1] = True
    vals = [maj_at_k(counts, mask, k)[0] for k in (1, 10, 100, 299, 300)]
    assert vals[0] == pytest.approx(90 / 300)
    assert all(0 <= v <= 1 for v in vals)
    assert vals[-1] == 0.0  # the full sample's plurality is answer 0


def test_best_of_k_against_brute_force() -> None:
    rng = np.random.default_rng(3)
    for _ in range(40):
        n = int(rng.integers(1, 8))
        y = rng.random(n) < 0.5
        s = rng.integers(0, 3, size=n).astype(float)  # many ties in score
        for k in range(1, n + 1):
            ref = np.mean([np.mean([y[i] for i in sub if s[i] == max(s[j] for j in sub)])
                           for sub in itertools.combinations(range(n), k)])
            assert best_of_k(s, y, k) == pytest.approx(ref, abs=1e-12)


def test_estimators_on_real_boinf(shared_data, tmp_path) -> None:
    from inferplan.importers.published import import_published
    from inferplan.profiles.counts import config_counts
    from inferplan.profiles.store import load_profile

    table = load_profile(import_published("boinf", shared_data / "boinf" / "aime2025_Qwen3-4B.jsonl", tmp_path / "p.jsonl"))
    cc = config_counts(table, 0)
    assert np.all(cc.n == 80)
    assert pass_at_k(cc.n, cc.c, 1).mean() == pytest.approx(table.correct.mean())
    # maj@80 over the only 80-subset is the full-sample plurality (uniform tie-break).
    full = maj_at_k(cc.answer_counts, cc.answer_correct, 80, cc.n)
    top = cc.answer_counts.max(1)
    tied = (cc.answer_counts == top[:, None]).sum(1)
    expect = ((cc.answer_counts == top[:, None]) & cc.answer_correct).sum(1) / tied
    assert np.allclose(full, expect)
    maj8 = maj_at_k(cc.answer_counts, cc.answer_correct, 8, cc.n).mean()
    assert pass_at_k(cc.n, cc.c, 1).mean() - 0.05 < maj8 <= pass_at_k(cc.n, cc.c, 8).mean()
