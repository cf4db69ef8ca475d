"""maj@k's self-check: how far a profile's own samples let the majority model move from maj@n.

Random halves of each problem's samples predict the observed maj@n two ways — the model from
the half, and the half's own maj@(n/2) — and the share of the model's move that the halves
confirm bounds how far :class:`~inferplan.fitting.curves.majority.MajorityCurve` moves; the
check's error beyond its own noise widens the interval.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtri

HALVES = 8  # random halvings behind the self-check
BOOT = 200  # bootstrap resamples of problems behind the self-check's standard error
Z = 3.0  # the model keeps the prior share unless the halves' upper bound (share + Z × se) is lower


def confirmed_share(target: np.ndarray, flat: np.ndarray, model: np.ndarray,
                    rng: np.random.Generator, n_boot: int = BOOT) -> tuple[float, float]:
    """The share of the model's move that the halves confirm, and its standard error.

    ``target`` (P,) is each problem's observed maj@n, ``flat`` and ``model`` (H, P) the
    halves' own maj@(n/2) and the model's maj@n from them. The share is the least-squares
    w of the mean observed maj@n on the halves' mean maj@(n/2) plus w × the model's mean
    move (unclipped: below 0 the model moved the wrong way, above 1 too little); its
    standard error is a bootstrap over problems. Where the model does not move there is
    nothing to confirm: (0, inf)."""

    def ls(T, F, M):  # T (...), F and M (..., H)
        move = M - F
        den = (move ** 2).sum(-1)
        return np.where(den > 1e-18, ((T[..., None] - F) * move).sum(-1) / np.where(den > 1e-18, den, 1.0), np.nan)

    w = float(ls(target.mean(), flat.mean(1), model.mean(1)))
    if not np.isfinite(w):
        return 0.0, float("inf")
    idx = rng.integers(0, target.size, (n_boot, target.size))
    boot = ls(target[idx].mean(1), flat[:, idx].mean(-1).T, model[:, idx].mean(-1).T)
    boot = boot[np.isfinite(boot)]
    return w, float(boot.std()) if boot.size > 1 else float("inf")


def check_errors(target: np.ndarray, flat: np.ndarray, model: np.ndarray, weight: float) -> tuple[float, float]:
    """(error, bias) of the self-check at ``weight``: the root mean square error of the mean
    prediction over the halves, and what of it exceeds the check's own noise (its target
    is one draw of each problem's vote, variance b(1 − b) for a predicted b)."""
    each = (1 - weight) * flat + weight * model
    error = float(np.sqrt(np.mean((each.mean(1) - target.mean()) ** 2)))
    noise = float(np.sqrt(np.mean((each * (1 - each)).sum(1)))) / target.size
    return error, float(np.sqrt(max(0.0, error ** 2 - noise ** 2)))


def spread_half_width(per: np.ndarray, bias: np.ndarray | float, mc_se: float, level: float) -> tuple[np.ndarray, np.ndarray]:
    """(mean, half-width) per column of the per-problem predictions ``per`` (P, k): the
    outcome spread (variance ≤ m(1 − m) per problem), the check's bias and the Monte Carlo
    error, never below half a problem's worth (1 / 2P)."""
    P = per.shape[0]
    spread = np.sqrt((per * (1 - per)).sum(0) / P ** 2 + np.asarray(bias) ** 2) + mc_se
    return per.mean(0), ndtri(0.5 + level / 2) * np.maximum(spread, 0.5 / P)
