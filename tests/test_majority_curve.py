"""maj@k curve: exact at every recorded k, Pitman–Yor pieces against their definition,
and held-out extrapolation on real Best-of-∞ files."""

from __future__ import annotations

import numpy as np
import pytest

from inferplan.fitting.curves import MajorityCurve
from inferplan.fitting.curves.majority import _eppf_grid
from inferplan.profiles.counts import config_counts
from inferplan.profiles.store import load_profile
from inferplan.stats.estimators import maj_at_k


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


# ---------------------------------------------------------------- the self-check (issue 28)


class _Overconfident(MajorityCurve):
    """A badly wrong answer model: beyond n it claims every problem is solved."""

    def _simulated(self, k):
        return np.ones(self.n_.size)


class _Oracle(MajorityCurve):
    """A right answer model: beyond n it knows each problem's maj@k (set by the test)."""

    truth: dict = {}

    def _simulated(self, k):
        key = "half" if np.all(self.n_ < self.truth["n"]) else "full"
        return self.truth[key].copy()


def _split_votes(P: int, n: int, rng: np.random.Generator):
    """Problems whose correct answer takes about 30% of the votes against one wrong answer
    with 55%: the more samples, the more surely the majority is wrong."""
    counts = np.zeros((P, 4), np.int64)
    for i in range(P):
        counts[i] = rng.multinomial(n, [0.3, 0.55, 0.1, 0.05])
    correct = np.zeros((P, 4), bool)
    correct[:, 0] = True
    return counts, correct, np.full(P, n)


def test_self_check_switches_a_badly_wrong_model_off() -> None:
    counts, correct, n = _split_votes(60, 16, np.random.default_rng(4))
    model = _Overconfident(random_state=0).fit(counts, correct, n)
    check = model.params()["self_check"]
    assert check["model_error"] > 3 * check["observed_error"]
    assert model.shrink_ < 0.05
    observed = maj_at_k(counts, correct, 16, n).mean()
    assert model.predict_maj_at_k([160])[0] == pytest.approx(observed, abs=0.02)
    # the old behaviour (a fixed 0.75 of the way to the model) believed it
    fixed = _Overconfident(shrink=0.75, random_state=0).fit(counts, correct, n)
    assert fixed.predict_maj_at_k([160])[0] > observed + 0.2


def test_self_check_keeps_a_model_that_is_right() -> None:
    counts, correct, n = _split_votes(60, 16, np.random.default_rng(5))
    full = maj_at_k(counts, correct, 16, n)
    _Oracle.truth = {"n": 16, "half": full, "full": np.ones(60)}
    model = _Oracle(random_state=0).fit(counts, correct, n)
    check = model.params()["self_check"]
    assert check["model_error"] < 1e-12 < check["observed_error"]
    assert check["confirmed"] == pytest.approx(1.0)
    assert model.shrink_ == pytest.approx(model.prior)


def test_self_check_is_reported_and_widens_the_interval() -> None:
    counts, correct, n = _split_votes(40, 12, np.random.default_rng(6))
    model = MajorityCurve(random_state=0).fit(counts, correct, n)
    check = model.params()["self_check"]
    assert set(check) >= {"weight", "prior", "confirmed", "confirmed_se", "model_error", "observed_error", "error"}
    assert 0.0 <= check["weight"] == model.shrink_ <= check["prior"]
    fixed = MajorityCurve(shrink=model.shrink_, random_state=0).fit(counts, correct, n)
    assert "self_check" not in fixed.params()
    w_check = np.diff(model.interval([120]), axis=0)[0, 0]
    w_fixed = np.diff(fixed.interval([120]), axis=0)[0, 0]
    assert w_check > w_fixed


@pytest.mark.parametrize("shrink", [None, 0.0])
def test_interval_never_has_zero_width(shrink) -> None:
    counts = np.zeros((20, 3), np.int64)
    counts[:, 0] = 8  # every problem unanimous and correct: nothing varies in the samples
    correct = np.zeros((20, 3), bool)
    correct[:, 0] = True
    model = MajorityCurve(shrink=shrink, random_state=0).fit(counts, correct, np.full(20, 8))
    mean, low, high = model.predict_with_interval([80])
    assert mean[0] == pytest.approx(1.0)
    assert high[0] - low[0] > 0.0
