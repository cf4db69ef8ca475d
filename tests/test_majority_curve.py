"""maj@k curve: exact at every recorded k, Pitman–Yor pieces against their definition,
and held-out extrapolation on real Best-of-∞ files."""

from __future__ import annotations

import numpy as np
import pytest

from inferplan.fitting.curves import MajorityCurve
from inferplan.fitting.curves.majority import _eppf_grid
from inferplan.profiles.store import load_profile
from inferplan.stats.estimators import maj_at_k
from inferplan.profiles.counts import config_counts


def _random_answers(P: int, rng: np.random.Generator):
    """Problems with unequal sample counts, abstentions and several correct answers."""
    n = rng.integers(3, 12, size=P)
    counts = np.zeros((P, 6), np.int64)
    for i in range(P):
        answered = n[i] - rng.integers(0, 2)
        counts[i] = rng.multinomial(answered, rng.dirichlet(np.full(6, 0.4)))
    correct = rng.random((P, 6)) < 0.25
    return counts, correct, n


def test_recorded_maj_at_k_is_reproduced_exactly() -> None:
    counts, correct, n = _random_answers(60, np.random.default_rng(3))
    model = MajorityCurve(random_state=0).fit(counts, correct, n)
    for k in range(1, int(n.max()) + 1):
        inside = n >= k
        exact = maj_at_k(counts[inside], correct[inside], k, n[inside])
        np.testing.assert_allclose(model.problem_maj_at_k([k])[inside, 0], exact, rtol=0, atol=1e-12)


def _urn_log_probability(sequence: list[int], d: float, theta: float) -> float:
    """log P(a seating sequence) under the Pitman–Yor urn, step by step (the definition)."""
    sizes: list[int] = []
    total = 0.0
    for i, table in enumerate(sequence):
        if table == len(sizes):  # a new table
            total += np.log((theta + d * len(sizes)) / (theta + i))
            sizes.append(1)
        else:
            total += np.log((sizes[table] - d) / (theta + i))
            sizes[table] += 1
    return total


@pytest.mark.parametrize("sequence", [[0, 0, 1, 0, 2, 1, 0, 3], [0, 1, 2, 3, 4], [0, 0, 0, 0], [0]])
def test_pitman_yor_likelihood_matches_the_urn(sequence: list[int]) -> None:
    sizes = np.bincount(sequence)
    grid, loglik = _eppf_grid(np.sort(sizes)[::-1][None, :])
    for (d, theta), got in zip(grid, loglik[0]):
        assert got == pytest.approx(_urn_log_probability(sequence, d, theta), abs=1e-9)


def test_beyond_n_the_mode_decides() -> None:
    counts = np.array([[40, 60, 0], [70, 20, 10], [9, 1, 0]])
    correct = np.array([[True, False, False], [True, False, False], [False, True, False]])
    model = MajorityCurve(n_draws=512, random_state=0).fit(counts, correct, counts.sum(1))
    per = model.problem_maj_at_k(np.array([20, 2000]))
    assert per[0, 1] < per[0, 0]  # a wrong mode: more samples make it worse
    assert per[1, 1] >= per[1, 0] > 0.95
    low, high = model.interval([20, 2000])
    mean = per.mean(0)
    assert np.all((0 <= low) & (low <= mean) & (mean <= high) & (high <= 1))


def test_unequal_counts_and_no_correct_answer_seen() -> None:
    counts = np.array([[3, 1, 0], [0, 2, 2], [5, 0, 0]])
    correct = np.array([[True, False, False], [True, False, False], [False, False, True]])
    model = MajorityCurve(random_state=1).fit(counts, correct, np.array([4, 5, 5]))
    per = model.problem_maj_at_k([3, 40])
    assert np.all((per >= 0) & (per <= 1))
    assert per[1, 0] == 0.0  # the correct answer was never drawn: maj@3 of these samples is 0
    assert 0 <= per[1, 1] < 0.5  # it may still surface beyond n, rarely


def test_held_out_maj80_from_8_beats_no_extrapolation(shared_data, tmp_path) -> None:
    """On the AIME files (30 problems, where maj@k rises most), maj@80 predicted from 8
    random samples per problem is closer to the truth than the observed maj@8."""
    from inferplan.importers.published import import_published

    errs_model, errs_flat = [], []
    for path in sorted((shared_data / "boinf").glob("aime*.jsonl")):
        table = load_profile(import_published("boinf", path, tmp_path / path.name))
        cc = config_counts(table, 0)
        truth = maj_at_k(cc.answer_counts, cc.answer_correct, 80, cc.n).mean()
        for rep in range(2):
            rng = np.random.default_rng(500 + rep)
            keep = np.zeros_like(cc.answer_counts)
            for i in range(cc.n.size):
                pool = np.repeat(np.arange(cc.answer_counts.shape[1] + 1),
                                 np.append(cc.answer_counts[i], cc.n[i] - cc.answer_counts[i].sum()))
                drawn = rng.choice(pool, 8, replace=False)
                keep[i] = np.bincount(drawn, minlength=keep.shape[1] + 1)[:-1]
            model = MajorityCurve(random_state=rep).fit(keep, cc.answer_correct, np.full(cc.n.size, 8))
            errs_model.append(abs(model.predict_maj_at_k([80])[0] - truth))
            errs_flat.append(abs(model.predict_maj_at_k([8])[0] - truth))
    assert np.mean(errs_model) < 0.8 * np.mean(errs_flat)
