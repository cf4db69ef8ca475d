"""`inferplan plan PROFILE --budget X --unit U -o PLAN.json`: choose N, mix and stopping rule."""

from __future__ import annotations

from enum import Enum
from pathlib import Path

import typer

from inferplan.cli.options import per_model


class Unit(str, Enum):
    tokens = "tokens"
    samples = "samples"
    seconds = "seconds"
    usd = "usd"
    flops = "flops"
    latency = "latency"


class Aggregate(str, Enum):
    vote = "vote"
    auto = "auto"
    conf_vote = "conf-vote"
    logprob = "logprob"
    oracle = "oracle"


def plan_cmd(
    profiles: list[Path] = typer.Argument(..., help="Profile (.jsonl) from `inferplan profile` or `inferplan import`; "
                                          "several (one model each, the same problems) plan across models: choose one "
                                          "or cascade from a cheap one to a stronger one."),
    budget: float = typer.Option(None, "--budget", help="Mean cost per query to spend (in --unit)."),
    unit: Unit = typer.Option(Unit.tokens, "--unit", help="Budget unit (latency: tokens of wall clock per query on a parallel engine; plans one round of K samples read as they finish)."),
    target_accuracy: float = typer.Option(None, "--target-accuracy", help="Minimise cost for this accuracy (0–1) instead."),
    aggregate: Aggregate = typer.Option(Aggregate.vote, "--aggregate", help="vote (majority), auto (vote, or conf-vote where it clearly wins on the training problems), conf-vote (DeepConf: the --keep most confident samples vote, weighted by confidence), logprob (best mean logprob) or oracle (verifier, first pass). Across models: vote or oracle."),
    keep: float = typer.Option(0.9, "--keep", help="conf-vote: share of the most confident samples that vote (DeepConf's η: 0.9 or 0.1)."),
    false_positive: float = typer.Option(0.0, "--false-positive", help="Oracle: rate at which the verifier accepts a wrong sample."),
    penalty: float = typer.Option(0.0, "--penalty", help="Score of a wrong answer is −penalty (abstaining scores 0)."),
    holdout: float = typer.Option(0.5, "--holdout", help="Fraction of problems held out for the prediction (the profile's own split wins)."),
    seed: int = typer.Option(0, "--seed", help="Seed for the split and the replay permutations."),
    price_in: float = typer.Option(0.0, "--price-in", help="USD per million prompt tokens (unit usd)."),
    price_out: float = typer.Option(0.0, "--price-out", help="USD per million completion tokens (unit usd)."),
    fit: Path = typer.Option(None, "--fit", help="A fit report (`inferplan fit -o`): its curve family extrapolates "
                             "beyond the recorded samples (default: chosen the same way, on the training problems)."),
    parallel: int = typer.Option(16, "--parallel", help="The most samples a parallel-round plan may launch at "
                                 "once (the engine's --parallel; a wider round would not decode at once). Under "
                                 "unit tokens, 1 offers sequential plans only."),
    price: list[str] = typer.Option([], "--price", help="Across models, unit usd: MODEL=IN,OUT USD per million "
                                    "prompt and completion tokens, once per model."),
    params: list[str] = typer.Option([], "--params", help="Unit flops: MODEL=N active parameters (e.g. "
                                     "3.6e9), once per model; where given, it is used over the profile's own count."),
    policy: str = typer.Option("auto", "--policy", help="Across models: auto (a cascade or a mix in one vote "
                               "only where it clearly beats the best single model on the training problems), choose "
                               "(one model), cascade or mix (the best cascade or mix, to run or evaluate it)."),
    same_token_cost: bool = typer.Option(False, "--same-token-cost", help="Across models: a token (or sample) of "
                                         "every model costs the same, so --unit tokens or samples may compare them."),
    batch: bool = typer.Option(False, "--batch", help="Also choose on the training problems how `run --total-budget` "
                               "shares --budget × the queries (PETS), and predict it on the held-out problems."),
    out: Path = typer.Option(None, "--out", "-o", help="Plan file to write (inferplan.plan/1)."),
    plot: Path = typer.Option(None, "--plot", help="Across models: write a PNG of each model's held-out "
                              "accuracy-against-cost frontier, the best cascade and mix, and the chosen policy."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable result on stdout."),
    force: bool = typer.Option(False, "--force", help="Replace -o even if it is not a plan inferplan wrote."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Also print the plan's rule, aggregation and batch "
                                 "as the specs --rule, --aggregate and a plan file take."),
) -> None:
    """Search temperature mix, stopping rule, max samples and token cap on a training split;
    predict accuracy and cost on held-out problems. Several profiles: plan across models."""
    from inferplan import api
    from inferplan.cli.render.plan import render_plan

    _refuse_early(out, force, len(profiles), batch, plot)
    common = dict(budget=budget, unit=unit.value, target_accuracy=target_accuracy, holdout=holdout, seed=seed,
                  aggregate=aggregate.value, false_positive=false_positive, penalty=penalty)
    if len(profiles) > 1:
        result = api.plan_models(profiles, prices=per_model(price, "--price", pair=True), policy=policy,
                                 parameters=per_model(params, "--params"), same_token_cost=same_token_cost, **common)
    else:
        result = api.plan(profiles[0], keep=keep, price_in=price_in, price_out=price_out, fit=fit, parallel=parallel,
                          batch=batch, parameters=per_model(params, "--params"), **common)
    if out is not None:
        api.save_plan(result.plan, out, force=force)
    if len(profiles) > 1:
        return _show_across(result, out, as_json, plot, unit.value, force)
    render_plan(result, out, as_json=as_json, verbose=verbose)


def _show_across(result, out: Path | None, as_json: bool, plot: Path | None, unit: str, force: bool) -> None:
    """A plan across models: its table and chart (or JSON), and the PNG where --plot asks."""
    from inferplan.cli.render.frontier import write_frontier_plot
    from inferplan.cli.render.models_plan import render_models_plan

    render_models_plan(result, out, as_json=as_json)
    if plot is not None:
        write_frontier_plot(result, unit, plot, force)


def _refuse_early(out: Path | None, force: bool, profiles: int, batch: bool, plot: Path | None) -> None:
    """What can be refused before the search, not after it."""
    from inferplan.api import check_plan_output
    from inferplan.cli.render.fit import check_plot_output
    from inferplan.errors import InputError

    if out is not None:
        check_plan_output(out, force=force)
    if batch and profiles > 1:
        raise InputError("--batch plans one model's batch allocation; give one profile")
    if plot is not None:
        if profiles < 2:
            raise InputError("--plot draws a plan across models; one profile's frontier is the table plan prints")
        check_plot_output(plot, force)
