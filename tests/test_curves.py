"""Curve families: estimator conventions, parameter recovery, extrapolation on real data."""

from __future__ import annotations

import numpy as np
import pytest

from inferplan.fitting.curves import BetaBinomialDifficulty, MajorityCurve, PowerLawCurve
from inferplan.fitting.model_select import FAMILIES, select_family
from inferplan.stats.estimators import pass_at_k


def _synthetic(P: int, n: int, a: float, b: float, pi0: float, Q: int = 1, seed: int = 0):
    rng = np.random.default_rng(seed)
    never = rng.random(P) < pi0
    p = rng.beta(a, b, size=(P, Q)) * ~never[:, None]
    N = np.full((P, Q), n)
    return N, rng.binomial(N, p), p


def test_estimator_conventions() -> None:
    model = BetaBinomialDifficulty(never_solved=False, random_state=3)
    assert model.get_params()["random_state"] == 3
    assert "never_solved=False" in repr(model)
    with pytest.raises(RuntimeError):
        model.predict_pass_at_k(4)
    N, C, _ = _synthetic(200, 10, 0.5, 1.5, 0.0)
    assert model.fit(N, C) is model
    assert {"alpha_", "beta_", "pi0_", "solvable_"} <= set(vars(model))


def test_beta_binomial_recovers_parameters_and_formula() -> None:
    N, C, p = _synthetic(3000, 20, 0.4, 1.2, 0.0, seed=1)
    model = BetaBinomialDifficulty(never_solved=False, random_state=0).fit(N, C)
    assert model.alpha_[0, 0] == pytest.approx(0.4, rel=0.15)
    assert model.beta_[0, 0] == pytest.approx(1.2, rel=0.2)
    ks = np.array([1, 10, 100])
    truth = (1 - (1 - p[:, 0][:, None]) ** ks).mean(0)
    assert np.allclose(model.population_pass_at_k(ks), truth, atol=0.02)
    assert np.allclose(model.predict_pass_at_k(ks), truth, atol=0.02)
    # Posterior predictions of the training data through the "new problems" path agree.
    assert np.allclose(model.posterior_pass_at_k(N, C, ks), model.problem_pass_at_k(ks))


def test_shared_never_solved_mass() -> None:
    N, C, p = _synthetic(1500, 10, 0.5, 2.0, 0.25, Q=3, seed=2)
    model = BetaBinomialDifficulty(never_solved=True, random_state=0).fit(N, C)
    assert model.pi0_ == pytest.approx(0.25, abs=0.05)
    assert model.ceiling() == pytest.approx(0.75, abs=0.05)
    truth = (1 - (1 - p[:, 1][:, None]) ** np.array([300])).mean(0)
    assert model.predict_pass_at_k(300, config=1) == pytest.approx(truth[0], abs=0.03)
    draws = model.sample_p(np.random.default_rng(0), size=4)
    assert draws.shape == (4, 1500, 3)
    solved = C.sum(1) > 0
    assert np.all(draws[:, solved] > 0)  # a problem solved once is never drawn as p = 0


def test_power_law_recovers_exact_curve() -> None:
    k = np.array([1, 2, 4, 8, 16, 32])
    cov = np.exp(-0.8 * k ** -0.4)
    model = PowerLawCurve().fit(k, cov)
    assert (model.a_, model.b_) == pytest.approx((-0.8, -0.4), abs=1e-6)
    assert model.predict_pass_at_k(1000)[0] == pytest.approx(np.exp(-0.8 * 1000 ** -0.4))


def test_majority_curve_saturates_and_can_fall() -> None:
    counts = np.array([[40, 60, 0], [70, 20, 10], [9, 1, 0]])
    correct = np.array([[True, False, False], [True, False, False], [False, True, False]])
    model = MajorityCurve(n_draws=2000, random_state=0).fit(counts, correct, counts.sum(1))
    per = model.problem_maj_at_k(np.array([1, 1001]))
    assert per[0, 0] == pytest.approx(0.4, abs=0.03)
    assert per[0, 1] < 0.1  # wrong answer is the mode: more samples make it worse
    assert per[1, 1] > 0.95
    assert model.problem_ceiling_[0] < 0.1 and model.problem_ceiling_[1] > 0.95
    assert 0 < model.ceiling_ < 1


