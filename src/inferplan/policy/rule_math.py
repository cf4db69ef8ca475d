"""Numerical helpers of the stopping rules: lookup tables over integer answer counts.

Kept apart from the rule definitions because they are about computing special
functions fast and accurately, not about when to stop.
"""

from __future__ import annotations

import math
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


def p_mode_row(v1: int, au: float, grid: int = 1500) -> np.ndarray:
    """P(G1 > G2 and G1 > Gu) for G1 ~ Gamma(v1+1), G2 ~ Gamma(v2+1) (v2 = 0..v1), Gu ~ Gamma(au).

    This is the Dirichlet posterior probability that the leader beats the
    runner-up and the unseen bucket; other seen answers only lower it further,
    so it is the Best-of-∞ mode probability with the weaker answers dropped.
    A 1-D integral over the leader's gamma variable on a fixed grid (exact to
    ~1e-5 here; the integrand is smooth and vanishes at both ends).
    """
    a1 = v1 + 1.0
    if v1 >= 24:
        # Gamma(0.3) beating Gamma(25+) has probability < 1e-8: only the runner-up matters,
        # and P(G1 > G2) has the closed form I_0.5(v2+1, v1+1).
        return special.betainc(np.arange(1.0, v1 + 2.0), a1, 0.5)
    # x = hi·u³ packs grid points near 0, where Gamma(au < 1)'s CDF rises like x^au.
    hi = a1 + 14 * math.sqrt(a1) + 30
    u = np.linspace(0.0, 1.0, grid)[1:]
    x, dx = hi * u**3, 3 * hi * u**2
    pdf = np.exp((a1 - 1) * np.log(x) - x - special.gammaln(a1))
    a2 = np.arange(1.0, v1 + 2.0)[:, None]
    vals = pdf * dx * special.gammainc(a2, x) * special.gammainc(au, x)
    return np.clip(np.trapezoid(np.c_[np.zeros(len(a2)), vals], np.r_[0.0, u], axis=1), 0.0, 1.0)


_P_TABLE: dict[float, np.ndarray] = {}


def p_mode_table(unseen: float, size: int) -> np.ndarray:
    """Table of mode probabilities over leader/runner-up counts 0..size-1 (cached)."""
    tab = _P_TABLE.get(unseen)
    if tab is None or tab.shape[0] < size:
        old = tab
        size = max(size, 16)
        tab = np.zeros((size, size))
        start = 0 if old is None else old.shape[0]
        if old is not None:
            tab[:start, :start] = old
        for v1 in range(start, size):
            tab[v1, : v1 + 1] = p_mode_row(v1, unseen)
        _P_TABLE[unseen] = tab
    return tab
