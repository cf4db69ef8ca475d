"""Replay a cascade across models on recorded samples of the same problems.

The models' samples are independent given the problem, so a cascade's expected outcome per
problem is exact from each stage's own replay: the first stage's kept score, plus the share
of its orders that escalate times what the next stage scores on that problem (and the same
for cost). No joint replay is needed, and every stage-2 candidate combines with every
stage-1 candidate as array arithmetic — the planner searches thousands of cascades cheaply.
A third stage nests the same way: two non-final stages chain into one (:func:`chain`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from inferplan.policy.stopping import StoppingRule
from inferplan.replay.traces import Outcome, Trace, first_stop, stop_steps


@dataclass(frozen=True)
class StageOutcome:
    """Per-problem means over the replayed orders of one non-final stage."""

    kept: np.ndarray  # (P,) score where the stage's answer stands (0 where it escalates)
    escalate: np.ndarray  # (P,) share of orders that escalate
    cost: np.ndarray  # (P,) cost the stage spends, whether or not it escalates
    samples: np.ndarray  # (P,)


def stage_outcome(tr: Trace, rule: StoppingRule, accept_share: float | None) -> StageOutcome:
    """The stage replayed: it stops where ``rule`` stops, and its answer stands when the rule
    ended the query by itself (not its max guard, not the end of the data) and the leader
    holds at least ``accept_share`` of the samples drawn (see policy/cascade.answer_stands) —
    or, on a verifier's trace (``accept_share`` None), when the verifier accepted a sample."""
    first = first_stop(tr, rule)
    stop = stop_steps(tr, rule, first)
    r = np.arange(len(stop))
    if accept_share is None:
        if not tr.first_pass:
            raise ValueError("a stage without an accept share stands on a verifier; this trace votes")
        accept = tr.accepted[r, stop]
    else:
        n = tr.tally.n[r, stop].astype(np.float64)
        v1 = tr.tally.v1[r, stop].astype(np.float64)
        accept = (first == stop) & (v1 >= accept_share * n - 1e-9) & (n > 0)
    shape = (tr.n_problems, tr.reps)
    return StageOutcome((tr.score[r, stop] * accept).reshape(shape).mean(axis=1),
                        (~accept).reshape(shape).mean(axis=1),
                        tr.cumcost[r, stop].reshape(shape).mean(axis=1),
                        (stop + 1.0).reshape(shape).mean(axis=1))


def cascade_outcome(first: StageOutcome, last: Outcome) -> Outcome:
    """Per-problem expectation of a two-stage cascade (:func:`chain_outcome` for more stages)."""
    return Outcome(first.kept + first.escalate * last.accuracy, first.cost + first.escalate * last.cost,
                   first.samples + first.escalate * last.samples)


def chain(first: StageOutcome, then: StageOutcome) -> StageOutcome:
    """Two non-final stages as one: ``then`` runs only where ``first`` escalates, and what it
    escalates goes on. Exact per problem, as the stages' models draw independently given the
    problem; the arrays broadcast, so ``chain`` of (S1, 1, P) and (1, S2, P) is every pair."""
    return StageOutcome(first.kept + first.escalate * then.kept, first.escalate * then.escalate,
                        first.cost + first.escalate * then.cost, first.samples + first.escalate * then.samples)


def chain_outcome(stages: list[StageOutcome], last: Outcome) -> Outcome:
    """Per-problem expectation of a cascade of any length: its non-final stages, then the last."""
    head = stages[0]
    for then in stages[1:]:
        head = chain(head, then)
    return cascade_outcome(head, last)


def stacked(stages: list[StageOutcome]) -> StageOutcome:
    """Several candidates of one stage as one outcome of (S, P) arrays."""
    return StageOutcome(*(np.stack([getattr(s, f) for s in stages]) for f in ("kept", "escalate", "cost", "samples")))


def every_pair(first: list[StageOutcome], then: list[StageOutcome]) -> StageOutcome:
    """Every (first, then) pair of two non-final stages chained, as (S1 × S2, P) arrays (first-major)."""
    a, b = stacked(first), stacked(then)
    both = chain(StageOutcome(*(x[:, None, :] for x in (a.kept, a.escalate, a.cost, a.samples))),
                 StageOutcome(*(x[None, :, :] for x in (b.kept, b.escalate, b.cost, b.samples))))
    return StageOutcome(*(x.reshape(-1, x.shape[-1]) for x in (both.kept, both.escalate, both.cost, both.samples)))


def cascade_grid(first: StageOutcome | list[StageOutcome], last_acc: np.ndarray,
                 last_cost: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean accuracy and cost over problems of every (stage 1, stage 2) pair at once:
    ``last_acc``/``last_cost`` are (S2, P); ``first`` a list of candidates or their (S1, P)
    :func:`stacked` outcome; the result is (S1, S2)."""
    head = first if isinstance(first, StageOutcome) else stacked(first)
    kept, esc, cost = np.atleast_2d(head.kept), np.atleast_2d(head.escalate), np.atleast_2d(head.cost)
    P = kept.shape[1]
    acc = (kept.sum(1)[:, None] + esc @ last_acc.T) / P
    spend = (cost.sum(1)[:, None] + esc @ last_cost.T) / P
    return acc, spend
