"""``simulate --total-budget X``: one total over the held-out problems, replayed (issue 33).

On the per-query plan's held-out problems (the plan given, or the planner's plan at ``X / n``
per query made on the training problems), every problem's recorded samples (of the plan's
configurations) are read in ``reps`` seeded random orders, and the same total is spent four or
five ways (in the plan's unit as ``run --total-budget`` counts it: completion tokens, samples, the
profile's seconds per token × tokens, or usd at the completion price — planner/total_units.py):
where the plan has a ``batch_allocation`` block (``plan --batch``), first the allocator it names —
what ``run --plan P --total-budget X`` does; the knowledge-gradient batch allocation alone (PETS: up
to every recorded sample of a problem); the same allocation within the plan's stopping rule and
sample cap (what ``run --total-budget`` does with a plan without the block); the hybrid (within the
rule first, then what the rule leaves of the total plainly, up to every recorded sample); and
round robin (uniform). Beside them, the per-query plan replayed as ``simulate --plan`` replays it. Each row
gives accuracy and the self-consistency rate (the vote agrees with the vote of every recorded sample; a tie there:
agreeing with any of the tied answers), each with a 95% bootstrap-over-problems interval
widened to the binomial one, and what it spent.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from inferplan.errors import InvalidValue
from inferplan.planner.batch import Streams, make_streams, replay_batch, replay_uniform, top_answers
from inferplan.planner.batch_policy import BatchPolicy, allocator_for
from inferplan.planner.plan_file import Plan
from inferplan.planner.simulate import simulate
from inferplan.planner.total_units import check_total_unit, total_cost_model
from inferplan.policy.batch_allocation import BatchAllocator
from inferplan.profiles.profile import Profile
from inferplan.replay.cost import CostModel, cost_model_for
from inferplan.replay.split import split_problems
from inferplan.replay.traces import Outcome, densify, estimate
from inferplan.stats.estimate import Estimate


@dataclass(frozen=True)
class TotalRow:
    """One way of spending the total on the held-out problems (means over problems and orders)."""

    name: str
    accuracy: Estimate
    sc_rate: Estimate  # self-consistency rate: the vote agrees with the vote of every recorded sample
    spent: float  # on all the problems, in the total's unit (completion tokens for tokens, USD for usd)


@dataclass(frozen=True)
class TotalSimulation:
    total: float
    problems: int
    reps: int
    rule: str  # the per-query plan's stopping rule
    planned: bool  # the per-query plan was made here (at total / problems tokens per query)
    rows: tuple[TotalRow, ...]
    warnings: tuple[str, ...] = ()
    unit: str = "tokens"


def _row(name: str, correct: np.ndarray, agree: np.ndarray, spent: float, seed: int) -> TotalRow:
    """Per-problem shares (P,) over the orders → means with intervals."""
    acc = estimate(Outcome(correct, np.zeros_like(correct), np.zeros_like(correct)), seed=seed)
    sc = estimate(Outcome(agree, np.zeros_like(agree), np.zeros_like(agree)), seed=seed)
    return TotalRow(name, acc.accuracy, sc.accuracy, spent)


def streams_input(profile: Profile, plan: Plan, problems: np.ndarray, cost: CostModel):
    """Per problem: its recorded samples of the plan's configurations (answer ids, each sample's cost
    in the total's unit from its completion tokens, as ``run --total-budget`` counts it) and the answer
    ids graded correct."""
    table = profile.table
    dense = densify(table, cost_model_for(table, "tokens"), problems)
    used = [i for i, c in enumerate(table.configs) if plan.mix.get(c.name, 0.0) > 0]
    fill = float(np.nanmean(dense.tokens)) if np.isfinite(dense.tokens).any() else 1.0
    cut = plan.max_tokens if plan.thinking is None else None  # a thinking budget's forced answers: not replayed here
    answers, costs, correct = [], [], []
    for p in range(dense.n_problems):
        a = np.concatenate([dense.answer[p, c, :dense.count[p, c]] for c in used]).astype(np.int64)
        t = np.nan_to_num(np.concatenate([dense.tokens[p, c, :dense.count[p, c]] for c in used]), nan=fill)
        if cut:  # the plan's token cap: a longer sample stops there with no answer, charged the cap
            a, t = np.where(t > cut, -1, a), np.minimum(t, cut)
        answers.append(a)
        costs.append(np.ones_like(t) if cost.unit == "samples" else np.asarray(cost.token_cost(t, 0.0), float))
        correct.append(frozenset(int(i) for i in np.flatnonzero(dense.answer_correct[p])))
    return answers, costs, correct


def replay_policy(streams: Streams, policy: BatchPolicy, plan: Plan, total: float, seed: int):
    """One hard replay of ``policy`` at ``total``: the trace of the batch."""

    def make(n: int) -> BatchAllocator:
        return allocator_for(policy, n, plan.rule, policy.max_samples, random_state=seed)

    return replay_batch(streams, total, make=make, warmup=policy.warmup, stop_at_full=False, hard=True)

def total_cost_of(profile: Profile, plan: Plan) -> CostModel:
    """The plan's unit as a total counts it; an older plan in seconds takes its profile's rate."""
    rate = None
    if plan.unit == "seconds" and not plan.seconds_per_token:
        rate = cost_model_for(profile.table, "seconds", profile=profile.path).seconds_per_token
    return total_cost_model(plan, plan.unit, seconds_per_token=rate)


def _self_consistency_profile(profile: Profile) -> Profile:
    """The profile with each sample 'correct' where its answer is one its problem's recorded samples
    vote for most: the per-query plan's accuracy on it is its self-consistency rate."""
    table = profile.table
    correct = np.zeros_like(table.correct)
    for p in np.unique(table.problem):
        rows = np.flatnonzero(table.problem == p)
        top = top_answers(table.answer[rows])
        correct[rows] = np.isin(table.answer[rows], list(top)) if top else False
    sc = Profile(profile.path, profile.header)
    sc.__dict__.update(table=replace(table, correct=correct), sha256=profile.sha256)
    return sc


