"""Unbiased estimators of accuracy after k samples, from n ≥ k recorded samples.

All three are exact averages over the C(n, k) k-subsets of each problem's recorded
samples (never "the first k"), vectorised over problems:

- :func:`pass_at_k` — coverage: at least one of k samples is correct (Chen et al. 2021).
- :func:`maj_at_k` — the plurality answer of k samples is correct, ties broken uniformly.
- :func:`best_of_k` — the highest-scoring sample of k (e.g. mean token logprob) is correct.

Each returns one value per problem; the curve is their mean. These are the functions
the planner uses for any k ≤ n; beyond n use a fitted curve (``planner.curves``).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy.special import gammaln, roots_legendre, xlog1py, xlogy

__all__ = ["pass_at_k", "maj_at_k", "maj_at_k_problem", "best_of_k"]


def pass_at_k(n: np.ndarray | int, c: np.ndarray | int, k: np.ndarray | int) -> np.ndarray:
    """Per-problem unbiased pass@k, ``1 − C(n−c, k)/C(n, k)`` (Chen et al.); needs k ≤ n.

    ``k`` may be an array broadcast against ``n`` (a mix draws a different k of each
    configuration); pass@0 is 0. The binomial ratio is taken in log-gamma form, so it
    never overflows, for any number of problems at once.
    """
    n = np.asarray(n, dtype=np.int64)
    c = np.asarray(c, dtype=np.int64)
    k = np.asarray(k, dtype=np.int64)
    if np.any(k < 0):
        raise ValueError("k must be ≥ 0")
    if np.any(n < k):
        raise ValueError(f"pass@{int(np.max(k))} needs at least {int(np.max(k))} samples per problem "
                         f"(have {int(np.min(n))})")
    if np.any((c < 0) | (c > n)):
        raise ValueError("correct counts must lie in 0..n")
    wrong = n - c
    with np.errstate(invalid="ignore"):
        log_miss = (gammaln(wrong + 1) - gammaln(np.maximum(wrong - k, 0) + 1) - gammaln(n + 1) + gammaln(n - k + 1))
    # k > n − c: every k-subset holds a correct sample.
    return np.where(k > wrong, 1.0, -np.expm1(np.where(k > wrong, 0.0, log_miss)))


# ---------------------------------------------------------------- majority vote


def _binom_pmf(x: np.ndarray | int, a: int, p: float) -> np.ndarray:
    """Binomial(a, p) pmf at x (0 outside 0..a); scipy.special only (scipy.stats is slow to import)."""
    x = np.asarray(x, dtype=np.float64)
    inside = (x >= 0) & (x <= a)
    xs = np.clip(x, 0, a)
    logp = gammaln(a + 1) - gammaln(xs + 1) - gammaln(a - xs + 1) + xlogy(xs, p) + xlog1py(a - xs, -p)
    return np.where(inside, np.exp(logp), 0.0)


@lru_cache(maxsize=8)
def _legendre01(q: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss–Legendre nodes and weights on [0, 1] (exact for degree ≤ 2q − 1)."""
    x, w = roots_legendre(q)
    return (x + 1) / 2, w / 2


@lru_cache(maxsize=200_000)
def _maj_signature(n: int, k: int, target: int, free: int, others: tuple[int, ...]) -> float:
    """P(answer with ``target`` samples wins the vote of a random k-subset).

    ``others`` are the sample counts of the competing answers, ``free`` the samples
    that cast no vote. Drawing k of n without replacement is the same as independent
    Binomial(a, p = k/n) draws per answer conditioned on their sum being k, so every
    quantity is a probability (no huge binomial coefficients). For each count v of the
    target in the subset, competitors with fewer than v samples can never reach v and
    are pooled with the abstentions; the rest must stay ≤ v, and a tie among e of them
    at v wins with chance 1/(e+1) = ∫₀¹ u^e du, integrated exactly by Gauss–Legendre.
    The polynomial in z (samples drawn) is evaluated at the n+1 roots of unity, so
    products are elementwise and the coefficient of z^k is one inverse-DFT term.
    """
    if target == 0:
        return 0.0
    if k >= n:  # the whole sample: deterministic plurality
        top = max(others, default=0)
        return 0.0 if top > target else 1.0 / (1 + sum(o == target for o in others))
    p = k / n
    v = np.arange(1, min(target, k) + 1)
    pmf_t = _binom_pmf(v, target, p)
    # Target counts with negligible probability contribute < 1e-12 in total: skip them.
    v = v[pmf_t > 1e-15 * pmf_t.max()]
    pmf_t = _binom_pmf(v, target, p)
    vmax = int(v.max())
    jj = np.arange(n + 1)
    roots = np.exp(2j * np.pi * jj / (n + 1))
    z = roots  # evaluation points z_j; z_j^x = roots[(x·j) mod (n+1)] avoids complex powers
    x_all = np.arange(0, vmax + 1)
    zx = roots[np.outer(x_all, jj) % (n + 1)]  # (x, z)
    q = len(others) // 2 + 1
    u, uw = _legendre01(q)
    # G[v, u, z] = pmf_t(v) z^v · (pooled free part) · Π over constrained competitors.
    logfree = np.log(1 - p + p * z)
    g = pmf_t[:, None, None] * zx[v][:, None, :]
    g = np.broadcast_to(g, (v.size, q, n + 1)).copy()
    pooled = np.full(v.size, free, dtype=np.int64)
    counts, mult = np.unique(np.asarray(others, dtype=np.int64), return_counts=True)
    for a, m in zip(counts, mult):
        below = v > a  # this competitor can never reach v: pool it
        pooled[below] += a * m
        if below.all():
            continue
        pmf = _binom_pmf(x_all, a, p)
        pre = np.cumsum(pmf[:, None] * zx, axis=0)  # Σ_{x' ≤ x} pmf z^x'
        prefix = pre[v - 1]  # Σ_{x < v}
        tie = (pmf[v][:, None] * zx[v])[:, None, :]  # pmf(v) z^v
        factor = prefix[:, None, :] + u[None, :, None] * tie
        factor = np.where(below[:, None, None], 1.0, factor)
        g *= factor if m == 1 else factor ** int(m)
    g *= np.exp(pooled[:, None, None] * logfree[None, None, :])
    coef = (g * np.conj(roots[(k * jj) % (n + 1)])[None, None, :]).real.sum(axis=2) / (n + 1)  # (v, u)
    total = float(coef.sum(axis=0) @ uw)
    return min(1.0, max(0.0, total / _binom_pmf(k, n, p)))


