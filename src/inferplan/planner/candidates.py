"""Candidate plans and their replay on a split: the planner's search space.

A candidate is a configuration mix × max-token cap (one replay :class:`Trace`
each) × stopping rule × max samples (cheap array operations on that trace).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from inferplan.policy.aggregate import Aggregation
from inferplan.policy.stopping import StoppingRule, make_rule
from inferplan.policy.termination import Termination
from inferplan.replay.budgets import at_budget, capped
from inferplan.replay.traces import Dense, Trace, evaluate, first_stop, trace

# ConSol's own defaults (``confidence_models.py``): a Wald SPRT with p1 = 0.5001 whose bounds
# amount to "the leader is 3 votes ahead", and a mixture SPRT with a Beta(10⁶, 10⁶) prior.
CONSOL_SPRT = (0.05, 0.5001, 1 - 0.05 - 0.000024)
CONSOL_MSPRT = (0.05, 1e6, 1 - 0.05 - 0.00006)

# Rule parameters the planner tries (Adaptive-Consistency, ESC, Best-of-∞, ConSol, …): a
# number is the rule's first parameter, a tuple all of them.
RULE_GRID: dict[str, tuple[float | tuple[float, ...], ...]] = {
    "beta": (0.5, 0.6, 0.7, 0.8, 0.9, 0.925, 0.95, 0.97, 0.99),
    "esc": (2, 3, 4, 5),
    "bayes": (1, 2, 3, 5, 10, 30, 100),
    "ratio": (0.6, 0.7, 0.8, 0.9),
    "entropy": (0.2, 0.4, 0.6),
    "msprt": (0.2, 0.1, 0.05, CONSOL_MSPRT),
    "sprt": (0.1, 0.05, CONSOL_SPRT),
}
FIXED_N = (1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 24, 32, 40, 48, 64, 80, 96, 128, 192, 256)
MAXES = (2, 4, 8, 16, 32, 64, 128, 256)
MAX_STEPS = 256  # longest replayed sequence (the recorded samples usually end sooner)


@dataclass(frozen=True)
class Mix:
    """Shares of the draws per configuration (sums to 1)."""

    shares: tuple[float, ...]
    name: str

    def as_dict(self, config_names: tuple[str, ...]) -> dict[str, float]:
        return {c: round(float(s), 6) for c, s in zip(config_names, self.shares) if s > 0}


@dataclass(frozen=True)
class Candidate:
    """One plan candidate and its mean replayed accuracy / cost / samples per query."""

    mix: Mix
    cap: int | None
    rule: StoppingRule
    accuracy: float
    cost: float
    samples: float
    extrapolated: bool = False  # predicted by the fitted curves, not replayed (N > recorded)
    term: Termination | None = None  # online low-confidence termination
    forced: bool = False  # at ``cap`` a sample is made to answer (a thinking budget), not cut
    per_problem: np.ndarray | None = field(default=None, compare=False, repr=False)  # accuracy per problem

    @property
    def policy(self) -> str:
        """The rule as a user reads it (a latency candidate adds its parallel round)."""
        return self.rule.spec + (f" +cut-lowconf {self.term.spec}" if self.term else "") \
            + (f" +think≤{self.cap}" if self.forced else "")

    @property
    def waits_for_all(self) -> bool:
        """Reads every sample it draws (fixed N is then a fixed-N baseline)."""
        return True


def sequence_length(dense: Dense, mix: Mix) -> int:
    """Draws possible before the first configuration of the mix runs out on ANY problem.

    Replaying further would stop the problems with fewer samples early and charge them
    less than the rule would spend (issue 17, point 5); larger N are left to the fitted
    curves (``Extrapolator``), and the plan says so. An adaptive profile's short problems
    are continued instead (``Dense.extend``), so there the largest count is the limit.
    """
    w = np.asarray(mix.shares)
    have = dense.reach(np.arange(len(w)))
    used = w > 0
    return int(max(1, min(MAX_STEPS, np.floor((have[used] / w[used]).min()))))


def unequal_counts_note(dense: Dense, shares: tuple[float, ...]) -> tuple[str, ...]:
    """Say how unequal sample counts were replayed: only as far as every problem's samples reach,
    or (adaptive profile) continued by a Pólya urn."""
    used = np.asarray(shares) > 0
    low, mid = dense.count[:, used].min(), np.median(dense.count[:, used].min(axis=1))
    if low == mid:
        return ()
    if dense.extend:
        short = int((dense.count[:, used] < dense.count[:, used].max(axis=0)).any(axis=1).sum())
        return (f"adaptive profile: {short} problems hold fewer samples than the replay draws (as few as "
                f"{int(low)}, median {mid:g}); each is continued by repeating its own samples at random (a Pólya urn), "
                "as the profile stopped sampling them when their answers had settled",)
    return (f"problems have unequal sample counts (as few as {int(low)}, median {mid:g}): rules were "
            f"replayed only as far as every problem's samples reach; larger N come from the fitted curves",)


@dataclass
class TraceCache:
    """Replay traces per (mix, cap) on one split, built once each."""

    dense: Dense
    agg: Aggregation
    reps: int
    seed: int
    _cache: dict = field(default_factory=dict)

    def get(self, mix: Mix, cap: int | None, term: Termination | None = None, forced: bool = False) -> Trace:
        key = (mix.shares, cap, term, forced)
        if key not in self._cache:
            d = at_budget(self.dense, cap) if forced else capped(self.dense, cap)
            self._cache[key] = trace(d, np.asarray(mix.shares), sequence_length(d, mix), self.agg,
                                     reps=self.reps, seed=self.seed, term=term)
        return self._cache[key]


# DeepConf-online's consensus stop: tried only where the profile recorded confidences.
WEIGHTED_GRID = (0.6, 0.7, 0.8, 0.9, 0.95)
# DeepConf-online's low-confidence cut (warm-up samples per query, share kept above the floor):
# tried only where the profile recorded each sample's confidence lows.
TERM_GRID = (Termination(4, 0.9), Termination(4, 0.5))


def rules_for(agg: Aggregation, length: int, weighted: bool = False) -> list[tuple[StoppingRule, list[int]]]:
    """(rule with the largest max guard, max guards to try) pairs for a trace of ``length``;
    ``weighted``: the samples have confidences, so the confidence-weighted stop is tried too."""
    maxes = sorted({m for m in MAXES if m < length} | {length})
    out: list[tuple[StoppingRule, list[int]]] = []
    for n in FIXED_N:
        if n <= length:
            out.append((make_rule("fixed", (n,)), [n]))
    if agg.first_pass:  # first pass stops the query; answer-agreement rules do not apply
        return out
    for name, values in RULE_GRID.items():
        for v in values:
            out.append((make_rule(name, v if isinstance(v, tuple) else (v,), max_samples=length), maxes))
    if weighted:
        out += [(make_rule("wshare", (v,), max_samples=length), maxes) for v in WEIGHTED_GRID]
    return out


def candidates_on(tr: Trace, mix: Mix, cap: int | None, agg: Aggregation, weighted: bool = False,
                  term: Termination | None = None, forced: bool = False) -> list[Candidate]:
    """Every rule × max guard on one trace (the rule's statistic is computed once)."""
    out = []
    for base, maxes in rules_for(agg, tr.score.shape[1], weighted):
        first = first_stop(tr, base)
        for mx in maxes:
            rule = base if base.name == "fixed" else make_rule(base.name, base.params, max_samples=mx)
            o = evaluate(tr, rule, first)
            out.append(Candidate(mix, cap, rule, float(o.accuracy.mean()), float(o.cost.mean()),
                                 float(o.samples.mean()), term=term, forced=forced, per_problem=o.accuracy))
    return out


def pareto(cands: list[Candidate], limit: int = 10) -> list[Candidate]:
    """Accuracy-vs-cost frontier (cheapest first), thinned to at most ``limit`` points."""
    front: list[Candidate] = []
    for c in sorted(cands, key=lambda c: (c.cost, -c.accuracy)):
        if not front or c.accuracy > front[-1].accuracy + 1e-9:
            front.append(c)
    if len(front) <= limit:
        return front
    keep = np.unique(np.round(np.linspace(0, len(front) - 1, limit)).astype(int))
    return [front[i] for i in keep]
