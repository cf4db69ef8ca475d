"""The estimator conventions every curve family follows (scikit-learn style).

Hyperparameters are set in ``__init__`` and stored unchanged (no logic there);
``fit(...)`` learns attributes whose names end in ``_`` and returns ``self``;
randomness comes from ``random_state``.
"""

from __future__ import annotations

import inspect

import numpy as np


class CurveEstimator:
    """Base class: ``get_params``/``set_params``/``repr`` from the ``__init__`` signature."""

    def get_params(self) -> dict:
        names = [p for p in inspect.signature(type(self).__init__).parameters if p != "self"]
        return {name: getattr(self, name) for name in names}

    def set_params(self, **params: object) -> CurveEstimator:
        for key, value in params.items():
            if key not in self.get_params():
                raise ValueError(f"{type(self).__name__} has no parameter {key!r}")
            setattr(self, key, value)
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    def _check_fitted(self) -> None:
        if not any(name.endswith("_") and not name.startswith("_") for name in vars(self)):
            raise RuntimeError(f"{type(self).__name__} is not fitted yet; call fit() first")


def as_rng(random_state: int | np.random.Generator | None) -> np.random.Generator:
    """A Generator from a seed, a Generator, or None (fresh entropy)."""
    if isinstance(random_state, np.random.Generator):
        return random_state
    return np.random.default_rng(random_state)


def as_k(k: int | np.ndarray | list) -> np.ndarray:
    """k values as a 1-d float array (accepts a scalar)."""
    arr = np.atleast_1d(np.asarray(k, dtype=np.float64))
    if np.any(arr < 1):
        raise ValueError("k must be ≥ 1")
    return arr
