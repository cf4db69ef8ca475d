"""`inferplan simulate PROFILE --plan PLAN.json | --rule beta:0.95`: replay on recorded samples."""

from __future__ import annotations

from pathlib import Path

import typer

from inferplan.cli.plan import Aggregate, Unit
from inferplan.errors import InputError

RULE_HELP = (
    "Stopping rule name[:param[,param]][,min=A][,max=B]: fixed:N, beta:θ (Adaptive-Consistency), esc:w, "
    "ratio:θ, entropy:θ, sprt:α[,p1], msprt:α, bayes:B[,unseen], wshare:θ (confidence-weighted share)."
)


def simulate_cmd(
    profile: Path = typer.Argument(..., help="Profile (.jsonl) with recorded samples."),
    plan: Path = typer.Option(None, "--plan", help="Plan file to replay on its held-out problems."),
    rule: str = typer.Option(None, "--rule", help=RULE_HELP),
    max_samples: int = typer.Option(None, "--max-samples", help="Max guard for --rule (default 40)."),
    min_samples: int = typer.Option(None, "--min-samples", help="Min guard for --rule (default 1)."),
    aggregate: Aggregate = typer.Option(Aggregate.vote, "--aggregate", help="Aggregation for --rule."),
    keep: float = typer.Option(0.9, "--keep", help="conf-vote: share of the most confident samples that vote."),
    unit: Unit = typer.Option(None, "--unit", show_default=False, help="Cost unit for --rule (default samples; a plan "
                              "uses its own); with --total-budget and no --plan, the total's (default tokens)."),
    holdout: float = typer.Option(None, "--holdout", help="Replay --rule on a seeded held-out fraction only."),
    reps: int = typer.Option(20, "--reps", help="Random orders of each problem's samples."),
    seed: int = typer.Option(0, "--seed", help="Seed for permutations, tie-breaks and bootstrap."),
    price_in: float = typer.Option(0.0, "--price-in", help="USD per million prompt tokens (unit usd)."),
    price_out: float = typer.Option(0.0, "--price-out", help="USD per million completion tokens (unit usd)."),
    parallel: int = typer.Option(None, "--parallel", help="Replay --rule on one round of K samples launched at once, "
                                 "read as they finish (fixed:m = short-m@K; needed by --unit latency)."),
    terminate: str = typer.Option(None, "--terminate", help="Replay --rule with online low-confidence termination "
                                  "WARMUP:KEEP (4:0.9): each query's first WARMUP samples set a floor that KEEP of "
                                  "them stay above; later samples stop when their window confidence falls under it."),
    total_budget: float = typer.Option(
        None, "--total-budget", help="One total over the held-out problems (in the plan's unit, or --unit: tokens, "
        "samples, seconds, usd): batch allocation (PETS) beside uniform and the per-query plan (--plan, or the "
        "planner's at the total per query).",
        show_default=False),
    params: float = typer.Option(None, "--params", help="Unit flops: the model's active parameters (e.g. 3.6e9) "
                                 "where the profile does not record them (a rule; a plan replays with the count it recorded).",
                                 show_default=False),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable result on stdout."),
) -> None:
    """Replay a plan or a stopping rule on recorded samples, with fixed-N baselines."""
    from inferplan import api
    from inferplan.cli.render.plan import render_simulation

    if total_budget is not None:
        from inferplan.cli.render.total_simulation import render_total_simulation

        if rule is not None:
            raise InputError("--total-budget replays a plan (--plan, or one made here), not --rule")
        result = api.simulate(profile, plan=plan, holdout=holdout, seed=seed, reps=reps, total_budget=total_budget,
                              unit=unit and unit.value, price_in=price_in, price_out=price_out)
        render_total_simulation(result, as_json=as_json)
        return
    result = api.simulate(
        profile, plan=plan, rule=rule, max_samples=max_samples, min_samples=min_samples,
        aggregate=aggregate.value, keep=keep, unit=unit and unit.value, holdout=holdout, seed=seed, reps=reps,
        price_in=price_in, price_out=price_out, parallel=parallel, terminate=terminate, parameters=params,
    )
    render_simulation(result, as_json=as_json)
