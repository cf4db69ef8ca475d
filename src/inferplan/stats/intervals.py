"""Intervals that hold at 20–300 problems: Beta posteriors and bootstraps over problems.

CLT error bars under-cover on small calibration sets (Bowyer et al.), and the samples
of one problem are correlated, so curves and differences are bootstrapped over
PROBLEMS (resampling whole problems), and a single accuracy from independent trials
gets a Jeffreys Beta(x + ½, m − x + ½) posterior interval. Every function is seeded.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from scipy.special import betaincinv

__all__ = ["beta_interval", "bootstrap_indices", "bootstrap_mean", "bootstrap_diff", "bootstrap_stat",
           "widen_to_binomial"]


def beta_interval(successes: float | np.ndarray, trials: float | np.ndarray, level: float = 0.9) -> tuple[np.ndarray, np.ndarray]:
    """Equal-tailed Jeffreys interval for a binomial proportion (0 and 1 at the edges)."""
    x = np.asarray(successes, dtype=np.float64)
    m = np.asarray(trials, dtype=np.float64)
    tail = (1 - level) / 2
    low = np.where(x > 0, betaincinv(x + 0.5, m - x + 0.5, tail), 0.0)
    high = np.where(x < m, betaincinv(x + 0.5, m - x + 0.5, 1 - tail), 1.0)
    return low, high


def bootstrap_indices(n_problems: int, n_boot: int, random_state: int | np.random.Generator | None) -> np.ndarray:
    """(n_boot, n_problems) resampled problem indices."""
    rng = random_state if isinstance(random_state, np.random.Generator) else np.random.default_rng(random_state)
    return rng.integers(0, n_problems, size=(int(n_boot), int(n_problems)))


def _percentile(draws: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    tail = 100 * (1 - level) / 2
    return np.percentile(draws, tail, axis=0), np.percentile(draws, 100 - tail, axis=0)


def bootstrap_mean(values: np.ndarray, level: float = 0.9, n_boot: int = 2000,
                   random_state: int | np.random.Generator | None = 0) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval of the mean over problems of per-problem ``values`` (P,) or (P, K)."""
    v = np.asarray(values, dtype=np.float64)
    flat = v.reshape(v.shape[0], -1)
    idx = bootstrap_indices(v.shape[0], n_boot, random_state)
    # Mean via counts of each problem in each resample: one matrix product.
    weights = np.zeros((idx.shape[0], v.shape[0]))
    np.add.at(weights, (np.arange(idx.shape[0])[:, None], idx), 1.0)
    draws = weights @ flat / v.shape[0]
    low, high = _percentile(draws, level)
    return low.reshape(v.shape[1:]), high.reshape(v.shape[1:])


def widen_to_binomial(low: np.ndarray | float, high: np.ndarray | float, mean: np.ndarray | float,
                      trials: int, level: float) -> tuple[np.ndarray, np.ndarray]:
    """An accuracy interval widened to at least the Jeffreys interval of ``mean·trials`` successes
    in ``trials`` (problems, or recorded samples), so that it never collapses to a point.

    A percentile bootstrap over problems that all succeed (or all fail) resamples the
    same values every time: [100%, 100%] from 8 problems, as if certain. The binomial
    interval is what that many trials can say at the edge. Away from the edges it is a
    little wider than the bootstrap where per-problem values are fractions, not 0 or 1
    (0.2–0.5 points on 500 problems): the price of never claiming certainty
    (``tests/test_intervals.py`` counts the coverage on simulated profiles).
    """
    jl, jh = beta_interval(np.clip(np.asarray(mean, dtype=np.float64), 0.0, 1.0) * trials, trials, level)
    return np.minimum(low, jl), np.maximum(high, jh)


def bootstrap_diff(values_a: np.ndarray, values_b: np.ndarray, level: float = 0.9, n_boot: int = 2000,
                   random_state: int | np.random.Generator | None = 0) -> tuple[float, np.ndarray, np.ndarray]:
    """Mean difference a − b over the same problems, with a paired bootstrap interval."""
    a = np.asarray(values_a, dtype=np.float64)
    b = np.asarray(values_b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError("paired values must have the same shape (same problems)")
    low, high = bootstrap_mean(a - b, level, n_boot, random_state)
    return (a - b).mean(0), low, high


def bootstrap_stat(stat: Callable[[np.ndarray], np.ndarray], n_problems: int, level: float = 0.9,
                   n_boot: int = 200, random_state: int | np.random.Generator | None = 0) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval of any statistic of a problem resample (e.g. a curve refit).

    ``stat(idx)`` gets an index array of resampled problems and returns an array.
    """
    idx = bootstrap_indices(n_problems, n_boot, random_state)
    draws = np.stack([np.asarray(stat(i), dtype=np.float64) for i in idx])
    return _percentile(draws, level)
