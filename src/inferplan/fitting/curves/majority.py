"""Majority vote beyond the recorded n: exact where data exist, a fitted answer model beyond.

At k ≤ n a problem's maj@k is the exact estimator (the mean over all k-subsets of its
samples, :func:`inferplan.stats.estimators.maj_at_k`). Beyond n the samples a problem
has not drawn yet come from a posterior answer distribution with two parts:

* the correct answer's share p follows the difficulty model that pass@k uses
  (:class:`AveragedDifficulty` fitted on every problem's correct counts), so a problem
  whose correct answer leads 3 of 8 inherits what the other problems say about how
  often such a lead is real;
* the rest is split among wrong answers by a Pitman–Yor process: a seen wrong answer
  with m votes keeps m − d of the wrong mass, new answers share θ + K·d. LLM wrong
  answers are mostly scattered singletons with an occasional attractor, so (d, θ) is
  not one number: each problem has a posterior over a (d, θ) grid whose population
  weights are fitted by marginal likelihood across problems (empirical Bayes, EM on
  the grid).

The model alone still credits the correct answer's lead a little too much (its share
is sharpened by the difficulty prior, the wrong answers' are not), while the exact
maj@n ignores that the lead grows with k. The prediction therefore moves a share w of
the way from a problem's exact maj@n to the model's maj@k, and w is decided per profile
from its own samples (the self-check, ``self_check_``): for ``halves`` random halvings,
each problem's observed maj@n is predicted from half of its samples by the model and
without it (the half's own maj@(n/2)); the share of the model's move that the halves
confirm is the least-squares w there, with a bootstrap-over-problems standard error.
The model keeps the prior share ``prior`` (0.75, the share the Best-of-∞ files chose
before) unless the halves' upper bound (confirmed + ``z`` × se, z = 3) is lower: a model
that the profile's own samples show to be wrong is switched off (w → 0, the prediction
is the observed maj@n). The check's error beyond its own noise (its bias) widens the
interval. ``z`` and ``prior`` were chosen leave-one-model-out on the 21 Best-of-∞ files;
measured in ``benchmarks/bench_majority_selfcheck.py`` and docs/results-majority.md: on
those files the halves carry little per-file signal (the guard rarely fires and costs
about 0.01 of the ratio to the better anchor); it is there for models unlike them.
"""

from __future__ import annotations

import numpy as np
from scipy.special import gammaln, logsumexp

from inferplan.fitting.curves.averaged import AveragedDifficulty
from inferplan.fitting.curves.base import CurveEstimator, as_k, as_rng
from inferplan.fitting.curves.majority_check import HALVES, Z, check_errors, confirmed_share, spread_half_width
from inferplan.stats.estimators import maj_at_k

SHRINK = 0.75  # the prior share of the model's move (and the fixed share of shrink=SHRINK)
DISCOUNTS = (0.0, 0.25, 0.5, 0.75, 0.9)
CONCENTRATIONS = np.geomspace(0.02, 50.0, 24)
STICKS = 16  # new wrong answers tracked individually; the rest is diffuse (never wins)


def _exact_at(counts: np.ndarray, correct: np.ndarray, n: np.ndarray, ks: np.ndarray) -> np.ndarray:
    """Exact maj@k_i of each problem at its own k_i ≤ n_i (0 where k_i is 0)."""
    out = np.zeros(n.size)
    for k in np.unique(ks[ks > 0]):
        rows = ks == k
        out[rows] = maj_at_k(counts[rows], correct[rows], int(k), n[rows])
    return out


