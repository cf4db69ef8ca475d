"""Per-problem difficulty model: beta-binomial with a shared never-solved mass.

Schaeffer et al. ("How Do Large Language Monkeys Get Their Power (Laws)?"): aggregate
coverage curves come from the distribution of per-problem success rates p_i. We model
p_i ~ Beta(α_q, β_q) for configuration q, plus a point mass π0 of problems no
configuration can solve (p = 0 everywhere), and fit all configurations of the same
problems jointly by maximum likelihood (EM over the never-solved indicator).

Why these pieces (measured on the published OSCA and Best-of-∞ sets, see README):
- sharing the never-solved indicator across configurations is what makes extrapolation
  from 10 samples work — a problem with 0/10 at one temperature but solved at another
  is solvable; 0 of 100 across all ten is most likely not;
- predictions are per-problem posteriors (each problem's own c_i, n_i), not the
  population formula, so the estimate is about *these* problems;
- a two-beta mixture (``n_components=2``) is available but extrapolated worse, so model
  selection does not offer it by default.
"""

from __future__ import annotations

import numpy as np
from scipy.special import betaln, digamma, gammaln, logsumexp, zeta

from inferplan.fitting.curves.base import CurveEstimator, as_k, as_rng

_BOUNDS = [(-7.0, 7.0), (-7.0, 9.0)]  # log α, log β


def log_betabinom(c: np.ndarray, n: np.ndarray, a: float | np.ndarray, b: float | np.ndarray) -> np.ndarray:
    """log P(c | n, α, β) of the beta-binomial distribution."""
    return gammaln(n + 1) - gammaln(c + 1) - gammaln(n - c + 1) + betaln(a + c, b + n - c) - betaln(a, b)


