"""Replay a plan, or a rule given on the command line, on recorded samples.

A plan is replayed on its own held-out problems; a command-line rule on all
problems unless a holdout fraction is given. Fixed-N majority baselines
(N = 1, 2, 4, … up to the recorded samples) use the same problems and the same
permutations, so differences are paired.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from inferplan.errors import InputError
from inferplan._util.hashing import sha256_file
from inferplan.policy.aggregate import Aggregation, check_answers
from inferplan.plan.candidates import Mix, TraceCache
from inferplan.replay.cost import cost_model_for
from inferplan.plan.extrapolate import NOTE, Extrapolator, supported
from inferplan.plan.plan_file import Plan, load_plan
from inferplan.replay.engine import Estimate, Trace, densify, estimate, evaluate
from inferplan.replay.split import split_problems
from inferplan.policy.stopping import StoppingRule, make_rule, parse_rule
from inferplan.profiles.store import load_profile


@dataclass(frozen=True)
class Baseline:
    """A reference strategy replayed on the same problems (mean per query)."""

    name: str
    accuracy: float
    accuracy_ci: tuple[float, float]
    cost: float
    samples: float


@dataclass(frozen=True)
class SimulationResult:
    """The replayed plan or rule and its baselines."""

    rule: str
    mix: dict[str, float]
    unit: str
    estimate: Estimate
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
        out.append(Baseline(f"fixed-{n}", e.accuracy, e.accuracy_ci, e.cost, e.samples))
    return tuple(out)


def simulate(
    profile: Path | str,
    *,
    plan: Path | str | None = None,
    rule: str | None = None,
    max_samples: int | None = None,
    min_samples: int | None = None,
    aggregate: str = "vote",
    unit: str = "samples",
    holdout: float | None = None,
    seed: int = 0,
    reps: int = 20,
    price_in: float = 0.0,
    price_out: float = 0.0,
) -> SimulationResult:
    """Replay ``plan`` (on its held-out problems) or ``rule`` (on all problems, or a held-out split)."""
    if (plan is None) == (rule is None):
        raise InputError("give exactly one of --plan or --rule")
    table = load_profile(profile)
    warnings: list[str] = []
    if plan is not None:
        p: Plan = load_plan(plan)
        if sha256_file(profile) != p.profile_sha256:
            warnings.append(f"{profile} differs from the profile the plan was made from ({p.profile})")
        ids = {pid: i for i, pid in enumerate(table.problems)}
        problems = np.array(sorted(ids[x] for x in p.heldout if x in ids))
        if len(problems) == 0:
            raise InputError(f"none of the plan's held-out problems are in {profile}")
        the_rule: StoppingRule = p.rule
        agg, unit, cap = p.aggregation, p.unit, p.max_tokens
        # A usd plan carries its prices; --price-in/--price-out override them.
        price_in, price_out = price_in or p.price_in, price_out or p.price_out
        names = [c.name for c in table.configs]
        unknown = set(p.mix) - set(names)
        if unknown:
            raise InputError(f"plan uses configurations not in the profile: {', '.join(sorted(unknown))}")
        mix = Mix(tuple(float(p.mix.get(n, 0.0)) for n in names), "plan")
        source = "the plan's held-out problems"
    else:
        the_rule = parse_rule(rule, min_samples=min_samples, max_samples=max_samples)
        agg, cap = Aggregation(aggregate), None
        if holdout:
            problems = split_problems(table, holdout, seed).test
            source = "held-out split"
        else:
            problems = np.unique(table.problem)
            source = "all problems"
        if len(table.configs) != 1:
            warnings.append("profile has several configurations; a command-line rule draws from all in equal shares")
        mix = Mix(tuple(1.0 / len(table.configs) for _ in table.configs), "equal")
    check_answers(table, agg)
    cost = cost_model_for(table, unit, price_in=price_in, price_out=price_out, profile=profile)
    dense = densify(table, cost, problems)
    cache = TraceCache(dense, agg, reps, seed)
    tr = cache.get(mix, cap)
    length = tr.score.shape[1]
    if the_rule.max_samples > length and the_rule.name == "fixed" and cap is None and supported(agg, mix.shares):
        # A fixed N the recorded samples cannot replay: the fitted curves predict it (as `plan` did).
        est = Extrapolator(dense, agg, seed).estimate(mix.shares, the_rule.max_samples)
        warnings.append(f"fixed-{the_rule.max_samples} is " + NOTE.format(n=length))
    else:
        if the_rule.max_samples > length:
            warnings.append(f"max samples {the_rule.max_samples} exceeds the {length} recorded; "
                            "replay stops at the recorded samples")
        est = estimate(evaluate(tr, the_rule), seed=seed)
    base = fixed_baselines(cache.get(mix, None), seed=seed)
    names = tuple(c.name for c in table.configs)
    return SimulationResult(the_rule.spec, mix.as_dict(names), unit, est, base, len(problems), reps, source,
                            tuple(warnings))