def test_select_family_returns_a_candidate() -> None:
    N, C, _ = _synthetic(120, 16, 0.3, 1.0, 0.2, seed=4)
    sel = select_family(N, C, random_state=0)
    assert sel.family in FAMILIES and set(sel.errors) == set(FAMILIES)
    assert sel.subsample == 4 and sel.target_k == 16


@pytest.mark.data
def test_extrapolation_on_real_osca(shared_data) -> None:
    """10 of 300 samples of each test configuration → pass@100 within a few points."""
    import json

    data = json.loads((shared_data / "osca" / "bigcodebench_hard.json").read_text())
    C = np.array([data["test"][str(j)] for j in range(10)]).T
    N = np.full_like(C, 300)
    rng = np.random.default_rng(11)
    Cs = rng.hypergeometric(C, N - C, 10)
    model = BetaBinomialDifficulty(never_solved=True, random_state=0).fit(np.full_like(C, 10), Cs)
    plain = BetaBinomialDifficulty(never_solved=False, random_state=0)
    err, err_plain = [], []
    for q in range(10):
        truth = pass_at_k(N[:, q], C[:, q], 100).mean()
        err.append(abs(model.predict_pass_at_k(100, q)[0] - truth) * 100)
        plain.fit(np.full(78, 10), Cs[:, q])
        err_plain.append(abs(plain.population_pass_at_k(100)[0] - truth) * 100)
    assert np.mean(err) < 3.5 and max(err) < 8
    assert np.mean(err) < np.mean(err_plain)  # the shared never-solved mass earns its keep


def test_the_reported_pass_curve_averages_the_families_with_least_squares_stacked_shares() -> None:
    from inferplan.fitting.model_select import Selection, cv_predictions
    from inferplan.fitting.pass_curves import averaged_pass_curves, curve_grid, fit_pass_curves

    N, C, _ = _synthetic(80, 8, 0.3, 1.0, 0.2, seed=5)
    sel = select_family(N, C, random_state=0)
    assert sum(sel.weights.values()) == pytest.approx(1.0) and 0 <= sel.weights[FAMILIES[1]] <= 1
    # The share is the one whose averaged prediction errs least on the same folds: recompute it.
    preds, t = cv_predictions(N, C, random_state=0)
    a, b = preds[FAMILIES[0]], preds[FAMILIES[1]]
    shares = np.linspace(0, 1, 100_001)  # the least-squares share, by brute force
    err = [np.sum(((1 - s) * a + s * b - t) ** 2) for s in shares]
    assert sel.weights[FAMILIES[1]] == pytest.approx(shares[int(np.argmin(err))], abs=1e-5)

    at, grid = np.array([8.0, 80.0]), curve_grid(80)
    shares = {"beta-binomial-averaged": 0.25, "power-law": 0.75}
    both = averaged_pass_curves(shares, N, C, at, 0.9, 0, 5, 1e-3, grid)[0]
    bb, pl = (fit_pass_curves(f, N, C, at, 0.9, 0, 5, 1e-3, grid)[0] for f in ("beta-binomial-averaged", "power-law"))
    assert both["pred"] == pytest.approx(0.25 * bb["pred"] + 0.75 * pl["pred"])
    assert both["low"] == pytest.approx(0.25 * bb["low"] + 0.75 * pl["low"])  # the bounds averaged alike
    assert both["high"] == pytest.approx(0.25 * bb["high"] + 0.75 * pl["high"])
    assert np.all(both["low"] <= both["pred"]) and np.all(both["pred"] <= both["high"])
    assert both["params"]["share.power-law"] == pytest.approx(0.75)
    # Where the CV could not run, the preferred family alone.
    assert Selection("beta-binomial-averaged", {}, 2, 8).weights == {"beta-binomial-averaged": 1.0}