def _groups(c: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unique (c, n) pairs of rows with samples, and each row's group (−1: no samples)."""
    keep = n > 0
    cn, inv = np.unique(np.stack([c[keep], n[keep]]), axis=1, return_inverse=True)
    group = np.full(c.shape[0], -1, dtype=np.int64)
    group[keep] = inv.ravel()
    return cn[0].astype(np.float64), cn[1].astype(np.float64), group


def _fit_weighted(cc: np.ndarray, nn: np.ndarray, wt: np.ndarray, start: np.ndarray, max_steps: int = 50) -> np.ndarray:
    """Weighted beta-binomial ML over unique (c, n) groups; returns (log α, log β).

    Damped Newton in log-parameters with exact (trigamma) Hessian and backtracking:
    two parameters and a warm start from the previous EM step make this converge in a
    few steps, far cheaper than a general-purpose optimiser called hundreds of times.
    """
    if cc.size == 0 or wt.sum() <= 0:
        return start
    lo, hi = np.array([b[0] for b in _BOUNDS]), np.array([b[1] for b in _BOUNDS])

    def value(th: np.ndarray) -> float:
        a, b = np.exp(th)
        return float((wt * (betaln(a + cc, b + nn - cc) - betaln(a, b))).sum())

    th = np.clip(np.asarray(start, dtype=np.float64), lo, hi)
    f = value(th)
    for _ in range(max_steps):
        a, b = np.exp(th)
        dab, tab = digamma(a + b) - digamma(a + b + nn), zeta(2, a + b) - zeta(2, a + b + nn)
        ga = (wt * (digamma(a + cc) - digamma(a) + dab)).sum()
        gb = (wt * (digamma(b + nn - cc) - digamma(b) + dab)).sum()
        haa = (wt * (zeta(2, a + cc) - zeta(2, a) + tab)).sum()
        hbb = (wt * (zeta(2, b + nn - cc) - zeta(2, b) + tab)).sum()
        hab = (wt * tab).sum()
        g = np.array([a * ga, b * gb])  # chain rule to log-parameters
        H = np.array([[a * a * haa + a * ga, a * b * hab], [a * b * hab, b * b * hbb + b * gb]])
        try:
            step = -np.linalg.solve(H, g)
            if g @ step <= 0:  # not an ascent direction: Hessian not negative definite
                raise np.linalg.LinAlgError
        except np.linalg.LinAlgError:
            step = g / max(1.0, float(np.abs(g).max()))
        t = 1.0
        while t > 1e-4:
            cand = np.clip(th + t * step, lo, hi)
            fc = value(cand)
            if fc >= f - 1e-12:
                break
            t *= 0.5
        else:
            break
        moved = np.abs(cand - th).max()
        th, f = cand, fc
        if moved < 1e-7:
            break
    return th


class BetaBinomialDifficulty(CurveEstimator):
    """p_i ~ π0·δ0 + (1 − π0)·Beta(α_q, β_q), fitted jointly over configurations.

    ``fit(N, C)`` takes (problems × configs) sample and correct counts (1-d for one
    configuration; a 0 in N means "no samples"). After fitting:
    ``alpha_``, ``beta_`` (per config), ``pi0_``, ``solvable_`` (per-problem posterior
    probability of being solvable), ``log_likelihood_``, ``n_iter_``.
    """

    def __init__(self, never_solved: bool = True, n_components: int = 1, max_iter: int = 200,
                 tol: float = 1e-6, n_starts: int = 2, warm_start: bool = False,
                 random_state: int | np.random.Generator | None = None) -> None:
        self.never_solved = never_solved
        self.n_components = n_components
        self.max_iter = max_iter
        self.tol = tol
        self.n_starts = n_starts
        self.warm_start = warm_start
        self.random_state = random_state

    # ------------------------------------------------------------------ fitting
    def fit(self, N: np.ndarray, C: np.ndarray) -> BetaBinomialDifficulty:
        N = np.asarray(N, dtype=np.int64)
        C = np.asarray(C, dtype=np.int64)
        if N.ndim == 1:
            N, C = N[:, None], C[:, None]
        if N.shape != C.shape or np.any(C < 0) or np.any(C > N):
            raise ValueError("C must be counts with 0 ≤ C ≤ N, same shape as N")
        if N.shape[0] < 2:
            raise ValueError("need at least 2 problems to fit a difficulty distribution")
        rng = as_rng(self.random_state)
        K, Q = int(self.n_components), N.shape[1]
        best = None
        starts = 1 if (self.warm_start and hasattr(self, "theta_")) else max(1, int(self.n_starts))
        for s in range(starts):
            if s == 0 and self.warm_start and hasattr(self, "theta_") and self.theta_.shape == (K, Q, 2):
                theta = self.theta_.copy()
            else:
                theta = self._start(N, C, K, rng, jitter=s > 0)
            warm = self.weights_ if (s == 0 and self.warm_start and hasattr(self, "weights_")) else None
            out = self._em(N, C, theta, K, warm)
            if best is None or out[-1] > best[-1]:
                best = out
        theta, weights, resp, n_iter, ll = best
        self.theta_ = theta
        self.weights_ = weights  # [never, component 1, …]
        self.resp_ = resp  # (P, 1 + K) posterior class probabilities
        self.alpha_ = np.exp(theta[..., 0])  # (K, Q)
        self.beta_ = np.exp(theta[..., 1])
        self.pi0_ = float(weights[0])
        self.solvable_ = 1.0 - resp[:, 0]
        self.N_, self.C_ = N, C
        self.n_iter_, self.log_likelihood_ = n_iter, ll
        return self

    def _start(self, N: np.ndarray, C: np.ndarray, K: int, rng: np.random.Generator, jitter: bool) -> np.ndarray:
        rate = (C.sum(0) + 0.5) / (N.sum(0) + 1.0)
        theta = np.zeros((K, N.shape[1], 2))
        for j in range(K):
            m = np.clip(rate * (0.5 + j) / max(1, K - 0.5), 0.02, 0.98)
            strength = 1.0 * np.exp(rng.normal(0, 1) if jitter else 0.0)
            theta[j, :, 0] = np.log(m * strength)
            theta[j, :, 1] = np.log((1 - m) * strength)
        return theta

    def _class_loglik(self, N: np.ndarray, C: np.ndarray, theta: np.ndarray) -> np.ndarray:
        """(P, 1 + K) log-likelihood of each problem's counts under each class."""
        comps = [log_betabinom(C, N, np.exp(theta[j, :, 0]), np.exp(theta[j, :, 1])).sum(1) for j in range(theta.shape[0])]
        never = np.where((C == 0).all(1), 0.0, -np.inf)
        return np.column_stack([never] + comps)

    def _em(self, N: np.ndarray, C: np.ndarray, theta: np.ndarray, K: int, weights: np.ndarray | None = None):
        weights = np.full(1 + K, 1.0 / (1 + K)) if weights is None else np.clip(weights, 1e-6, 1.0)
        if not self.never_solved:
            weights[0] = 0.0
            weights[1:] = 1.0 / K
        ll_old, n_iter = -np.inf, 0
        groups = [_groups(C[:, q], N[:, q]) for q in range(N.shape[1])]
        for n_iter in range(1, int(self.max_iter) + 1):  # noqa: B007 (the count is returned)
            L = self._class_loglik(N, C, theta) + np.log(np.where(weights > 0, weights, 1e-300))
            if not self.never_solved:
                L[:, 0] = -np.inf
            norm = logsumexp(L, axis=1, keepdims=True)
            resp = np.exp(L - norm)
            ll = float(norm.sum())
            weights = resp.mean(0)
            for j in range(K):
                for q, (cc, nn, group) in enumerate(groups):
                    has = group >= 0
                    wt = np.bincount(group[has], weights=resp[has, 1 + j], minlength=cc.size)
                    theta[j, q] = _fit_weighted(cc, nn, wt, theta[j, q])
            if K == 1 and not self.never_solved:
                break  # one M-step is the ML fit
            if abs(ll - ll_old) < self.tol * max(1.0, abs(ll)):
                break
            ll_old = ll
        L = self._class_loglik(N, C, theta) + np.log(np.where(weights > 0, weights, 1e-300))
        if not self.never_solved:
            L[:, 0] = -np.inf
        norm = logsumexp(L, axis=1, keepdims=True)
        return theta, weights, np.exp(L - norm), n_iter, float(norm.sum())

    # ------------------------------------------------------------------ prediction
    def problem_pass_at_k(self, k: int | np.ndarray, config: int = 0) -> np.ndarray:
        """(P, len(k)) posterior E[1 − (1 − p_i)^k | data of problem i] for ``config``."""
        self._check_fitted()
        k = as_k(k)
        c, n = self.C_[:, config][:, None], self.N_[:, config][:, None]
        out = np.zeros((c.shape[0], k.size))
        for j in range(self.alpha_.shape[0]):
            a, b = self.alpha_[j, config], self.beta_[j, config]
            fail = np.exp(betaln(a + c, b + n - c + k[None, :]) - betaln(a + c, b + n - c))
            out += self.resp_[:, 1 + j][:, None] * (1.0 - fail)
        return out

    def posterior_pass_at_k(self, N: np.ndarray, C: np.ndarray, k: int | np.ndarray, config: int = 0) -> np.ndarray:
        """(P', len(k)) posterior pass@k of NEW problems with counts (N, C) under the fitted prior.

        N, C are (P', Q) over the same configurations as the fit (1-d for one config).
        """
        self._check_fitted()
        N = np.asarray(N, dtype=np.int64)
        C = np.asarray(C, dtype=np.int64)
        if N.ndim == 1:
            N, C = N[:, None], C[:, None]
        L = self._class_loglik(N, C, self.theta_) + np.log(np.where(self.weights_ > 0, self.weights_, 1e-300))
        if not self.never_solved:
            L[:, 0] = -np.inf
        resp = np.exp(L - logsumexp(L, axis=1, keepdims=True))
        k = as_k(k)
        c, n = C[:, config][:, None], N[:, config][:, None]
        out = np.zeros((c.shape[0], k.size))
        for j in range(self.alpha_.shape[0]):
            a, b = self.alpha_[j, config], self.beta_[j, config]
            out += resp[:, 1 + j][:, None] * (1.0 - np.exp(betaln(a + c, b + n - c + k[None, :]) - betaln(a + c, b + n - c)))
        return out

    def predict_pass_at_k(self, k: int | np.ndarray, config: int = 0) -> np.ndarray:
        """Expected pass@k of the fitted problems (mean of per-problem posteriors)."""
        return self.problem_pass_at_k(k, config).mean(0)

    def population_pass_at_k(self, k: int | np.ndarray, config: int = 0) -> np.ndarray:
        """pass@k of a new problem from the fitted population: (1−π0)·[1 − B(α, β+k)/B(α, β)]."""
        self._check_fitted()
        k = as_k(k)
        out = np.zeros(k.size)
        for j in range(self.alpha_.shape[0]):
            a, b = self.alpha_[j, config], self.beta_[j, config]
            out += self.weights_[1 + j] * (1.0 - np.exp(betaln(a, b + k) - betaln(a, b)))
        return out

    def ceiling(self, config: int = 0) -> float:
        """pass@∞ of the fitted problems: the expected fraction that is solvable at all."""
        self._check_fitted()
        return float(self.solvable_.mean())

    def sample_p(self, rng: int | np.random.Generator | None = None, size: int | None = None) -> np.ndarray:
        """Posterior draws of per-problem success rates, shape (P, Q) or (size, P, Q).

        The never-solved indicator is drawn once per problem (shared by all configs).
        The planner uses these draws to extrapolate beyond recorded samples.
        """
        self._check_fitted()
        rng = as_rng(rng)
        shape = () if size is None else (int(size),)
        P, Q = self.N_.shape
        u = rng.random(shape + (P,))
        cum = np.cumsum(self.resp_, axis=1)
        cls = (u[..., None] > cum).sum(-1)  # class per problem; 0 = never solved
        cls = np.minimum(cls, self.resp_.shape[1] - 1)
        out = np.zeros(shape + (P, Q))
        for j in range(self.alpha_.shape[0]):
            a = self.alpha_[j][None, :] + self.C_
            b = self.beta_[j][None, :] + self.N_ - self.C_
            draw = rng.beta(np.broadcast_to(a, shape + (P, Q)), np.broadcast_to(b, shape + (P, Q)))
            out = np.where((cls == 1 + j)[..., None], draw, out)
        return out

    def params(self, config: int = 0) -> dict:
        """Fitted parameters of one configuration, for reports."""
        self._check_fitted()
        out = {"pi0": self.pi0_}
        for j in range(self.alpha_.shape[0]):
            sfx = "" if self.alpha_.shape[0] == 1 else f"_{j + 1}"
            out[f"alpha{sfx}"] = float(self.alpha_[j, config])
            out[f"beta{sfx}"] = float(self.beta_[j, config])
            if self.alpha_.shape[0] > 1:
                out[f"weight{sfx}"] = float(self.weights_[1 + j])
        return out