def maj_at_k_problem(counts: np.ndarray, correct_mask: np.ndarray, k: int, n: int | None = None) -> float:
    """Exact maj@k of one problem: mean over all k-subsets, uniform tie-break.

    ``counts[j]`` is how many samples gave answer j, ``correct_mask[j]`` whether answer
    j is correct; ``n`` (default ``counts.sum()``) may exceed it by samples that gave
    no answer — they are drawn but cast no vote; a subset with no vote scores 0.
    """
    counts = np.asarray(counts, dtype=np.int64)
    mask = np.asarray(correct_mask, dtype=bool)
    n = int(counts.sum()) if n is None else int(n)
    if k < 1 or k > n:
        raise ValueError(f"maj@{k} needs 1 ≤ k ≤ n = {n}")
    free = n - int(counts.sum())
    total = 0.0
    for j in np.flatnonzero(mask & (counts > 0)):
        rest = list(counts[counts > 0])
        rest.remove(int(counts[j]))
        total += _maj_signature(n, int(k), int(counts[j]), free, tuple(sorted(rest)))
    return total


def maj_at_k(counts: np.ndarray, correct_mask: np.ndarray, k: int, n: np.ndarray | None = None) -> np.ndarray:
    """Per-problem exact maj@k for a padded count matrix (problems × answers).

    ``counts`` is int (P, A), ``correct_mask`` bool (P, A); ``n`` (P,) the number of
    samples per problem (default: row sums — pass it when some samples gave no answer).
    Problems with the same count signature are computed once (cached).
    """
    counts = np.asarray(counts, dtype=np.int64)
    mask = np.asarray(correct_mask, dtype=bool)
    n = counts.sum(axis=1) if n is None else np.asarray(n, dtype=np.int64)
    if counts.shape[0] == 0:
        return np.zeros(0)
    # Problems with the same (n, counts, correct) multiset share one computation: sort
    # each row's answers (correct ones first within a count) and deduplicate rows.
    order = np.lexsort((~mask, -counts), axis=1) if counts.shape[1] else np.zeros_like(counts)
    key = np.column_stack([n, np.take_along_axis(counts, order, 1), np.take_along_axis(mask, order, 1)])
    uniq, inv = np.unique(key, axis=0, return_inverse=True)
    width = counts.shape[1]
    vals = np.array([maj_at_k_problem(row[1:1 + width], row[1 + width:].astype(bool), k, int(row[0])) for row in uniq])
    return vals[inv.ravel()]


# ---------------------------------------------------------------- best-of-k


def best_of_k(score: np.ndarray, correct: np.ndarray, k: int) -> float:
    """Exact best-of-k of one problem: correctness of the top-scoring sample of a k-subset.

    Sorted by score (descending; NaN last), the r-th sample (0-based) is the best of a
    random k-subset with chance C(n−1−r, k−1)/C(n, k). Ties in score are broken
    uniformly, which by symmetry equals giving each tied sample its group's mean
    correctness.
    """
    score = np.where(np.isnan(score), -np.inf, np.asarray(score, dtype=np.float64))
    y = np.asarray(correct, dtype=np.float64)
    n = y.size
    if k < 1 or k > n:
        raise ValueError(f"best-of-{k} needs 1 ≤ k ≤ n = {n}")
    order = np.argsort(-score, kind="stable")
    s, y = score[order], y[order]
    _, inv = np.unique(s, return_inverse=True)
    y = np.bincount(inv, weights=y)[inv] / np.bincount(inv)[inv]
    r = np.arange(n)
    m = n - 1 - r  # samples ranked below r
    ok = m >= k - 1
    logw = np.full(n, -np.inf)
    mm = m[ok]
    logw[ok] = (gammaln(mm + 1) - gammaln(k) - gammaln(mm - k + 2)) - (gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1))
    return float(np.exp(logw) @ y)
