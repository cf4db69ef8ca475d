"""Numerical helpers of the stopping rules: lookup tables over integer answer counts.

Kept apart from the rule definitions because they are about computing special
functions fast and accurately, not about when to stop.
"""

from __future__ import annotations

from functools import cache
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


def msprt_log_ratio(v1: np.ndarray, v2: np.ndarray, c: float) -> np.ndarray:
    """log P(votes | H1) / P(votes | H0) of the mixture SPRT (ConSol's ``MsprtConfidenceModel``).

    H0: the leader's share among the top two is ½. H1: it is drawn from Beta(c, c) cut
    to (½, 1), so P(data | H1) = B(v1 + c, v2 + c)·I_½(v2 + c, v1 + c) / [B(c, c)·I_½(c, c)]
    (the upper tail of a beta is the lower tail with the parameters swapped, kept
    accurate when it is tiny). c = 1 is a uniform prior; ConSol's default is 10⁶.
    """
    h1 = (special.betaln(v1 + c, v2 + c) + np.log(special.betainc(v2 + c, v1 + c, 0.5))
          - special.betaln(c, c) - np.log(special.betainc(c, c, 0.5)))
    return h1 - (v1 + v2) * np.log(0.5)


_NODES = 128  # Gauss–Legendre nodes: the mode probability to ~1e-12 for counts below 30, 1e-3 at 250


@cache
def _legendre(q: int) -> tuple[np.ndarray, np.ndarray]:
    x, w = special.roots_legendre(q)
    return (x + 1) / 2, w / 2


def mode_probabilities(signatures: list[tuple[int, ...]], unseen: float) -> np.ndarray:
    """P(the first most-voted answer has the largest share) under Best-of-∞'s posterior,
    for each sorted count vector.

    Best-of-∞ (Komiyama et al., ``calculate_bayes_factor``): the shares of the m seen
    answers and of one bucket for answers not seen yet are Dirichlet(c_1 + 1, …,
    c_m + 1, unseen + 1) — the bucket counts as ``unseen`` pseudo-votes. With Dirichlet
    shares as normalised independent gammas G_i ~ Gamma(a_i), the probability that
    component j is the largest is ∫ f_{a_j}(x) Π_{i≠j} F_{a_i}(x) dx (f, F the gamma
    density and CDF): one smooth 1-d integral over ALL components, by Gauss–Legendre
    quadrature on x = hi·u³ (dense near 0, where the bucket's CDF rises like x^1.3).
    Vectorised over the vectors, in chunks that bound memory.
    """
    out = np.zeros(len(signatures))
    by_width: dict[int, list[int]] = {}
    for i, sg in enumerate(signatures):  # equal lengths together: no padding work
        by_width.setdefault(len(sg), []).append(i)
    for width, rows in by_width.items():
        step = max(1, 4_000_000 // ((width + 1) * _NODES))
        for start in range(0, len(rows), step):
            part = rows[start:start + step]
            out[part] = _mode_probabilities_of([signatures[i] for i in part], width, unseen)
    return out


def _mode_probabilities_of(chunk: list[tuple[int, ...]], width: int, unseen: float) -> np.ndarray:
    """:func:`mode_probabilities` of count vectors that all have ``width`` answers."""
    if width == 0:
        return np.zeros(len(chunk))  # no answer yet: no mode
    u, w = _legendre(_NODES)
    a = np.array(chunk, dtype=np.float64) + 1.0  # (S, width), sorted: the leader first
    a1 = a[:, 0]
    rest = np.column_stack([a[:, 1:], np.full(len(chunk), 1.0 + unseen)])  # the others and the unseen bucket
    hi = a1 + 14 * np.sqrt(a1) + 40
    x = hi[:, None] * u[None, :] ** 3  # (S, G)
    log_pdf = (a1[:, None] - 1) * np.log(x) - x - special.gammaln(a1)[:, None]
    log_cdf = np.log(np.maximum(special.gammainc(rest[:, :, None], x[:, None, :]), 1e-300)).sum(1)
    dx = 3 * hi[:, None] * u[None, :] ** 2
    return np.clip((w[None, :] * dx * np.exp(log_pdf + log_cdf)).sum(1), 0.0, 1.0)


def mode_probability(counts: tuple[int, ...], unseen: float) -> float:
    """:func:`mode_probabilities` of one sorted count vector."""
    return float(mode_probabilities([tuple(counts)], unseen)[0])


_BF_CACHE: dict[tuple[float, tuple[int, ...]], float] = {}


def bayes_factors(signatures: tuple[tuple[int, ...], ...], unseen: float) -> np.ndarray:
    """Best-of-∞'s Bayes factor (m + 1)·P/(1 − P) of each sorted count vector (m answers seen).

    The m + 1 counts the unseen bucket as a component; a single seen answer competes
    with the bucket only; no answer gives 0. Cached per (unseen, counts): replay meets
    the same few thousand count vectors again and again.
    """
    u = float(unseen)
    todo = [sg for sg in dict.fromkeys(signatures) if (u, sg) not in _BF_CACHE]
    for sg, p in zip(todo, mode_probabilities(todo, u)):
        _BF_CACHE[(u, sg)] = (len(sg) + 1) * p / max(1.0 - p, 1e-300) if sg else 0.0
    return np.array([_BF_CACHE[(u, sg)] for sg in signatures])


def bayes_factor(counts: tuple[int, ...], unseen: float) -> float:
    """:func:`bayes_factors` of one sorted count vector."""
    return float(bayes_factors((tuple(counts),), unseen)[0])
