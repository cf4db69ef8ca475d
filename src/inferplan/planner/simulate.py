"""Replay a plan, or a rule given on the command line, on recorded samples.

A plan is replayed on its own held-out problems; a command-line rule on all
problems unless a holdout fraction is given. Fixed-N majority baselines
(N = 1, 2, 4, … up to the recorded samples) use the same problems and the same
permutations, so differences are paired.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from inferplan.errors import InputError, InvalidValue
from inferplan.planner.candidates import Mix, TraceCache, unequal_counts_note
from inferplan.planner.curve_predictions import NOTE, Extrapolator, supported
from inferplan.planner.plan_file import Plan
from inferplan.policy.aggregate import Aggregation, check_answers
from inferplan.policy.stopping import StoppingRule, make_rule, parse_rule
from inferplan.policy.termination import Termination
from inferplan.profiles.profile import Profile
from inferplan.replay.budget_curve import censored_line, censored_share
from inferplan.replay.cost import cost_model_for
from inferplan.replay.parallel import evaluate_parallel, parallel_trace
from inferplan.replay.split import split_problems
from inferplan.replay.traces import Dense, Outcome, Trace, densify, estimate, evaluate
from inferplan.stats.estimate import PerQuery


@dataclass(frozen=True, kw_only=True)
class Baseline(PerQuery):
    """A reference strategy replayed on the same problems (mean per query)."""

    name: str

    @classmethod
    def of(cls, name: str, replayed: PerQuery) -> Baseline:
        return cls(replayed.accuracy, replayed.cost, replayed.samples, name=name)


@dataclass(frozen=True)
class SimulationResult:
    """The replayed plan or rule and its baselines."""

    rule: str
    mix: dict[str, float]
    unit: str
    estimate: PerQuery
    baselines: tuple[Baseline, ...]
    problems: int
    reps: int
    source: str  # "plan held-out problems", "all problems", "held-out split"
    warnings: tuple[str, ...] = ()


def fixed_baselines(tr: Trace, *, seed: int = 0) -> tuple[Baseline, ...]:
    """Fixed-N majority (or pass@N for oracle) for N = 1, 2, 4, … and the longest recorded N."""
    L = int(tr.length.max())
    ns = [1 << i for i in range(int(np.log2(max(L, 1))) + 1)]
    if L not in ns:
        ns.append(L)
    out = []
    for n in ns:
        e = estimate(evaluate(tr, make_rule("fixed", (n,))), seed=seed)
        out.append(Baseline.of(f"fixed-{n}", e))
    return tuple(out)


@dataclass(frozen=True)
class _Replayed:
    """What is replayed: the rule, its aggregation, mix, cap and problems."""

    rule: StoppingRule
    agg: Aggregation
    mix: Mix
    cap: int | None
    problems: np.ndarray
    source: str
    unit: str
    price_in: float
    price_out: float
    parallel: int | None = None  # one round of this many samples, read in finish order
    term: Termination | None = None  # online low-confidence termination
    forced: bool = False  # a thinking budget: at ``cap`` a sample is made to answer


def _from_plan(profile: Profile, p: Plan, price_in: float, price_out: float, warnings: list[str]) -> _Replayed:
    """A plan is replayed on its own held-out problems, with its prices unless overridden."""
    table = profile.table
    if profile.sha256 != p.profile_sha256:
        warnings.append(f"{profile.path} differs from the profile the plan was made from ({p.profile})")
    ids = {pid: i for i, pid in enumerate(table.problems)}
    problems = np.array(sorted(ids[x] for x in p.heldout if x in ids))
    if len(problems) == 0:
        raise InputError(f"none of the plan's held-out problems are in {profile.path}")
    names = [c.name for c in table.configs]
    unknown = set(p.mix) - set(names)
    if unknown:
        raise InputError(f"plan uses configurations not in the profile: {', '.join(sorted(unknown))}")
    mix = Mix(tuple(float(p.mix.get(n, 0.0)) for n in names), "plan")
    return _Replayed(p.rule, p.aggregation, mix, p.max_tokens, problems, "the plan's held-out problems", p.unit,
                     price_in or p.price_in, price_out or p.price_out, p.parallel, p.terminate, p.thinking is not None)


def _from_rule(profile: Profile, rule: str, min_samples: int | None, max_samples: int | None, agg: Aggregation,
               unit: str, holdout: float | None, seed: int, prices: tuple[float, float],
               warnings: list[str], parallel: int | None, term: Termination | None = None) -> _Replayed:
    """A rule is replayed on all problems (or a held-out split), drawing every configuration equally."""
    table = profile.table
    the_rule = parse_rule(rule, min_samples=min_samples, max_samples=max_samples)
    if holdout:
        problems, source = split_problems(table, holdout, seed).test, "held-out split"
    else:
        problems, source = np.unique(table.problem), "all problems"
    if len(table.configs) != 1:
        warnings.append("profile has several configurations; a rule given alone draws from all in equal shares")
    mix = Mix(tuple(1.0 / len(table.configs) for _ in table.configs), "equal")
    return _Replayed(the_rule, agg, mix, None, problems, source, unit, *prices, parallel, term)


def _replay_parallel(dense: Dense, r: _Replayed, reps: int, seed: int) -> tuple[PerQuery, tuple[Baseline, ...]]:
    """The round of r.parallel read in finish order, and its baselines: under latency majority@N
    rounds (N = 1, 2, 4, … K), else fixed N."""
    def replay(k: int, rule: StoppingRule) -> PerQuery:
        o = evaluate_parallel(parallel_trace(dense, np.asarray(r.mix.shares), k, r.agg, reps=reps, seed=seed), rule)
        return estimate(Outcome(o.accuracy, o.latency if r.unit == "latency" else o.cost, o.samples), seed=seed)

    k = int(r.parallel)
    if k < 1 or k > int(dense.count[:, np.asarray(r.mix.shares) > 0].min()):
        raise InvalidValue("parallel", f"{{name}} must be between 1 and the samples recorded for every problem, got {k}")
    if r.unit != "latency":  # a round's tokens compare with fixed N drawn any way: the usual baselines
        return replay(k, r.rule), fixed_baselines(TraceCache(dense, r.agg, reps, seed).get(r.mix, None), seed=seed)
    ns = sorted({1 << i for i in range(int(np.log2(k)) + 1)} | {k})
    base = []
    for n in ns:
        e = replay(n, make_rule("fixed", (n,)))
        base.append(Baseline.of(f"fixed-{n}", e))
    return replay(k, r.rule), tuple(base)


def simulate(
    profile: Profile,
    *,
    plan: Plan | None = None,
    rule: str | None = None,
    max_samples: int | None = None,
    min_samples: int | None = None,
    aggregate: str = "vote",
    keep: float = 0.9,
    unit: str = "samples",
    holdout: float | None = None,
    seed: int = 0,
    reps: int = 20,
    price_in: float = 0.0,
    price_out: float = 0.0,
    parameters: float | None = None,
    parallel: int | None = None,
    terminate: str | None = None,
    charge_prompt: bool = True,
) -> SimulationResult:
    """Replay ``plan`` (on its held-out problems) or ``rule`` (on all problems, or a held-out split).

    ``parallel=K`` replays ``rule`` on one round of K samples launched at once, read in the
    order they finish (``fixed:m`` is short-m@K); a "parallel:K" plan is replayed that way.
    ``terminate="W:η"`` replays ``rule`` with online low-confidence termination (a plan's own is used).
    ``charge_prompt`` False: tokens are generated tokens only, as a total over a batch counts them."""
    if (plan is None) == (rule is None):
        raise InvalidValue(("plan", "rule"), "give exactly one of {0} or {1}")
    if reps < 1:
        raise InvalidValue("reps", "{name} must be ≥ 1")
    table = profile.table
    warnings: list[str] = []
    r = (_from_plan(profile, plan, price_in, price_out, warnings) if plan is not None else
         _from_rule(profile, rule, min_samples, max_samples, Aggregation(aggregate, keep=keep), unit, holdout, seed,
                    (price_in, price_out), warnings, parallel, Termination.parse(terminate) if terminate else None))
    check_answers(table, r.agg)
    if r.unit == "latency" and not r.parallel:
        raise InvalidValue(("unit", "parallel"), "{0} latency replays one parallel round: give {1} K")
    cost = replace(cost_model_for(table, r.unit, price_in=r.price_in, price_out=r.price_out, profile=profile.path,
                                  parameters=parameters), charge_prompt=charge_prompt)
    dense = densify(table, cost, r.problems)
    est, base = (_replay_parallel(dense, r, reps, seed) if r.parallel is not None else
                 _replay_sequential(dense, r, reps, seed, warnings))
    if line := censored_line(censored_share(table, r.problems, r.cap, r.forced)):
        warnings.append(line)
    names = tuple(c.name for c in table.configs)
    return SimulationResult(r.rule.spec, r.mix.as_dict(names), r.unit, est, base, len(r.problems), reps, r.source,
                            tuple(warnings))


def _replay_sequential(dense: Dense, r: _Replayed, reps: int, seed: int,
                       warnings: list[str]) -> tuple[PerQuery, tuple[Baseline, ...]]:
    """The rule on the recorded samples in random orders, and fixed-N baselines on the same orders."""
    cache = TraceCache(dense, r.agg, reps, seed)
    tr = cache.get(r.mix, r.cap, r.term, r.forced)
    length = tr.score.shape[1]
    if r.rule.max_samples > length and r.rule.name == "fixed" and r.cap is None and supported(r.agg, r.mix.shares):
        # A fixed N the recorded samples cannot replay: the fitted curves predict it (as `plan` did).
        est = Extrapolator(dense, r.agg, seed).estimate(r.mix.shares, r.rule.max_samples)
        warnings.append(f"fixed-{r.rule.max_samples} is " + NOTE.format(n=length))
    else:
        if r.rule.max_samples > length:
            warnings.append(f"max samples {r.rule.max_samples} exceeds the {length} recorded; "
                            "replay stops at the recorded samples")
        est = estimate(evaluate(tr, r.rule), seed=seed)
    if dense.extend:
        warnings.extend(unequal_counts_note(dense, r.mix.shares))
    return est, fixed_baselines(cache.get(r.mix, None), seed=seed)
