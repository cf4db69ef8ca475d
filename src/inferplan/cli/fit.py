"""`inferplan fit PROFILE`: accuracy-vs-samples curves with intervals and extrapolation."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from inferplan.errors import InputError

HELP = """Fit accuracy-vs-samples curves for every configuration of PROFILE; with several
profiles (one model each, the same problems), each model's maj@k curve against its cost per
query in --unit, on one chart.

Shows observed pass@k / maj@k (maj@k only where answers are known) / best@k (where
logprobs are) at k = 1, 2, 4, … up to the recorded n, exact over all k-subsets, with
bootstrap-over-problems intervals; the curve family chosen by cross-validation with its
parameters; predictions at the --at values with intervals; the ceiling (k → ∞) and the
saturation k (first k whose next sample gains less than --threshold).

--json prints one object: {"format": "inferplan.fit/1", "model_selection": {…},
"configs": [{"config", "observed", "predicted", "family", "params", "ceiling",
"saturation_k"}]}. observed and predicted map "pass@k" / "maj@k" (/ "best@k") to
{k: value}; their "intervals" key maps the same metric names to {k: [low, high]},
e.g. predicted["intervals"]["pass@k"]["100"] = [low, high]. -o writes the same object.
Several profiles: {"format": "inferplan.fit-models/1", "unit", "metric", "models": [{"model",
"config", "cost_per_sample", "overhead_per_query", "points": [{"k", "cost", "accuracy",
"interval", "observed"}]}], "fits": [each model's own fit]}.
"""


def _parse_at(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise InputError(f"--at expects comma-separated positive integers, got {text!r}") from None
    if not values or min(values) < 1:
        raise InputError(f"--at expects comma-separated positive integers, got {text!r}")
    return values


def fit_cmd(
    profiles: list[Path] = typer.Argument(..., help="Profile file (from `inferplan profile` or `inferplan import`); "
                                          "several (one model each, the same problems) put each model's curve "
                                          "against its cost per query."),
    output: Optional[Path] = typer.Option(None, "--out", "--output", "-o", help="Also write the fit report (JSON) here."),
    as_json: bool = typer.Option(False, "--json", help="Print the fit report as JSON on stdout."),
    plot: Optional[Path] = typer.Option(None, "--plot", help="Write a PNG of observed points, fitted curves and extrapolation."),
    at: str = typer.Option("32,100,300", "--at", help="Comma-separated k values to predict."),
    seed: int = typer.Option(0, "--seed", help="Seed of bootstraps, cross-validation and Monte Carlo."),
    level: float = typer.Option(0.9, "--level", help="Interval level (0 < level < 1)."),
    threshold: float = typer.Option(1e-3, "--threshold", help="Saturation: gain per extra sample below this."),
    force: bool = typer.Option(False, "--force", help="Replace -o / --plot files even if inferplan did not write them."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Also print the fitted parameters, every family's "
                                 "cross-validation error and maj@k's self-check."),
    unit: Optional[str] = typer.Option(None, "--unit", help="Across models: the cost axis, seconds (default: each "
                                       "profile's measured rate), usd (--price), flops (--params), or tokens or "
                                       "samples with --same-token-cost."),
    price: list[str] = typer.Option([], "--price", help="Across models, unit usd: MODEL=IN,OUT USD per million "
                                    "prompt and completion tokens (repeat per model)."),
    params: list[str] = typer.Option([], "--params", help="Across models, unit flops: MODEL=N active parameters."),
    same_token_cost: bool = typer.Option(False, "--same-token-cost", help="Across models: a token (or sample) of "
                                         "every model costs the same, so --unit tokens or samples may compare them."),
) -> None:
    from inferplan import api
    from inferplan.api import check_report_output
    from inferplan.cli.render.fit import check_plot_output, render_fit, write_plot, write_report

    # Refuse before fitting, not after it.
    if output is not None:
        check_report_output(output, force=force)
    if plot is not None:
        check_plot_output(plot, force)
    if len(profiles) > 1:
        return _fit_across(profiles, output, as_json, plot, _parse_at(at), seed, level, threshold, force, unit,
                           price, params, same_token_cost)
    if unit is not None or price or params or same_token_cost:
        raise InputError("--unit, --price, --params and --same-token-cost put several models on one cost axis; "
                         "one profile's fit is per sample")
    report = api.fit(profiles[0], at=_parse_at(at), level=level, seed=seed, threshold=threshold)
    if output is not None:
        write_report(report, output, force)
    if plot is not None:
        write_plot(report, plot, force)
    render_fit(report, as_json=as_json, verbose=verbose)


def _fit_across(profiles, output, as_json, plot, at, seed, level, threshold, force, unit, price, params,
                same_token_cost) -> None:
    """Several profiles: each model's curve against its cost per query (table and chart, or JSON; -o, --plot)."""
    from inferplan import api
    from inferplan.cli.options import per_model
    from inferplan.cli.render.fit import write_report
    from inferplan.cli.render.models_fit import render_models_fit, write_models_fit_plot

    result = api.fit_models(profiles, unit=unit or "seconds", at=at, level=level, seed=seed, threshold=threshold,
                            prices=per_model(price, "--price", pair=True), parameters=per_model(params, "--params"),
                            same_token_cost=same_token_cost)
    if output is not None:
        write_report(result, output, force)
    if plot is not None:
        write_models_fit_plot(result, plot, force)
    render_models_fit(result, as_json=as_json)


fit_cmd.__doc__ = HELP  # the long help (with braces of the JSON shape) kept as a constant above
