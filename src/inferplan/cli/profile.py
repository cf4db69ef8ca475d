"""`inferplan profile …` (measure a model on a task set) and `inferplan profile show PROFILE`."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import click
import typer

from inferplan.api import BackendSettings
from inferplan.cli import options
from inferplan.cli.help import Command, Group

profile_app = typer.Typer(
    cls=Group, invoke_without_command=True, no_args_is_help=False, add_completion=False,
    help="Sample a model many times per problem at several temperatures, grade and record every sample. "
    "`inferplan profile show PROFILE` summarises a profile.",
)


@profile_app.callback()
@options.backend_options()
def profile_cmd(
    ctx: typer.Context,
    model: str = options.MODEL,
    tasks: str = typer.Option("builtin:arith", "--tasks", help=options.TASKS_HELP),
    field: Optional[str] = options.FIELD,
    temperatures: str = typer.Option("0.2,0.6,1.0", "--temperatures", "-t", help="Comma-separated temperatures (one configuration each)."),
    samples: int = typer.Option(16, "--samples", "-n", help="Samples per problem and temperature (with --budget: the most any gets)."),
    budget: Optional[str] = typer.Option(None, "--budget", help="Stop the whole profile (earlier runs included) at this many completion tokens (20000, 400k, 2M) or this much sampling time (30m, 2h)."),
    strategy: str = typer.Option("uniform", "--strategy", help="With --budget: 'uniform' (every problem and temperature alike, level by level) or 'adaptive' (after a uniform first pass, samples go where answers are least settled; none to temperatures clearly worse)."),
    max_tokens: Optional[int] = typer.Option(None, "--max-tokens", help="Token cap per sample (default: the task set's, else 128)."),
    limit: Optional[int] = typer.Option(None, "--limit", help="Use only the first N problems (after --shuffle)."),
    shuffle: bool = typer.Option(False, "--shuffle", help="Shuffle the problems (seeded by --seed) before --limit."),
    seed: int = typer.Option(0, "--seed", help="Seed of every sample and of --shuffle."),
    grader: Optional[str] = typer.Option(None, "--grader", help="auto, numeric, exact, choice, regex:PATTERN, math or code (default: per task / set)."),
    template: Optional[str] = typer.Option(None, "--template", help="Prompt template: chat, chat-short, base or raw (default: the set's)."),
    truncated: Optional[str] = typer.Option(None, "--truncated", help="A sample cut off at --max-tokens: 'abstain' (no vote, not correct) or 'grade' its text as any other (default: abstain for the chat template, grade otherwise)."),
    probes: int = typer.Option(0, "--probes", help="Answer-now probes per sample: at this many depths spread over --max-tokens (4: 1/8, 1/4, 1/2, 3/4) the sample is also made to answer on the side while it goes on, and at --max-tokens it is made to answer instead of abstaining; the planner then chooses a thinking budget."),
    probe_depths: Optional[str] = typer.Option(None, "--probe-depths", help="Probe at these token counts instead (64,128,256)."),
    force_answer: Optional[str] = typer.Option(None, "--force-answer", help="The answer prompt of a forced answer (default: 'Therefore, the final answer is', after the model's end-of-thinking marker where its template has one); alone, it makes a sample at --max-tokens answer instead of abstaining."),
    answer_tokens: int = typer.Option(32, "--answer-tokens", help="Most tokens of a forced answer (it ends at its first line break)."),
    allow_code_execution: bool = typer.Option(False, "--allow-code-execution", help="Allow the code grader to run model-written code (sandboxed)."),
    force: bool = typer.Option(False, "--force", help="Start OUT over if it was made with other settings."),
    no_text: bool = typer.Option(False, "--no-text", help="Do not keep completion texts in the profile."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Profile file to write (resumed if it exists)."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable result on stdout."),
    settings: BackendSettings = None,  # the shared backend options (cli.options.backend_options)
) -> None:
    """Profile MODEL on a task set into -o PROFILE; rerunning continues where it stopped."""
    if ctx.invoked_subcommand is not None:
        return
    if out is None:
        raise click.UsageError("missing option '--out' / '-o' (the profile file to write)", ctx=ctx)
    from inferplan import api
    from inferplan.cli.render.profile import ProgressBar, render_profile_result


    with ProgressBar() as bar:
        prof = api.profile(model, out=out, tasks=options.task_spec(tasks, field), temperatures=options.parse_temperatures(temperatures), samples=samples,
                           max_tokens=max_tokens, limit=limit, shuffle=shuffle, seed=seed, grader=grader,
                           template=template, truncated=truncated, allow_code_execution=allow_code_execution, force=force,
                           keep_text=not no_text, backend=settings, on_progress=bar.update, budget=budget,
                           strategy=strategy, probes=probes, probe_depths=options.parse_ints(probe_depths, "--probe-depths"),
                           force_answer=force_answer, answer_tokens=answer_tokens)
    render_profile_result(prof.run, as_json=as_json)


@profile_app.command("show", cls=Command)
def show_cmd(
    path: Path = typer.Argument(..., help="A profile file."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable summary on stdout."),
) -> None:
    """Problems, samples per configuration, pass@1 with a Beta-posterior interval, tokens, throughput."""
    from inferplan import api
    from inferplan.cli.render.profile import render_summary

    render_summary(api.summarize(path), as_json=as_json)
