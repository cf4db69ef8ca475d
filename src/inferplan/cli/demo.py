"""`inferplan demo`: the whole loop on the embedded model in a few minutes."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from inferplan.cli import options as opt


def demo(
    workdir: Path = typer.Option(Path("inferplan-demo"), "--dir", help="Where the profile, plan and plot go (a rerun resumes)."),
    problems: int = typer.Option(40, "--problems", help="Built-in problems to profile (half plan, half check)."),
    samples: int = typer.Option(8, "--samples", help="Samples per problem and temperature."),
    budget: Optional[float] = typer.Option(None, "--budget", help="Tokens per question (default: about 4 samples' worth)."),
    seed: int = typer.Option(0, "--seed", help="Seed of every sample and split."),
    model: str = opt.MODEL,
    threads: Optional[int] = opt.THREADS,
    parallel: int = opt.PARALLEL,
) -> None:
    """Profile, fit, plan, evaluate and answer — the whole loop, explained, in a few minutes.

    Uses the embedded SmolLM2-135M model and a built-in arithmetic set, so it needs
    no data and no download.
    """
    import inferplan as ip
    from inferplan.api import BackendSettings
    from inferplan.cli.render.demo import DemoNarrator

    settings = ip.DemoSettings(workdir=workdir, model=model, problems=problems, samples=samples, budget=budget,
                            seed=seed, backend=BackendSettings(threads=threads, parallel=parallel))
    with DemoNarrator(settings) as narrator:
        ip.demo(settings, on_step=narrator.step, on_progress=narrator.progress)