NAMES = {"plan": "the plan's batch_allocation", "batch": "batch allocation (PETS)",
         "rule": "batch, within the plan's rule and cap", "hybrid": "hybrid: the plan's rule, then the rest plainly",
         "uniform": "uniform (round robin)"}


def _replays(st: Streams, plan: Plan, total: float, n_options: int, seed: int) -> dict:
    """One order of the batch spent every way: the plan's own allocator (where it has one) first."""
    runs = {"batch": replay_batch(st, total, stop_at_full=False, hard=True, make=lambda q: BatchAllocator(
                q, n_options=n_options, random_state=seed)),
            "rule": replay_batch(st, total, stop_at_full=False, hard=True, make=lambda q: BatchAllocator(
                q, n_options=n_options, random_state=seed, rule=plan.rule, max_samples=plan.rule.max_samples)),
            "hybrid": replay_policy(st, BatchPolicy("hybrid", 1, max(len(a) for a in st.answers), n_options), plan,
                                    total, seed),
            "uniform": replay_uniform(st, total, hard=True)}
    if plan.batch_allocation:
        runs = {"plan": replay_policy(st, plan.batch_allocation, plan, total, seed), **runs}
    return runs


def simulate_total(profile: Profile, total: float, *, plan: Plan | None = None, holdout: float = 0.5, seed: int = 0,
                   reps: int = 20, n_options: int = 4, unit: str = "tokens", price_in: float = 0.0,
                   price_out: float = 0.0) -> TotalSimulation:
    """Replay one ``total`` over the held-out problems (see the module docstring), in the plan's unit
    (``unit``, with its prices, where the plan is made here)."""
    if not total > 0 or not np.isfinite(total):
        raise InvalidValue("total_budget", f"{{name}} must be a positive number (got {total})")
    if reps < 1:
        raise InvalidValue("reps", "{name} must be ≥ 1")
    planned = plan is None
    if plan is None:
        from inferplan.planner.search import plan as search_plan

        check_total_unit(unit, price_in, price_out)  # before the search, not after it
        n = len(split_problems(profile.table, holdout, seed).test)
        plan = search_plan(profile, budget=total / n, unit=unit, holdout=holdout, seed=seed, price_in=price_in,
                           price_out=price_out, charge_prompt=False).plan  # at the total's generated tokens
    cost = total_cost_of(profile, plan)
    # The per-query plan's spend counted as the total counts it: generated tokens, no prompt.
    per_query = simulate(profile, plan=plan, reps=reps, seed=seed, charge_prompt=False)
    sc_query = simulate(_self_consistency_profile(profile), plan=plan, reps=reps, seed=seed, charge_prompt=False)
    ids = {pid: i for i, pid in enumerate(profile.table.problems)}
    problems = np.array(sorted(ids[x] for x in plan.heldout if x in ids))
    answers, costs, correct = streams_input(profile, plan, problems, cost)
    P = len(answers)
    shares = {k: [np.zeros(P), np.zeros(P), 0.0] for k in NAMES if k != "plan" or plan.batch_allocation}
    for r in range(reps):
        st = make_streams(answers, costs, correct, seed=seed + 1000 * r)
        for k, tr in _replays(st, plan, total, n_options, seed + r).items():
            shares[k][0] += tr.final_correct / reps
            shares[k][1] += tr.final_agree / reps
            shares[k][2] += float(tr.cost[-1]) / reps
    names = dict(NAMES)
    if plan.batch_allocation:
        names["plan"] = f"plan's batch_allocation {plan.batch_allocation.name}"
    rows = [_row(names[k], *shares[k], seed=seed) for k in shares]
    e, s = per_query.estimate, sc_query.estimate
    rows.append(TotalRow(f"per-query plan ({plan.rule.spec})", e.accuracy, s.accuracy, e.cost.point * P))
    return TotalSimulation(float(total), P, reps, plan.rule.spec, planned, tuple(rows),
                           tuple(dict.fromkeys(per_query.warnings)), cost.unit)
