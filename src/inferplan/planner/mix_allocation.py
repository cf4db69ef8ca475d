"""Allocating samples across configurations (temperatures, prompts, models).

Pass@k (a verifier picks any correct sample): OSCA's objective
``mean_j [1 − Π_c (1 − p̂_cj)^{k_c}]`` has diminishing returns, so adding one
sample at a time where the marginal gain per unit cost is largest is within
(1 − 1/e) of optimal; a pass of single-sample moves (OSCA's hill climbing)
then polishes the greedy solution. Majority vote has no such structure: a mix is
scored by Monte Carlo over multinomial draws from each configuration's
per-problem answer distribution (Dirichlet-smoothed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from inferplan.errors import InputError
from inferplan.replay.traces import Dense
from inferplan.stats.estimators import pass_at_k


@dataclass(frozen=True)
class Allocation:
    """Samples per configuration and the objective value the allocator saw."""

    counts: tuple[int, ...]
    objective: float
    cost: float


def recorded_slots(dense: Dense) -> np.ndarray:
    """(P, C, N) the slot holds a recorded sample (the arrays are padded past ``count``)."""
    return np.arange(dense.answer.shape[2])[None, None, :] < dense.count[:, :, None]


def success_rates(dense: Dense) -> tuple[np.ndarray, np.ndarray]:
    """Per (problem, config) recorded samples n and correct samples c."""
    return dense.count.astype(np.float64), (dense.correct & recorded_slots(dense)).sum(axis=2).astype(np.float64)


def coverage_binomial(k: np.ndarray, n: np.ndarray, c: np.ndarray) -> float:
    """OSCA objective with p̂ = c/n (sampling with replacement; extrapolates past n)."""
    with np.errstate(divide="ignore"):
        log_miss = np.where(n > 0, np.log1p(-np.minimum(c / np.maximum(n, 1), 1 - 1e-15)), 0.0)
    return float(np.mean(1.0 - np.exp((log_miss * k[None, :]).sum(axis=1))))


def coverage_exact(k: np.ndarray, n: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Per-problem expected pass@k of the mix, drawing k_c of the n recorded samples
    without replacement (unbiased; Chen et al.'s estimator per configuration)."""
    k = np.broadcast_to(np.asarray(k, dtype=np.float64), n.shape)
    if (k > n).any():
        raise InputError("mix asks for more samples of a configuration than were recorded")
    return 1.0 - (1.0 - pass_at_k(n, c, k)).prod(axis=1)


def greedy(objective: Callable[[np.ndarray], float], unit_cost: np.ndarray, budget: float,
           *, limit: np.ndarray | None = None, polish: bool = True) -> Allocation:
    """Greedy marginal gain per unit cost, then single-sample moves while they help."""
    C = len(unit_cost)
    limit = np.full(C, np.inf) if limit is None else limit
    k = np.zeros(C)
    value = objective(k)
    while True:
        best, best_rate = -1, 0.0
        for c in range(C):
            if k[c] + 1 > limit[c] or (k * unit_cost).sum() + unit_cost[c] > budget + 1e-9:
                continue
            k[c] += 1
            rate = (objective(k) - value) / unit_cost[c]
            k[c] -= 1
            if best < 0 or rate > best_rate:
                best, best_rate = c, rate
        if best < 0:
            break
        k[best] += 1
        value = objective(k)
    while polish:
        improved = False
        for src in np.flatnonzero(k > 0):
            for dst in range(C):
                if dst == src or k[dst] + 1 > limit[dst]:
                    continue
                trial = k.copy()
                trial[src] -= 1
                trial[dst] += 1
                if (trial * unit_cost).sum() > budget + 1e-9:
                    continue
                v = objective(trial)
                if v > value + 1e-12:
                    k, value, improved = trial, v, True
                    break
            if improved:
                break
        polish = improved
    return Allocation(tuple(int(x) for x in k), float(value), float((k * unit_cost).sum()))


def allocate_pass_at_k(dense: Dense, budget: float, unit_cost: np.ndarray | None = None) -> Allocation:
    """OSCA-style mix for pass@k under a per-query budget (default: unit cost per sample)."""
    n, c = success_rates(dense)
    cost = np.ones(n.shape[1]) if unit_cost is None else unit_cost
    limit = n.min(axis=0)
    return greedy(lambda k: coverage_binomial(k, n, c), cost, budget, limit=limit)


def answer_distributions(dense: Dense, smoothing: float = 0.5) -> np.ndarray:
    """Per (problem, config) answer probabilities; the last column is 'no answer'.

    Dirichlet smoothing spreads ``smoothing`` pseudo-counts over the answers the
    problem produced anywhere, so a configuration is not certain never to say them.
    """
    P, C, N = dense.answer.shape
    K = dense.answer_correct.shape[1]
    valid = np.arange(N)[None, None, :] < dense.count[:, :, None]
    col = np.where(dense.answer >= 0, dense.answer, K)
    counts = np.zeros((P, C, K + 1))
    pi, ci, _ = np.nonzero(valid)
    np.add.at(counts, (pi, ci, col[valid]), 1.0)
    seen = counts.sum(axis=1, keepdims=True) > 0
    prior = smoothing * seen / np.maximum(seen.sum(axis=2, keepdims=True), 1)
    probs = counts + prior
    return probs / np.maximum(probs.sum(axis=2, keepdims=True), 1e-12)


def vote_accuracy(dist: np.ndarray, answer_correct: np.ndarray, k: np.ndarray, *, sims: int = 200,
                  seed: int = 0) -> float:
    """Monte Carlo maj@k of a mix: k_c multinomial draws from each configuration's answers."""
    rng = np.random.default_rng(seed)
    P, C, K1 = dist.shape
    total = np.zeros((sims, P, K1))
    for c in range(C):
        if k[c] > 0:
            total += rng.multinomial(int(k[c]), dist[:, c, :], size=(sims, P))
    total[..., -1] = 0  # abstentions never win
    voted = total.max(axis=2) > 0  # all samples abstained: the query abstains
    total += rng.random(total.shape) * 0.5  # uniform tie-break among equal counts
    winner = total.argmax(axis=2)
    right = np.take_along_axis(np.broadcast_to(np.c_[answer_correct, np.zeros(P, bool)], (sims, P, K1)),
                               winner[..., None], axis=2)[..., 0] & voted
    return float(right.mean())


def allocate_vote(dense: Dense, budget: float, unit_cost: np.ndarray, *, sims: int = 200, seed: int = 0) -> Allocation:
    """A temperature mix for majority vote under a per-query budget (greedy on Monte Carlo maj@k)."""
    dist = answer_distributions(dense)
    return greedy(lambda k: vote_accuracy(dist, dense.answer_correct, k, sims=sims, seed=seed),
                  unit_cost, budget, limit=dense.count.min(axis=0).astype(np.float64), polish=False)
