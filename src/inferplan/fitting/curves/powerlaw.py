"""Exponentiated power law of Large Language Monkeys: coverage(k) = exp(a·k^b).

Brown et al. fit log coverage = a·k^b (a < 0, b < 0) to the observed curve; here the
fit is on log(−log coverage) = log(−a) + b·log k with a Huber loss (robust to the
noisy small-k end), by iteratively reweighted least squares. It knows nothing about individual problems, so it extrapolates
the *shape* only; it is kept as a baseline and a model-selection candidate.
"""

from __future__ import annotations

import numpy as np

from inferplan.fitting.curves.base import CurveEstimator, as_k


class PowerLawCurve(CurveEstimator):
    """Fit ``exp(a·k^b)`` to observed (k, coverage) points; learned ``a_``, ``b_``."""

    def __init__(self, loss: str = "huber", f_scale: float = 0.1) -> None:  # loss: "huber" or "squared"
        self.loss = loss
        self.f_scale = f_scale

    def fit(self, k: np.ndarray, coverage: np.ndarray) -> PowerLawCurve:
        k = as_k(k)
        y = np.asarray(coverage, dtype=np.float64)
        ok = (y > 0) & (y < 1)
        if ok.sum() == 0:
            # Degenerate curve (all solved or none): a flat line at the observed level.
            level = float(np.clip(y.mean() if y.size else 0.0, 1e-9, 1 - 1e-12))
            self.a_, self.b_ = float(np.log(level)), 0.0
            return self
        lk, target = np.log(k[ok]), np.log(-np.log(y[ok]))
        if ok.sum() == 1:
            self.a_, self.b_ = -float(np.exp(target[0])), 0.0
            return self
        X = np.column_stack([np.ones_like(lk), lk])
        coef = np.linalg.lstsq(X, target, rcond=None)[0]
        for _ in range(50):  # Huber regression by iteratively reweighted least squares
            resid = target - X @ coef
            w = np.where(np.abs(resid) <= self.f_scale, 1.0, self.f_scale / np.maximum(np.abs(resid), 1e-12))
            if self.loss != "huber":
                w = np.ones_like(w)
            new = np.linalg.lstsq(X * np.sqrt(w)[:, None], target * np.sqrt(w), rcond=None)[0]
            if np.allclose(new, coef, atol=1e-12):
                break
            coef = new
        coef[1] = min(coef[1], 0.0)  # coverage cannot fall with k
        self.a_, self.b_ = -float(np.exp(coef[0])), float(coef[1])
        return self

    def predict_pass_at_k(self, k: int | np.ndarray) -> np.ndarray:
        self._check_fitted()
        return np.exp(self.a_ * as_k(k) ** self.b_)

    def ceiling(self) -> float:
        """The limit as k → ∞: 1 when b < 0 (every problem eventually covered)."""
        self._check_fitted()
        return 1.0 if self.b_ < 0 else float(np.exp(self.a_))

    def params(self) -> dict:
        return {"a": self.a_, "b": self.b_}