def _eppf_grid(wrong: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(d, θ) grid and the (P, G) log marginal likelihood of each problem's wrong-answer partition."""
    grid = np.array([(d, t) for d in DISCOUNTS for t in CONCENTRATIONS])
    m = wrong.sum(1)
    K = (wrong > 0).sum(1)
    i = np.arange(1, wrong.shape[1])[None, :]
    out = np.zeros((wrong.shape[0], grid.shape[0]))
    for g, (d, t) in enumerate(grid):
        tables = np.where(i < K[:, None], np.log(t + i * d), 0.0).sum(1)
        sizes = np.where(wrong > 0, gammaln(np.maximum(wrong, 1) - d) - gammaln(1 - d), 0.0).sum(1)
        out[:, g] = np.where(m > 0, tables - (gammaln(t + m) - gammaln(t + 1)) + sizes, 0.0)
    return grid, out


def _posterior_grid(loglik: np.ndarray, iters: int = 200) -> np.ndarray:
    """Per-problem posterior over the grid, population weights by EM (the grid's NPMLE)."""
    w = np.full(loglik.shape[1], 1.0 / loglik.shape[1])
    for _ in range(iters):
        post = loglik + np.log(w)
        post = np.exp(post - logsumexp(post, 1, keepdims=True))
        w = post.mean(0) + 1e-12
        w /= w.sum()
    post = loglik + np.log(w)
    return np.exp(post - logsumexp(post, 1, keepdims=True))


class MajorityCurve(CurveEstimator):
    """maj@k per problem: exact at k ≤ n, shrunk model prediction beyond (see module doc).

    ``shrink=None`` (default) lets the self-check choose the share per profile
    (``shrink_``, ``self_check_``); a number fixes it and skips the check.
    """

    def __init__(self, shrink: float | None = None, n_draws: int | None = None, max_answers: int = 8,
                 random_state: int | np.random.Generator | None = None, halves: int = HALVES,
                 prior: float = SHRINK, z: float = Z) -> None:
        self.shrink = shrink
        self.n_draws = n_draws
        self.max_answers = max_answers
        self.random_state = random_state
        self.halves = halves
        self.prior = prior
        self.z = z

    def fit(self, answer_counts: np.ndarray, answer_correct: np.ndarray, n: np.ndarray) -> MajorityCurve:
        counts = np.asarray(answer_counts, dtype=np.int64)
        correct = np.asarray(answer_correct, dtype=bool) & (counts > 0)
        n = np.asarray(n, dtype=np.int64)
        if counts.ndim != 2 or counts.shape != correct.shape or n.shape != counts.shape[:1]:
            raise ValueError("answer_counts and answer_correct must be (problems × answers), n (problems,)")
        if np.any(counts.sum(1) > n):
            raise ValueError("n must count every sample, answered or not")
        self.counts_, self.correct_, self.n_ = counts, correct, n
        # Enough posterior draws that the Monte Carlo error of a mean over problems stays
        # near 0.1 point also on 30-problem sets (it shrinks with draws × problems).
        self.draws_ = int(self.n_draws) if self.n_draws else int(np.clip(np.ceil(40_000 / max(n.size, 1)), 128, 4096))
        rng = as_rng(self.random_state)
        self._rng = rng
        self._exact_n = self._exact(n)
        if self.shrink is None:
            self.self_check_ = self._self_check(rng)
            self.shrink_ = self.self_check_["weight"]
        else:
            self.self_check_ = None
            self.shrink_ = float(self.shrink)
        self._build(rng)
        return self

    def _self_check(self, rng: np.random.Generator) -> dict:
        """How far to trust the model on THIS profile (module doc): predict each problem's
        observed maj@n from random halves of its samples, with the model and without it
        (the halves' own maj@(n/2)), and keep of the model's move what the halves confirm."""
        ok = self.n_ >= 2
        H = int(self.halves)
        out = {"weight": 0.0, "prior": self.prior, "halves": 0, "problems": int(ok.sum()), "confirmed": None,
               "confirmed_se": None, "model_error": None, "observed_error": None, "error": None, "bias": None}
        if ok.sum() < 2 or H < 1:
            return out
        counts, correct, n = self.counts_[ok], self.correct_[ok], self.n_[ok]
        half = n // 2
        pool = np.column_stack([counts, n - counts.sum(1)])
        target = self._exact_n[ok]
        flat, model = np.zeros((H, n.size)), np.zeros((H, n.size))
        draws = max(64, self.draws_ // 4)
        for h in range(H):
            sub = np.array([rng.multivariate_hypergeometric(row, int(k)) for row, k in zip(pool, half)])[:, :-1]
            flat[h] = _exact_at(sub, correct, half, half)
            m = type(self)(shrink=1.0, n_draws=draws, max_answers=self.max_answers, random_state=rng, halves=0)
            model[h] = m.fit(sub, correct, half)._simulated(n)
        self._check = (target, flat, model)
        confirmed, se = confirmed_share(target, flat, model, rng)
        weight = float(np.clip(min(self.prior, confirmed + self.z * se), 0.0, 1.0))
        T, F, M = target.mean(), flat.mean(1), model.mean(1)
        error, bias = check_errors(target, flat, model, weight)
        moved = bool(np.isfinite(se))  # None where the model did not move on the halves (nothing to confirm; JSON has no inf)
        out.update(weight=weight, halves=H, confirmed=confirmed if moved else None, confirmed_se=se if moved else None,
                   model_error=float(np.abs(M - T).mean()), observed_error=float(np.abs(F - T).mean()),
                   error=error, bias=bias)
        return out

    def _build(self, rng: np.random.Generator) -> None:
        """Posterior draws of each problem's answer distribution, ``probs_`` (P, D, columns):
        the correct answers seen, the top wrong ones, a non-voting bucket, new wrong answers."""
        counts, correct, n = self.counts_, self.correct_, self.n_
        right = -np.sort(-np.where(correct, counts, 0), axis=1)[:, :max(1, int(correct.sum(1).max()))]
        wrong = -np.sort(-np.where(correct, 0, counts), axis=1)
        p_right = AveragedDifficulty(n_starts=1, random_state=rng).fit(n, right.sum(1)).sample_p(rng, self.draws_)
        p_right = p_right[..., 0].T  # (P, D)
        rest = (1.0 - p_right)[..., None] * self._wrong_shares(wrong, n - counts.sum(1), rng)
        probs = np.concatenate([p_right[..., None] * self._right_shares(right, rng), rest], -1).clip(min=0.0)
        self.probs_ = probs / probs.sum(-1, keepdims=True)
        P, top = counts.shape[0], min(int(self.max_answers), wrong.shape[1])
        self._observed = np.concatenate([right, wrong[:, :top], np.zeros((P, 1 + STICKS), np.int64)], 1)
        self._is_right = np.arange(self._observed.shape[1]) < right.shape[1]
        self._voting = np.arange(self._observed.shape[1]) != right.shape[1] + top  # the quiet bucket
        winner = np.where(self._voting, self.probs_, -np.inf).argmax(-1)
        self.problem_ceiling_ = (1 - self.shrink_) * self._exact_n + self.shrink_ * self._is_right[winner].mean(1)
        self.ceiling_ = float(self.problem_ceiling_.mean())

    def _right_shares(self, right: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """(P, D, R) split of the correct mass among the correct answers seen, Dirichlet(counts);
        a problem that saw none gets one new correct answer."""
        D = self.draws_
        g = rng.standard_gamma(np.broadcast_to(np.maximum(right, 1)[:, None, :].astype(float), (right.shape[0], D, right.shape[1])))
        g = np.where(right[:, None, :] > 0, g, 0.0)
        g[..., 0] = np.where(right[:, :1] > 0, g[..., 0], 1.0)
        return g / g.sum(-1, keepdims=True)

    def _wrong_shares(self, wrong: np.ndarray, abstained: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """(P, D, top + 1 + STICKS) Pitman–Yor split of the non-correct mass: the ``max_answers``
        most frequent wrong answers, a non-voting bucket (abstentions, rarer answers, the
        diffuse tail of new ones) and STICKS new answers by stick-breaking."""
        P, D, A = wrong.shape[0], self.draws_, int(self.max_answers)
        grid, loglik = _eppf_grid(wrong)
        post = np.cumsum(_posterior_grid(loglik), 1)
        pick = (rng.random((P, D, 1)) > post[:, None, :]).sum(-1).clip(max=grid.shape[0] - 1)
        d, theta = grid[pick, 0], grid[pick, 1]
        K = (wrong > 0).sum(1)[:, None]
        top, low = wrong[:, :A], wrong[:, A:]
        quiet = abstained[:, None] + low.sum(1)[:, None] - d * (low > 0).sum(1)[:, None]
        parts = np.concatenate([np.where(top[:, None, :] > 0, top[:, None, :] - d[..., None], 0.0),
                                quiet[..., None], (theta + K * d)[..., None]], -1)
        g = rng.standard_gamma(np.where(parts > 0, parts, 1.0)) * (parts > 0)
        g[..., -1] = np.maximum(g[..., -1], 1e-300)  # a tiny θ's gamma draw can underflow to 0
        share = g / g.sum(-1, keepdims=True)
        j = np.arange(1, STICKS + 1)
        v = rng.beta(np.broadcast_to(1.0 - d[..., None], (P, D, STICKS)), (theta + K * d)[..., None] + j * d[..., None])
        sticks = v * np.concatenate([np.ones((P, D, 1)), np.cumprod(1 - v, -1)[..., :-1]], -1)
        new = share[..., -1:]
        diffuse = new * (1.0 - sticks.sum(-1, keepdims=True)).clip(min=0.0)
        return np.concatenate([share[..., :top.shape[1]], share[..., -2:-1] + diffuse, new * sticks], -1)

    def _exact(self, ks: np.ndarray) -> np.ndarray:
        """Exact maj@k_i of each problem at its own k_i ≤ n_i (0 where a problem has no samples)."""
        return _exact_at(self.counts_, self.correct_, self.n_, ks)

    def _simulated(self, k: int | np.ndarray) -> np.ndarray:
        """Model maj@k per problem (k one number or one per problem): the recorded samples
        plus k − n posterior draws."""
        extra = np.maximum(np.asarray(k) - self.n_, 0)[:, None]
        add = self._rng.multinomial(extra, self.probs_)
        votes = self._observed[:, None, :] + add
        score = np.where(self._voting & (votes > 0), votes + self._rng.random(votes.shape) * 0.5, -1.0)
        win = score.argmax(-1)
        return (self._is_right[win] & (score.max(-1) > 0)).mean(1)

    def problem_maj_at_k(self, k: int | np.ndarray) -> np.ndarray:
        """(P, len(k)) maj@k per problem: exact where k ≤ n, shrunk model beyond."""
        self._check_fitted()
        cols = []
        for kk in as_k(k).astype(np.int64):
            inside = kk <= self.n_
            col = self._exact(np.where(inside, kk, 0))
            if not inside.all():
                beyond = (1 - self.shrink_) * self._exact_n + self.shrink_ * self._simulated(int(kk))
                col = np.where(inside, col, beyond)
            cols.append(col)
        return np.column_stack(cols)

    def predict_maj_at_k(self, k: int | np.ndarray) -> np.ndarray:
        """Expected maj@k of the fitted problems."""
        return self.problem_maj_at_k(k).mean(0)

    def predict_with_interval(self, k: int | np.ndarray, level: float = 0.9) -> tuple[np.ndarray, ...]:
        """(prediction, low, high) per k, all from one simulation, for the maj@k of these problems.

        The prediction ± the normal quantile of the spread it leaves: each problem's
        outcome is uncertain with variance at most m(1 − m) for a predicted m, plus the
        Monte Carlo error, plus — beyond n — the bias the self-check found (its error in
        excess of its own noise), and never less than half a problem's worth (1 / 2P), so
        that a profile of unanimous votes still gets an interval. On the 21 Best-of-∞
        files (8 → 80 samples) it covers 94–95% at the 90% level
        (``benchmarks/bench_majority_selfcheck.py``).
        """
        ks = as_k(k)
        per = self.problem_maj_at_k(ks)
        bias = (self.self_check_ or {}).get("bias") or 0.0
        mean, half = spread_half_width(per, np.where(ks > self.n_.min(), bias, 0.0), self.mc_se_, level)
        return mean, np.clip(mean - half, 0, 1), np.clip(mean + half, 0, 1)

    def interval(self, k: int | np.ndarray, level: float = 0.9) -> tuple[np.ndarray, np.ndarray]:
        """(low, high) per k of :meth:`predict_with_interval`."""
        return self.predict_with_interval(k, level)[1:]

    @property
    def mc_se_(self) -> float:
        """Upper bound on the Monte Carlo standard error of a predicted maj@k."""
        return float(self.shrink_ * 0.5 / np.sqrt(self.draws_ * self.n_.size))

    def params(self) -> dict:
        out = {"shrink": self.shrink_, "ceiling": self.ceiling_, "draws": self.draws_}
        if self.self_check_ is not None:
            out["self_check"] = dict(self.self_check_)
        return out
