"""Predicted pass@k curves of the curve families, alone or averaged, with intervals.

``fit_pass_curves`` fits one family (the difficulty model's per-problem posteriors, or
the power law) and refits it on problem resamples for its interval;
``averaged_pass_curves`` averages families with the shares the model selection's
cross-validation stacked (``Selection.weights``). ``fit`` reports the average.
"""

from __future__ import annotations

import copy
from typing import Callable

import numpy as np

from inferplan.fitting.model_select import make_difficulty, powerlaw_fit
from inferplan.stats.intervals import bootstrap_indices


def curve_grid(k_max: int, points: int = 24) -> np.ndarray:
    """Geometric k grid from 1 to k_max (integers, unique) for drawing fitted curves."""
    return np.unique(np.geomspace(1, max(k_max, 2), points).astype(np.int64))


def saturation_k(curve: Callable[[np.ndarray], np.ndarray], threshold: float, k_max: int = 1_000_000) -> int | None:
    """Smallest k with curve(k + 1) − curve(k) < threshold (gains assumed to shrink with k)."""
    grid = np.unique(np.geomspace(1, k_max, 200).astype(np.int64))
    gain = curve(grid + 1) - curve(grid)
    below = np.flatnonzero(gain < threshold)
    if below.size == 0:
        return None
    hi = int(grid[below[0]])
    lo = int(grid[below[0] - 1]) if below[0] > 0 else 1
    if lo == hi:
        return hi
    ks = np.arange(lo, hi + 1)
    g = curve(ks + 1) - curve(ks)
    return int(ks[np.argmax(g < threshold)])


def fit_pass_curves(family: str, N: np.ndarray, C: np.ndarray, at: np.ndarray, level: float, seed: int,
                     n_boot_fit: int, threshold: float, grid: np.ndarray) -> list[dict]:
    """Per config: predicted pass@k at ``at``, refit-bootstrap intervals, params, ceiling, saturation."""
    Q = N.shape[1]
    tail = 100 * (1 - level) / 2
    if family == "power-law":
        out = []
        for q in range(Q):
            has = N[:, q] > 0
            model = powerlaw_fit(N[has, q], C[has, q])
            idx = bootstrap_indices(int(has.sum()), n_boot_fit, seed)
            draws = np.stack([powerlaw_fit(N[has, q][i], C[has, q][i]).predict_pass_at_k(at) for i in idx])
            out.append(dict(pred=model.predict_pass_at_k(at), low=np.percentile(draws, tail, 0),
                            high=np.percentile(draws, 100 - tail, 0), params=model.params(), ceiling=model.ceiling(),
                            saturation=saturation_k(model.predict_pass_at_k, threshold),
                            grid=model.predict_pass_at_k(grid), curve=model.predict_pass_at_k))
        return out
    model = make_difficulty(family, seed).fit(N, C)
    # One refit per problem resample serves every configuration (they share problems).
    boot = copy.deepcopy(model)  # refits start from the full-data fit (fast, same optimum basin)
    boot.set_params(warm_start=True)
    draws = []
    for i in bootstrap_indices(N.shape[0], n_boot_fit, seed):
        boot.fit(N[i], C[i])
        draws.append([boot.predict_pass_at_k(at, q) for q in range(Q)])
    draws = np.array(draws)  # (B, Q, len(at))
    out = []
    for q in range(Q):
        has = N[:, q] > 0

        def curve(k: np.ndarray, q: int = q, has: np.ndarray = has) -> np.ndarray:
            return model.problem_pass_at_k(k, q)[has].mean(0)

        low, high = np.percentile(draws[:, q], tail, 0), np.percentile(draws[:, q], 100 - tail, 0)
        # Model uncertainty: the interval spans every averaged model and the power law too.
        others = [member.problem_pass_at_k(at, q)[has].mean(0) for member in getattr(model, "members_", ())]
        others.append(powerlaw_fit(N[has, q], C[has, q]).predict_pass_at_k(at))
        low, high = np.minimum(low, np.min(others, 0)), np.maximum(high, np.max(others, 0))
        out.append(dict(pred=curve(at), low=low, high=high,
                        params=model.params(q), ceiling=float(model.solvable_[has].mean()),
                        saturation=saturation_k(curve, threshold), grid=curve(grid), curve=curve))
    return out


def averaged_pass_curves(weights: dict[str, float], N: np.ndarray, C: np.ndarray, at: np.ndarray, level: float,
                         seed: int, n_boot_fit: int, threshold: float, grid: np.ndarray) -> list[dict]:
    """``fit_pass_curves`` of each weighted family, averaged (see ``Selection.weights``).

    The interval averages the families' bounds with the same shares: each family's own
    interval already carries its refit uncertainty, and the difficulty model's spans the
    power law's prediction too, so model uncertainty stays in; the union of both
    intervals was needlessly wide where one family got a small share (OSCA: 0.98 of
    nominal-90% intervals held the truth). Params carry each family's share and its own
    parameters."""
    parts = {f: fit_pass_curves(f, N, C, at, level, seed, n_boot_fit, threshold, grid)
             for f, w in weights.items() if w > 0}
    if len(parts) == 1:
        return next(iter(parts.values()))
    out = []
    for q in range(N.shape[1]):
        fits = {f: parts[f][q] for f in parts}

        def mean(key: str, fits: dict = fits) -> np.ndarray:
            return sum(weights[f] * np.asarray(fit[key], dtype=np.float64) for f, fit in fits.items())

        def curve(k: np.ndarray, fits: dict = fits) -> np.ndarray:
            return sum(weights[f] * fit["curve"](k) for f, fit in fits.items())

        params = {f"share.{f}": weights[f] for f in fits}
        for f, fit in fits.items():
            params.update({f"{'plaw' if f == 'power-law' else 'bb'}.{k}": v for k, v in fit["params"].items()})
        out.append(dict(pred=mean("pred"), low=mean("low"), high=mean("high"), params=params,
                        ceiling=float(mean("ceiling")), saturation=saturation_k(curve, threshold),
                        grid=mean("grid"), curve=curve))
    return out
