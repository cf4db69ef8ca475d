"""`inferplan run`: draw N samples per prompt, extract answers, majority vote."""

from __future__ import annotations

import sys
from typing import List, Optional

import typer

from inferplan.cli import options as opt
from inferplan.errors import InputError
from inferplan.grading.extract import EXTRACTORS


def _parse_temperatures(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(t) for t in text.split(",") if t.strip())
    except ValueError:
        raise InputError(f"--temperatures must be comma-separated numbers, got {text!r}") from None
    if not values:
        raise InputError("--temperatures needs at least one value")
    return values


def run(
    prompts: Optional[List[str]] = typer.Argument(
        None, help="Prompt(s) to answer; '-' reads stdin, one prompt per line.", show_default=False),
    input: Optional[str] = typer.Option(
        None, "--input", "-i", help="JSONL file: one query a line with id and prompt|messages|input|question."),
    n: Optional[int] = typer.Option(None, "-n", "--samples", help="Samples per prompt (default 8; not with --plan)."),
    plan: Optional[str] = typer.Option(
        None, "--plan", help="Run a plan made by `inferplan plan`: its mix, stopping rule, caps and aggregation."),
    max_samples: Optional[int] = typer.Option(None, "--max-samples", help="With --plan: at most this many samples per prompt."),
    temperatures: str = typer.Option("0.7", "--temperatures", "-t", help="Comma-separated, cycled over the samples; 0 = greedy."),
    max_tokens: Optional[int] = typer.Option(
        None, "--max-tokens", help="Maximum tokens per sample (default 256; with --plan, the plan's cap)."),
    seed: int = typer.Option(0, "--seed", help="Seed of all sampling and tie-breaking."),
    system: Optional[str] = typer.Option(None, "--system", help="System message for chat prompts."),
    raw: bool = typer.Option(False, "--raw", help="Send prompts as raw text, without the chat template."),
    extract: str = typer.Option("auto", "--extract", help=f"Answer extractor: {', '.join(EXTRACTORS)}."),
    stop: Optional[List[str]] = typer.Option(None, "--stop", help="Stop string (repeatable); the text is cut there."),
    top_p: float = typer.Option(1.0, "--top-p", help="Nucleus sampling threshold (1 = off)."),
    json_out: bool = typer.Option(False, "--json", help="One JSON object per prompt on stdout."),
    show_samples: bool = typer.Option(False, "--show-samples", help="Also show (or, with --json, include) each sample's text."),
    no_timing: bool = typer.Option(False, "--no-timing", help="Leave wall-clock 'seconds' out of --json, so reruns are byte-identical."),
    model: str = opt.MODEL,
    threads: Optional[int] = opt.THREADS,
    ctx: int = opt.CTX,
    gpu_layers: int = opt.GPU_LAYERS,
    weights: str = opt.WEIGHTS,
    parallel: int = opt.PARALLEL,
    model_name: Optional[str] = opt.MODEL_NAME,
    api_key_env: Optional[str] = opt.API_KEY_ENV,
) -> None:
    """Answer prompts by majority vote over N samples, or as a plan says (--plan).

    Many prompts (from --input or stdin) share the engine's batch. Prompts go to
    an instruct model as a chat user message (plus --system) unless --raw; with
    --plan they are asked exactly the way the plan's profile asked them.
    """
    from inferplan.backends import open_backend
    from inferplan.cli.app import DEBUG
    from inferplan.cli.render.run import install_log_handler, render_results
    from inferplan.run.queries import queries_from_stdin_lines, queries_from_texts, read_queries
    from inferplan.run.runner import RunSettings, run_queries, validate_settings

    install_log_handler(DEBUG["on"])
    max_tokens_given = max_tokens is not None
    max_tokens = 256 if max_tokens is None else max_tokens
    prompts = list(prompts or [])
    if input and prompts:
        raise InputError("give prompts as arguments or --input FILE, not both")
    if input:
        queries = read_queries(input)
    elif prompts == ["-"]:
        queries = queries_from_stdin_lines(sys.stdin)
    elif prompts:
        queries = queries_from_texts(prompts)
    else:
        raise InputError("nothing to run: give a prompt, '-' for stdin, or --input FILE")
    if plan is not None:
        if n is not None:
            raise InputError("-n does not go with --plan (the plan's stopping rule decides; use --max-samples)")
        from inferplan.run.planned import PlanOverrides, effective_max_tokens, effective_rule, run_plan
        from inferplan.plan.plan_file import load_plan

        the_plan = load_plan(plan)
        overrides = PlanOverrides(max_samples=max_samples, max_tokens=max_tokens if max_tokens_given else None,
                                  seed=seed, system=system)
        effective_rule(the_plan, overrides), effective_max_tokens(the_plan, overrides)  # validate before loading

        def answer(backend):
            return run_plan(queries, backend, the_plan, overrides)
    else:
        if max_samples is not None:
            raise InputError("--max-samples goes with --plan; without a plan use -n")
        settings = RunSettings(
            n=8 if n is None else n, temperatures=_parse_temperatures(temperatures), max_tokens=max_tokens,
            seed=seed, system=system, raw=raw, extract=extract, stop=tuple(stop or ()), top_p=top_p,
        )
        validate_settings(settings)  # before the (slow) model load

        def answer(backend):
            return run_queries(queries, backend, settings)
    backend = open_backend(model, opt.backend_settings(threads, ctx, gpu_layers, parallel, model_name, api_key_env, weights))
    try:
        render_results(answer(backend), len(queries), json_out, show_samples, timing=not no_timing)
    finally:
        backend.close()


def register(app: typer.Typer) -> None:
    """Add this module's command(s) to the app."""
    app.command("run")(run)
