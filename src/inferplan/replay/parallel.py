"""Replay of a parallel round: launch k samples at once and read them as they finish.

On a batched engine the k samples of one round decode together, one token per step
each, so they finish in order of length, and the round's wall clock is the length of
the last sample it waits for. Read in that finish order, one stopping rule covers the
length-aware policies:

* majority@k waits for all k (``fixed:k``);
* short-m@k ("Don't Overthink it", Hassid et al. 2025) stops when the first m have
  finished and votes among them (``fixed:m``); First Finish Search is m = 1;
* any adaptive rule (e.g. Adaptive-Consistency's ``beta:θ``) stops as soon as the
  answers finished so far satisfy it.

Stopping at the j-th finisher (length L_j) cancels the samples still running, each of
which has generated L_j tokens by then: the round costs Σ_i min(len_i, L_j) tokens
(each sample's cost scaled by the share it generated) and L_j tokens of latency.
Samples of equal length finish in random order.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from inferplan.errors import InputError
from inferplan.policy.aggregate import Aggregation
from inferplan.policy.stopping import StoppingRule
from inferplan.replay.traces import Dense, Outcome, Trace, draw, stop_steps, tally_trace


@dataclass(frozen=True)
class ParallelTrace:
    """A :class:`Trace` in finish order, with the wall clock (tokens) at each finisher."""

    trace: Trace
    latency: np.ndarray  # (rows, k) length of the j-th sample to finish


@dataclass(frozen=True)
class ParallelOutcome(Outcome):
    """Per-problem means of a parallel policy's replay; ``latency`` in tokens of wall clock."""

    latency: np.ndarray = None  # type: ignore[assignment]


def parallel_trace(dense: Dense, mix: np.ndarray, k: int, agg: Aggregation, *, reps: int = 16,
                   seed: int = 0) -> ParallelTrace:
    """Replay ``reps`` random rounds of ``k`` parallel samples per problem, read in finish order."""
    if k < 1:
        raise InputError(f"a parallel round needs at least 1 sample, got {k}")
    rng = np.random.default_rng(seed)
    d = draw(dense, mix, k, reps, rng)
    if np.isnan(d.tokens[d.valid]).any():
        raise InputError("profile lacks completion token counts; finish order needs every sample's length")
    length = np.where(d.valid, d.tokens, np.inf)
    order = np.lexsort((rng.random(length.shape), length), axis=1)  # by length, ties at random
    d = replace(d, **{f: np.take_along_axis(getattr(d, f), order, 1)
                      for f in ("valid", "answer", "correct", "cost", "score", "tokens", "conf")})
    finish = np.where(d.valid, d.tokens, 0.0)
    finish = np.maximum.accumulate(finish, axis=1)  # padding keeps the last real finish time
    # Sample i has generated min(len_i, L_j) tokens when the j-th finisher stops the round:
    # the finished ones their whole cost, the rest L_j / len_i of it.
    rate = np.where(d.valid, d.cost / np.maximum(np.nan_to_num(d.tokens), 1e-12), 0.0)
    later = np.cumsum(rate[:, ::-1], axis=1)[:, ::-1] - rate  # Σ over samples after j
    cum = np.cumsum(d.cost, axis=1) + finish * later + dense.overhead[d.problem][:, None]
    return ParallelTrace(tally_trace(dense, d, cum, agg, reps, rng), finish)


def evaluate_parallel(pt: ParallelTrace, rule: StoppingRule) -> ParallelOutcome:
    """Replay ``rule`` on the finishers: per-problem accuracy, cost, finishers read, latency."""
    tr = pt.trace
    stop = stop_steps(tr, rule)
    r = np.arange(len(stop))

    def mean(x: np.ndarray) -> np.ndarray:
        return x.reshape(tr.n_problems, tr.reps).mean(axis=1)

    return ParallelOutcome(mean(tr.score[r, stop]), mean(tr.cumcost[r, stop]), mean(stop + 1.0),
                           latency=mean(pt.latency[r, stop]))
