"""The search space of plans across models: each model's own search on a shared split, and every
two-stage cascade between them (policy/cascade.py), combined per problem (replay/cascade.py).

Stage 1 tries fixed N with the MoT cascade's accept shares and a few Adaptive-Consistency
(beta) rules; stage 2 every fixed N and beta rule the single-model planner tries. Each stage's
per-problem outcomes are computed once per (model, configuration) and every pair is combined
as array arithmetic, so the full product is searched at any budget.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from inferplan.planner.candidates import FIXED_N, MAXES, RULE_GRID, Candidate, Mix
from inferplan.planner.curve_predictions import DEFAULT_FAMILY
from inferplan.planner.search import search_space
from inferplan.planner.selection import TIE_TOLERANCE
from inferplan.policy.cascade import Cascade, Stage
from inferplan.policy.stopping import StoppingRule, make_rule
from inferplan.profiles.profile import Profile
from inferplan.replay.cascade import StageOutcome, cascade_grid, cascade_outcome, stage_outcome
from inferplan.replay.cost import CostModel
from inferplan.replay.traces import Outcome, densify, evaluate

ACCEPT_SHARES = (0.5, 0.6, 2 / 3, 0.75, 0.8, 0.9, 1.0)  # the MoT cascade sweeps 0.4–1.0
FIRST_FIXED = (1, 2, 3, 4, 5, 6, 8, 10, 12, 16)
FIRST_BETA = ((0.8, 4), (0.8, 8), (0.9, 8), (0.9, 16), (0.95, 16), (0.95, 32))


@dataclass(frozen=True)
class ModelProfile:
    """One model of a multi-model plan: its name, its profile and what its samples cost."""

    name: str
    profile: Profile
    cost: CostModel


def _stage1_rules(length: int) -> list[tuple[StoppingRule, float]]:
    out = [(make_rule("fixed", (n,)), s) for n in FIRST_FIXED if n <= length for s in ACCEPT_SHARES]
    out += [(make_rule("beta", (t,), max_samples=m), s) for t, m in FIRST_BETA if m <= length
            for s in (0.5, 0.75)]
    return out


def _stage2_rules(length: int) -> list[StoppingRule]:
    out = [make_rule("fixed", (n,)) for n in FIXED_N if n <= length]
    maxes = sorted({m for m in MAXES if m < length} | {length})
    return out + [make_rule("beta", (t,), max_samples=m) for t in RULE_GRID["beta"] for m in maxes]


@dataclass
class ModelSearch:
    """One model's single-model search on the shared split."""

    model: ModelProfile
    search: object  # planner.search._SequentialSearch
    cands: list[Candidate]

    def single_mix(self, c: int) -> Mix:
        table = self.model.profile.table
        return Mix(tuple(float(i == c) for i in range(len(table.configs))), table.configs[c].name)

    def configs(self) -> list[int]:
        count = self.search.train.count
        return [c for c in range(count.shape[1]) if count[:, c].min() > 0]


def model_search(m, ids_train, ids_test, agg, reps, seed, budget, unit) -> ModelSearch:
    table = m.profile.table
    where = {p: i for i, p in enumerate(table.problems)}
    train = densify(table, m.cost, np.array([where[p] for p in ids_train]))
    test = densify(table, m.cost, np.array([where[p] for p in ids_test]))
    # Thinking budgets are not planned across models yet: each model plans with plain caps.
    search, cands = search_space(table, train, test, agg, reps, seed, DEFAULT_FAMILY, budget, unit, 1,
                                 thinking_budgets=False)
    return ModelSearch(m, search, cands)


def _stage2_table(ms: ModelSearch, config: int, traces) -> tuple[list[StoppingRule], np.ndarray, np.ndarray]:
    tr = traces.get(ms.single_mix(config), None)
    rules = _stage2_rules(tr.score.shape[1])
    outs = [evaluate(tr, r) for r in rules]
    return rules, np.stack([o.accuracy for o in outs]), np.stack([o.cost for o in outs])


@dataclass
class CascadeStages:
    """Every stage-1 candidate's per-problem outcome and every stage-2 candidate's, on the
    training problems, per (model, configuration): computed once, combined at any budget."""

    first: dict  # (model, config) -> (rules with accept shares, [StageOutcome])
    second: dict  # (model, config) -> (rules, accuracy (S2, P), cost (S2, P))
    unit_cost: dict  # (model, config) -> mean cost of one sample on the training problems

    @classmethod
    def of(cls, searches: list[ModelSearch]) -> CascadeStages:
        first, second, unit = {}, {}, {}
        for i, s in enumerate(searches):
            for c in s.configs():
                tr = s.search.train_traces.get(s.single_mix(c), None)
                rules = _stage1_rules(tr.score.shape[1])
                first[i, c] = (rules, [stage_outcome(tr, r, share) for r, share in rules])
                second[i, c] = _stage2_table(s, c, s.search.train_traces)
                unit[i, c] = float(s.search.unit_cost[c])
        return cls(first, second, unit)


def best_cascade(searches: list[ModelSearch], stages: CascadeStages, budget: float | None, target: float | None):
    """The best two-stage cascade on the training problems, where it is in ``stages``, and its
    training accuracy and cost (or None when none fits)."""
    best, best_key = None, None
    for (i, ca), (firsts, outs) in stages.first.items():
        for (j, cb), (rules, acc2, cost2) in stages.second.items():
            if j == i or stages.unit_cost[i, ca] > stages.unit_cost[j, cb]:
                continue  # a cascade escalates to a model no cheaper than the first
            acc, cost = cascade_grid(outs, acc2, cost2)
            if target is None:
                ok = cost <= budget * (1 + 1e-9)
                if not ok.any():
                    continue
                top = np.where(ok, acc, -np.inf).max()
                tie = ok & (acc >= top - TIE_TOLERANCE)
                k = np.unravel_index(np.argmin(np.where(tie, cost, np.inf)), acc.shape)
                key = (top, -cost[k])
            else:
                ok = acc >= target
                if not ok.any():
                    continue
                k = np.unravel_index(np.argmin(np.where(ok, cost, np.inf)), acc.shape)
                key = (-cost[k], acc[k])
            if best_key is None or key > best_key:
                r1, s1 = firsts[k[0]]
                a, b = searches[i], searches[j]
                best_key = key
                best = (Cascade((Stage(a.model.name, a.search.table.configs[ca].name, r1, s1),
                                 Stage(b.model.name, b.search.table.configs[cb].name, rules[k[1]]))),
                        (i, ca, j, cb), float(acc[k]), float(cost[k]))
    return best


def replay_cascade(searches: list[ModelSearch], where: tuple[int, int, int, int], cascade: Cascade,
                    split: str) -> tuple[Outcome, StageOutcome]:
    i, ca, j, cb = where
    a, b = searches[i], searches[j]
    first_traces = a.search.train_traces if split == "train" else a.search.test_traces
    last_traces = b.search.train_traces if split == "train" else b.search.test_traces
    s1, s2 = cascade.stages
    first = stage_outcome(first_traces.get(a.single_mix(ca), None), s1.rule, s1.accept_share)
    last = evaluate(last_traces.get(b.single_mix(cb), None), s2.rule)
    return cascade_outcome(first, last), first
