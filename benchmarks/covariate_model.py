"""A difficulty model whose prior depends on per-problem covariates from the samples.

Research code for ``bench_fit.py``, kept out of the package: cross-validation never
preferred it to the averaged model (see the README), so ``fit`` does not offer it.

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

from inferplan.fitting.curves import AveragedDifficulty
from inferplan.fitting.curves.base import CurveEstimator, as_k
from inferplan.fitting.curves.difficulty import log_betabinom
from inferplan.profiles.store import SampleTable
from inferplan.stats.estimators import pass_at_k

COVARIATES = ("log_mean_tokens", "distinct_share", "modal_share", "abstain_share")


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

    def fit(self, n: np.ndarray, c: np.ndarray, X: np.ndarray) -> CovariateDifficulty:
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



def problem_covariates(table: SampleTable, samples: np.ndarray | None = None) -> np.ndarray:
    """(problems, 4) per-problem covariates from the given sample rows (default: all).

    Columns as in :data:`COVARIATES`: log of the mean completion tokens, distinct answers
    per sample, the modal answer's share and the share of samples without an answer —
    what a profile knows about a problem beyond its correct count (used by
    :class:`~inferplan.fitting.curves.covariate.CovariateDifficulty`). Problems without
    samples get the column means.
    """
    rows = np.arange(table.n_samples) if samples is None else np.asarray(samples)
    P = len(table.problems)
    prob, ans = table.problem[rows], table.answer[rows]
    n = np.bincount(prob, minlength=P).astype(np.float64)
    toks = np.nan_to_num(table.completion_tokens[rows].astype(np.float64), nan=0.0)
    mean_tok = np.bincount(prob, weights=toks, minlength=P) / np.maximum(n, 1)
    voted = ans >= 0
    pairs = np.unique(np.stack([prob[voted], ans[voted]]), axis=1) if voted.any() else np.zeros((2, 0), np.int64)
    distinct = np.bincount(pairs[0], minlength=P).astype(np.float64)
    modal = np.zeros(P)
    if voted.any():
        key, cnt = np.unique(np.stack([prob[voted], ans[voted]]), axis=1, return_counts=True)
        np.maximum.at(modal, key[0], cnt)
    abstain = np.bincount(prob, weights=(~voted).astype(np.float64), minlength=P)
    X = np.column_stack([np.log1p(mean_tok), distinct / np.maximum(n, 1), modal / np.maximum(n, 1), abstain / np.maximum(n, 1)])
    empty = n == 0
    if empty.any() and (~empty).any():
        X[empty] = X[~empty].mean(0)
    return X


def covariate_cv(table, rows: np.ndarray | None = None, n_splits: int = 3, random_state: int = 0) -> dict[str, float]:
    """Half-sample extrapolation error (points) of the averaged difficulty model vs CovariateDifficulty.

    One configuration. Each problem's samples (``rows``, default all) are split at random
    into halves; both models are fitted on the first halves only (counts, and covariates
    of those samples) and predict pass@m, m = samples per problem, which is then
    compared with the unbiased pass@m of all the samples. Uses only the user's data.
    """
    rows = np.arange(table.n_samples) if rows is None else np.asarray(rows)
    P = len(table.problems)
    prob = table.problem[rows]
    n = np.bincount(prob, minlength=P)
    c = np.bincount(prob, weights=table.correct[rows], minlength=P).astype(np.int64)
    keep = n > 0
    m = int(n[keep].min())
    truth = pass_at_k(n[keep], c[keep], m).mean()
    rng = np.random.default_rng(random_state)
    errs: dict[str, list[float]] = {"beta-binomial-averaged": [], "covariate": []}
    for _ in range(n_splits):
        key = rng.random(rows.size)
        order = np.lexsort((key, prob))
        first = np.searchsorted(prob[order], prob[order])
        half = rows[order[np.arange(order.size) - first < m // 2]]
        nh = np.bincount(table.problem[half], minlength=P)[keep]
        ch = np.bincount(table.problem[half], weights=table.correct[half], minlength=P).astype(np.int64)[keep]
        X = problem_covariates(table, half)[keep][:, :3]
        avg = AveragedDifficulty(n_starts=1, random_state=random_state).fit(nh, ch).predict_pass_at_k(m)[0]
        cov = CovariateDifficulty(random_state=random_state).fit(nh, ch, X).predict_pass_at_k(m)[0]
        errs["beta-binomial-averaged"].append(abs(avg - truth) * 100)
        errs["covariate"].append(abs(cov - truth) * 100)
    return {k: float(np.mean(v)) for k, v in errs.items()}
