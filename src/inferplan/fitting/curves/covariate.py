"""Difficulty model whose prior depends on per-problem covariates from the samples.

A profile records more than correct/incorrect: each sample's extracted answer and its
length. Those say something about a problem beyond its correct count — a problem whose
samples are long and disagree is one the model struggles with; one whose samples agree
on a wrong answer quickly is one it is confidently wrong about. Here both the
never-solved probability and the Beta prior's mean depend on the covariates through
logistic links:

    p_i ~ π0(x_i)·δ0 + (1 − π0(x_i))·Beta(μ(x_i)·s, (1 − μ(x_i))·s),
    logit π0(x) = v0 + v·x,   logit μ(x) = w0 + w·x,

fitted by penalised maximum marginal (beta-binomial) likelihood on the same counts;
the ridge penalty on the slopes keeps 30-problem sets from overfitting. Predictions
are per-problem posteriors, as in :class:`BetaBinomialDifficulty`.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize
from scipy.special import betaln, expit, log_expit

from inferplan.fitting.curves.base import CurveEstimator, as_k
from inferplan.fitting.curves.difficulty import log_betabinom


class CovariateDifficulty(CurveEstimator):
    """Beta-binomial with never-solved mass, both driven by covariates ``X`` (one config).

    ``fit(n, c, X)``: per-problem samples, correct counts and a (P, d) covariate matrix
    (standardised inside). Learned: ``coef_pi0_``, ``coef_mu_`` (intercept first),
    ``strength_``, ``solvable_``, ``alpha_i_``, ``beta_i_``, ``log_likelihood_``.
    """

    def __init__(self, penalty: float = 1.0, mu_penalty: float | None = None, never_solved: bool = True,
                 random_state: int | None = None) -> None:
        self.penalty = penalty
        self.mu_penalty = mu_penalty
        self.never_solved = never_solved
        self.random_state = random_state

    def _design(self, X: np.ndarray) -> np.ndarray:
        Z = (np.asarray(X, dtype=np.float64) - self.x_mean_) / self.x_scale_
        return np.column_stack([np.ones(Z.shape[0]), Z])

    def _unpack(self, theta: np.ndarray, d: int) -> tuple[np.ndarray, np.ndarray, float]:
        return theta[: d + 1], theta[d + 1: 2 * d + 2], float(theta[-1])

    def _class_terms(self, theta: np.ndarray, D: np.ndarray, n: np.ndarray, c: np.ndarray):
        d = D.shape[1] - 1
        v, w, log_s = self._unpack(theta, d)
        s = np.exp(log_s)
        mu = np.clip(expit(D @ w), 1e-6, 1 - 1e-6)
        a, b = mu * s, (1 - mu) * s
        comp = log_betabinom(c, n, a, b)
        if self.never_solved:
            eta = D @ v
            l_never = np.where(c == 0, log_expit(eta), -np.inf)
            l_solv = log_expit(-eta) + comp
        else:
            l_never = np.full(c.shape, -np.inf)
            l_solv = comp
        return l_never, l_solv, a, b

    def fit(self, n: np.ndarray, c: np.ndarray, X: np.ndarray) -> "CovariateDifficulty":
        n = np.asarray(n, dtype=np.float64).ravel()
        c = np.asarray(c, dtype=np.float64).ravel()
        X = np.asarray(X, dtype=np.float64)
        if X.ndim == 1:
            X = X[:, None]
        if X.shape[0] != n.size or c.shape != n.shape or np.any(c < 0) or np.any(c > n):
            raise ValueError("need counts 0 ≤ c ≤ n and one covariate row per problem")
        if n.size < 2:
            raise ValueError("need at least 2 problems")
        self.x_mean_ = X.mean(0)
        sd = X.std(0)
        self.x_scale_ = np.where(sd > 1e-9, sd, 1.0)
        D = self._design(X)
        d = X.shape[1]
        mu_pen = self.penalty if self.mu_penalty is None else self.mu_penalty
        slopes = np.r_[0.0, np.full(d, float(self.penalty)), 0.0, np.full(d, float(mu_pen)), 0.0]
        if not self.never_solved:
            slopes[: d + 1] = 0.0

        def objective(theta: np.ndarray) -> float:
            l0, l1, _, _ = self._class_terms(theta, D, n, c)
            ll = np.logaddexp(l0, l1).sum()
            return -ll + 0.5 * float((slopes * theta ** 2).sum())

        rate = np.clip((c.sum() + 0.5) / (n.sum() + 1.0), 0.02, 0.98)
        start = np.zeros(2 * d + 3)
        start[0] = -2.0
        start[d + 1] = np.log(rate / (1 - rate))
        res = minimize(objective, start, method="L-BFGS-B",
                       bounds=[(-12, 12)] * (2 * d + 2) + [(-5.0, 7.0)])
        theta = res.x
        l0, l1, a, b = self._class_terms(theta, D, n, c)
        norm = np.logaddexp(l0, l1)
        self.theta_ = theta
        self.coef_pi0_, self.coef_mu_, log_s = self._unpack(theta, d)
        self.strength_ = float(np.exp(log_s))
        self.solvable_ = np.exp(l1 - norm)
        self.alpha_i_, self.beta_i_ = a, b
        self.n_, self.c_ = n, c
        self.log_likelihood_ = float(norm.sum())
        return self

    def problem_pass_at_k(self, k: int | np.ndarray, config: int = 0) -> np.ndarray:
        """(P, len(k)) posterior E[1 − (1 − p_i)^k | c_i, n_i, x_i]."""
        self._check_fitted()
        k = as_k(k)
        a = (self.alpha_i_ + self.c_)[:, None]
        b = (self.beta_i_ + self.n_ - self.c_)[:, None]
        fail = np.exp(betaln(a, b + k[None, :]) - betaln(a, b))
        return self.solvable_[:, None] * (1.0 - fail)

    def posterior_pass_at_k(self, n: np.ndarray, c: np.ndarray, X: np.ndarray, k: int | np.ndarray) -> np.ndarray:
        """(P', len(k)) posterior pass@k of NEW problems under the fitted covariate prior."""
        self._check_fitted()
        n = np.asarray(n, dtype=np.float64).ravel()
        c = np.asarray(c, dtype=np.float64).ravel()
        X = np.asarray(X, dtype=np.float64)
        D = self._design(X if X.ndim == 2 else X[:, None])
        l0, l1, a, b = self._class_terms(self.theta_, D, n, c)
        solv = np.exp(l1 - np.logaddexp(l0, l1))
        k = as_k(k)
        a2, b2 = (a + c)[:, None], (b + n - c)[:, None]
        return solv[:, None] * (1.0 - np.exp(betaln(a2, b2 + k[None, :]) - betaln(a2, b2)))

    def predict_pass_at_k(self, k: int | np.ndarray, config: int = 0) -> np.ndarray:
        return self.problem_pass_at_k(k, config).mean(0)

    def ceiling(self, config: int = 0) -> float:
        self._check_fitted()
        return float(self.solvable_.mean())

    def params(self, config: int = 0) -> dict:
        self._check_fitted()
        return {"coef_pi0": [float(x) for x in self.coef_pi0_], "coef_mu": [float(x) for x in self.coef_mu_],
                "strength": self.strength_}
