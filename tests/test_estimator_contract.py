"""One contract, checked over every curve estimator (scikit-learn's ``parametrize_with_checks`` idea).

Each family gets the same checks for free: ``fit`` returns the estimator itself,
predictions are deterministic for a fixed ``random_state``, use before ``fit`` is a
clear error, hyperparameters round-trip through ``get_params``/``set_params`` and
``__init__`` does no work, learned attributes end in ``_``, and predictions are
probabilities. A new family is added to ESTIMATORS and inherits them.
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from inferplan.fitting.curves import AveragedDifficulty, BetaBinomialDifficulty, MajorityCurve, PowerLawCurve
from inferplan.fitting.model_select import powerlaw_points

rng = np.random.default_rng(7)
P, N_SAMPLES = 40, 8
_p = np.where(rng.random(P) < 0.2, 0.0, rng.beta(1.0, 2.0, P))
N = np.full(P, N_SAMPLES)
C = rng.binomial(N, _p)
# Majority data: answer 0 is the correct one, then two wrong answers.
_counts = np.stack([C, (N - C) * 2 // 3, N - C - (N - C) * 2 // 3], axis=1).astype(float)
_correct = np.zeros_like(_counts, dtype=bool)
_correct[:, 0] = True
KS = np.array([1.0, 8.0, 64.0])

ESTIMATORS = {
    "beta-binomial": (lambda: BetaBinomialDifficulty(never_solved=False, random_state=0), (N, C), "predict_pass_at_k"),
    "beta-binomial+never": (lambda: BetaBinomialDifficulty(never_solved=True, random_state=0), (N, C), "predict_pass_at_k"),
    "averaged": (lambda: AveragedDifficulty(random_state=0), (N, C), "predict_pass_at_k"),
    "power-law": (lambda: PowerLawCurve(), powerlaw_points(N, C), "predict_pass_at_k"),
    "majority": (lambda: MajorityCurve(random_state=0), (_counts, _correct, N), "predict_maj_at_k"),
}
CASES = pytest.mark.parametrize("name", list(ESTIMATORS))


@CASES
def test_fit_returns_the_estimator(name: str) -> None:
    make, data, _ = ESTIMATORS[name]
    est = make()
    assert est.fit(*data) is est


@CASES
def test_predictions_are_deterministic_probabilities(name: str) -> None:
    make, data, predict = ESTIMATORS[name]
    a = getattr(make().fit(*data), predict)(KS)
    b = getattr(make().fit(*data), predict)(KS)
    np.testing.assert_array_equal(a, b)
    assert a.shape == KS.shape and np.all((a >= 0) & (a <= 1))


@CASES
def test_use_before_fit_is_a_clear_error(name: str) -> None:
    make, _, predict = ESTIMATORS[name]
    with pytest.raises(RuntimeError, match="not fitted"):
        getattr(make(), predict)(KS)


@CASES
def test_init_stores_hyperparameters_and_nothing_else(name: str) -> None:
    make, _, _ = ESTIMATORS[name]
    est = make()
    params = est.get_params()
    assert set(params) == {p for p in inspect.signature(type(est).__init__).parameters if p != "self"}
    assert set(vars(est)) == set(params), "__init__ must only store its arguments"
    assert est.set_params(**params).get_params() == params
    with pytest.raises(ValueError, match="no parameter"):
        est.set_params(not_a_parameter=1)


@CASES
def test_learned_attributes_end_in_underscore(name: str) -> None:
    make, data, _ = ESTIMATORS[name]
    est = make()
    before = set(vars(est))
    learned = set(vars(est.fit(*data))) - before
    assert learned and all(a.endswith("_") or a.startswith("_") for a in learned), sorted(learned)
