"""What replaying the recorded samples of the evaluated problems says, beside the fresh run:
fixed-N at the realised cost (the baseline ``evaluate`` must beat) and what the plan promises
per query (samples and completion tokens, with 95% intervals over problems)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from inferplan.planner.candidates import Mix, TraceCache
from inferplan.planner.plan_file import Plan
from inferplan.policy.stopping import make_rule
from inferplan.profiles.store import SampleTable
from inferplan.replay.cost import CostModel
from inferplan.replay.parallel import evaluate_parallel, parallel_trace
from inferplan.replay.traces import densify, estimate, evaluate
from inferplan.stats.estimate import LEVEL, Estimate
from inferplan.stats.intervals import bootstrap_mean


@dataclass(frozen=True)
class Promised:
    """Samples and completion tokens per query that replaying the plan on the recorded samples of
    the evaluated problems promises, with 95% intervals over problems (None: nothing recorded)."""

    samples: Estimate  # no interval where the plan extrapolates beyond the recorded samples
    completion_tokens: Estimate | None


@dataclass(frozen=True)
class FixedBaseline:
    """Fixed-N majority at the realised cost, replayed on recorded samples of the same problems."""

    name: str
    accuracy: float
    cost_per_query: float
    samples: float


def _recorded(table: SampleTable, plan: Plan, problem_ids: list[str]) -> tuple[np.ndarray, Mix]:
    """The table's indices of those of ``problem_ids`` it records, and the plan's mix over its configurations."""
    ids = {p: i for i, p in enumerate(table.problems)}
    problems = np.array(sorted(ids[p] for p in problem_ids if p in ids))
    return problems, Mix(tuple(float(plan.mix.get(c.name, 0.0)) for c in table.configs), "plan")


def fixed_n_at_cost(table: SampleTable, plan: Plan, cost: CostModel, problem_ids: list[str],
                    target_cost: float, *, seed: int = 0) -> FixedBaseline | None:
    """Fixed-N (majority, or the plan's aggregation) on the recorded samples of these problems, at ``target_cost``."""
    problems, mix = _recorded(table, plan, problem_ids)
    if len(problems) == 0:
        return None
    dense = densify(table, cost, problems)
    points = []
    if cost.unit == "latency":  # fixed N launched as one parallel round: its latency is its longest sample
        for n in range(1, int(dense.count[:, np.asarray(mix.shares) > 0].min()) + 1):
            o = evaluate_parallel(parallel_trace(dense, np.asarray(mix.shares), n, plan.aggregation, reps=20,
                                                 seed=seed), make_rule("fixed", (n,)))
            points.append((float(o.latency.mean()), float(o.accuracy.mean()), float(n)))
    else:
        tr = TraceCache(dense, plan.aggregation, 20, seed).get(mix, None)
        for n in range(1, int(tr.length.max()) + 1):
            e = estimate(evaluate(tr, make_rule("fixed", (n,))), seed=seed)
            points.append((e.cost.point, e.accuracy.point, e.samples))
    costs = np.array([p[0] for p in points])
    accs = np.array([p[1] for p in points])
    if target_cost <= costs[0]:
        return FixedBaseline("fixed-1", float(accs[0]), float(costs[0]), 1.0)
    if target_cost >= costs[-1]:
        return FixedBaseline(f"fixed-{len(points)}", float(accs[-1]), float(costs[-1]), float(len(points)))
    acc = float(np.interp(target_cost, costs, accs))
    n = float(np.interp(target_cost, costs, np.arange(1, len(points) + 1)))
    return FixedBaseline(f"fixed-{n:.1f} (interpolated)", acc, float(target_cost), n)


def promised(table: SampleTable, plan: Plan, problem_ids: list[str], *, seed: int = 0) -> Promised | None:
    """What the plan promises per query on these problems: its replay on their recorded samples
    (completion tokens alone, the cancelled samples' included, so the prompt cannot hide an
    overrun); a plan that extrapolates beyond them promises its predicted samples only."""
    if plan.prediction is not None and plan.prediction.extrapolated:
        return Promised(Estimate(plan.prediction.samples, None, plan.prediction.problems), None)
    problems, mix = _recorded(table, plan, problem_ids)
    unknown = set(plan.mix) - {c.name for c in table.configs}
    if len(problems) == 0 or unknown or np.isnan(table.completion_tokens).all():
        return None
    shares = mix.shares
    dense = densify(table, CostModel(unit="tokens", charge_prompt=False), problems)
    if plan.parallel is not None:
        o = evaluate_parallel(parallel_trace(dense, np.asarray(shares), plan.parallel, plan.aggregation, reps=20,
                                             seed=seed), plan.rule)
        samples = np.full(len(problems), float(plan.parallel))  # a round launches all its samples
    else:
        cache = TraceCache(dense, plan.aggregation, 20, seed)
        o = evaluate(cache.get(mix, plan.max_tokens, plan.terminate, plan.thinking is not None), plan.rule)
        samples = o.samples
    (s_lo, t_lo), (s_hi, t_hi) = bootstrap_mean(np.column_stack([samples, o.cost]), LEVEL, 1000, seed)
    n = len(problems)
    return Promised(Estimate(float(samples.mean()), (float(s_lo), float(s_hi)), n),
                    Estimate(float(o.cost.mean()), (float(t_lo), float(t_hi)), n))
