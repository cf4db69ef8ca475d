"""Numerical helpers of the stopping rules: lookup tables over integer answer counts.

Kept apart from the rule definitions because they are about computing special
functions fast and accurately, not about when to stop.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

import numpy as np
from scipy import special


def pairwise(fn: Any, v1: np.ndarray, v2: np.ndarray) -> np.ndarray:
    """``fn(v1, v2)`` through a lookup table over the integer counts.

    Replay evaluates rules on millions of (v1, v2) pairs drawn from a few
    thousand distinct ones; special functions on the small table are far cheaper.
    """
    if v1.ndim == 0 or v1.size < 4096:
        return fn(v1, v2)
    size = int(max(v1.max(), v2.max())) + 1
    a, b = np.meshgrid(np.arange(size, dtype=np.float64), np.arange(size, dtype=np.float64), indexing="ij")
    return fn(a, b)[v1.astype(np.int64), v2.astype(np.int64)]


def xlogx(c: Any) -> Any:
    c = np.asarray(c, dtype=np.float64)
    return np.where(c > 0, c * np.log(np.maximum(c, 1.0)), 0.0)


_NODES = 400  # Gauss–Legendre nodes: the mode probability to < 1e-9 for up to 256 samples


@lru_cache(maxsize=None)
def _legendre(q: int) -> tuple[np.ndarray, np.ndarray]:
    x, w = special.roots_legendre(q)
    return (x + 1) / 2, w / 2


def mode_probability(counts: tuple[int, ...], unseen: float) -> float:
    """P(the first most-voted answer has the largest share) under Best-of-∞'s posterior.

    Best-of-∞ (Komiyama et al., ``calculate_bayes_factor``): the shares of the m seen
    answers and of one bucket for answers not seen yet are Dirichlet(c_1 + 1, …,
    c_m + 1, unseen + 1) — the bucket counts as ``unseen`` pseudo-votes. With Dirichlet
    shares as normalised independent gammas G_i ~ Gamma(a_i), the probability that
    component j is the largest is ∫ f_{a_j}(x) Π_{i≠j} F_{a_i}(x) dx (f, F the gamma
    density and CDF), one smooth 1-d integral over ALL components, computed by
    Gauss–Legendre quadrature on x = hi·u³ (dense near 0, where F_{a<1}-like factors rise).
    """
    if not counts:
        return 0.0
    a = np.array(sorted(counts, reverse=True), dtype=np.float64) + 1.0
    a1 = a[0]
    hi = a1 + 14 * math.sqrt(a1) + 40
    u, w = _legendre(_NODES)
    x, dx = hi * u**3, 3 * hi * u**2
    log_pdf = (a1 - 1) * np.log(x) - x - special.gammaln(a1)
    others = np.append(a[1:], 1.0 + unseen)
    values, mult = np.unique(others, return_counts=True)
    log_cdf = (mult[:, None] * np.log(np.maximum(special.gammainc(values[:, None], x[None, :]), 1e-300))).sum(0)
    return float(np.clip((w * dx * np.exp(log_pdf + log_cdf)).sum(), 0.0, 1.0))


_BF_CACHE: dict[tuple[float, tuple[int, ...]], float] = {}


def bayes_factor(counts: tuple[int, ...], unseen: float) -> float:
    """Best-of-∞'s Bayes factor (m + 1)·P/(1 − P) for the sorted answer counts (m answers seen).

    The m + 1 counts the unseen bucket as a component; a single seen answer competes
    with the bucket only. Cached per (unseen, counts): replay meets few distinct count vectors.
    """
    key = (float(unseen), counts)
    bf = _BF_CACHE.get(key)
    if bf is None:
        p = mode_probability(counts, unseen)
        bf = (len(counts) + 1) * p / max(1.0 - p, 1e-300) if counts else 0.0
        _BF_CACHE[key] = bf
    return bf
