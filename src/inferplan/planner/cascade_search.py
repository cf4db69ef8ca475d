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
from inferplan.replay.cascade import StageOutcome, cascade_grid, chain_outcome, stage_outcome
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


def _stage1_rules(length: int, verifier: bool = False) -> list[tuple[StoppingRule, float | None]]:
    if verifier:  # up to N samples, stopping at the first the verifier accepts; it stands if one was
        return [(make_rule("fixed", (n,)), None) for n in FIRST_FIXED if n <= length]
    out = [(make_rule("fixed", (n,)), s) for n in FIRST_FIXED if n <= length for s in ACCEPT_SHARES]
    out += [(make_rule("beta", (t,), max_samples=m), s) for t, m in FIRST_BETA if m <= length
            for s in (0.5, 0.75)]
    return out


def _stage2_rules(length: int, verifier: bool = False) -> list[StoppingRule]:
    out = [make_rule("fixed", (n,)) for n in FIXED_N if n <= length]
    if verifier:  # as a verifier's one-model plans: fixed N, stopping at the first accepted sample
        return out
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
    rules = _stage2_rules(tr.score.shape[1], tr.first_pass)
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
    def of(cls, searches: list[ModelSearch], split: str = "train") -> CascadeStages:
        """The stages on the training problems (what the planner searches), or on the held-out ones
        (``split="test"``: what an oracle picking on the held-out problems searches)."""
        first, second, unit = {}, {}, {}
        for i, s in enumerate(searches):
            traces = s.search.train_traces if split == "train" else s.search.test_traces
            for c in s.configs():
                tr = traces.get(s.single_mix(c), None)
                rules = _stage1_rules(tr.score.shape[1], tr.first_pass)
                first[i, c] = (rules, [stage_outcome(tr, r, share) for r, share in rules])
                second[i, c] = _stage2_table(s, c, traces)
                unit[i, c] = float(s.search.unit_cost[c])
        return cls(first, second, unit)


def pick(acc: np.ndarray, cost: np.ndarray, budget: float | None, target: float | None):
    """The best cell of a grid of cascades' training accuracy and cost: (its ranking key, its index),
    or None where none fits. Under a budget the most accurate (the cheapest of near-ties); at a
    target the cheapest that reaches it."""
    if target is None:
        ok = cost <= budget * (1 + 1e-9)
        if not ok.any():
            return None
        top = np.where(ok, acc, -np.inf).max()
        tie = ok & (acc >= top - TIE_TOLERANCE)
        k = np.unravel_index(np.argmin(np.where(tie, cost, np.inf)), acc.shape)
        return (float(top), -float(cost[k])), k
    ok = acc >= target
    if not ok.any():
        return None
    k = np.unravel_index(np.argmin(np.where(ok, cost, np.inf)), acc.shape)
    return (-float(cost[k]), float(acc[k])), k


def ranked_cascades(searches: list[ModelSearch], stages: CascadeStages, budget: float | None, target: float | None):
    """The best two-stage cascade of every ordered pair of (model, configuration) on the training
    problems, best first: (key, Cascade, where — its stages' (model, configuration) —, accuracy, cost)."""
    found = []
    for (i, ca), (firsts, outs) in stages.first.items():
        for (j, cb), (rules, acc2, cost2) in stages.second.items():
            if j == i or stages.unit_cost[i, ca] > stages.unit_cost[j, cb]:
                continue  # a cascade escalates to a model no cheaper than the first
            acc, cost = cascade_grid(outs, acc2, cost2)
            best = pick(acc, cost, budget, target)
            if best is None:
                continue
            key, k = best
            r1, s1 = firsts[k[0]]
            a, b = searches[i], searches[j]
            cascade = Cascade((Stage.before_last(a.model.name, a.search.table.configs[ca].name, r1, s1),
                               Stage(b.model.name, b.search.table.configs[cb].name, rules[k[1]])))
            found.append((key, cascade, ((i, ca), (j, cb)), float(acc[k]), float(cost[k])))
    return sorted(found, key=lambda f: f[0], reverse=True)


def best_cascade(searches: list[ModelSearch], stages: CascadeStages, budget: float | None, target: float | None):
    """The best two-stage cascade on the training problems, where it is in ``stages``, and its
    training accuracy and cost (or None when none fits)."""
    ranked = ranked_cascades(searches, stages, budget, target)
    return ranked[0][1:] if ranked else None


def replay_cascade(searches: list[ModelSearch], where: tuple[tuple[int, int], ...], cascade: Cascade,
                   split: str) -> tuple[Outcome, list[StageOutcome]]:
    """The cascade replayed on one split's problems: per-problem outcome, and each non-final stage's."""
    heads, last = [], None
    for (m, c), stage in zip(where, cascade.stages):
        s = searches[m]
        tr = (s.search.train_traces if split == "train" else s.search.test_traces).get(s.single_mix(c), None)
        if stage.last:
            last = evaluate(tr, stage.rule)
        else:
            heads.append(stage_outcome(tr, stage.rule, stage.accept_share))
    return chain_outcome(heads, last), heads


def reaches(heads: list[StageOutcome]) -> tuple[float, ...]:
    """The share of queries reaching each stage after the first: the product of the escalation
    shares before it, per problem (the stages draw independently given the problem), averaged."""
    reach, out = np.ones_like(heads[0].escalate), []
    for h in heads:
        reach = reach * h.escalate
        out.append(float(reach.mean()))
    return tuple(out)
