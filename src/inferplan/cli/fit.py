"""`inferplan fit PROFILE`: accuracy-vs-samples curves with intervals and extrapolation."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from inferplan.errors import InputError

HELP = """Fit accuracy-vs-samples curves for every configuration of PROFILE.

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
    profile: Path = typer.Argument(..., help="Profile file (from `inferplan profile` or `inferplan import`)."),
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
) -> None:
    from inferplan import api
    from inferplan.api import check_report_output
    from inferplan.cli.render.fit import check_plot_output, render_fit, write_plot, write_report

    # Refuse before fitting, not after it.
    if output is not None:
        check_report_output(output, force=force)
    if plot is not None:
        check_plot_output(plot, force)
    report = api.fit(profile, at=_parse_at(at), level=level, seed=seed, threshold=threshold)
    if output is not None:
        write_report(report, output, force)
    if plot is not None:
        write_plot(report, plot, force)
    render_fit(report, as_json=as_json, verbose=verbose)


fit_cmd.__doc__ = HELP  # the long help (with braces of the JSON shape) kept as a constant above
