"""`inferplan run`: answer prompts by majority vote over N samples, or as a plan says (--plan)."""

from __future__ import annotations

import sys
from typing import Optional

import typer

from inferplan.api import EXTRACTORS, BackendSettings
from inferplan.cli import options as opt
from inferplan.errors import InputError


def _queries(prompts: list[str], input: str | None):
    from inferplan.api import queries_from_stdin_lines, queries_from_texts, read_queries

    if input and prompts:
        raise InputError("give prompts as arguments or --input FILE, not both")
    if input:
        return read_queries(input)
    if prompts == ["-"]:
        return queries_from_stdin_lines(sys.stdin)
    if prompts:
        return queries_from_texts(prompts)
    raise InputError("nothing to run: give a prompt, '-' for stdin, or --input FILE")


def _plan_to_run(plan: str | None, n: int | None, max_samples: int | None, temperatures: str, max_tokens: int | None,
                 system: str | None, raw: bool, extract: str, stop: list[str] | None, top_p: float,
                 thinking_budget: int | None, model: list[str] | None):
    """The plan to run: the file given, or the fixed plan of -n and the sampling flags."""
    from inferplan import api

    if plan is not None:
        if n is not None:
            raise InputError("-n does not go with --plan (the plan's stopping rule decides; use --max-samples)")
        if thinking_budget is not None:
            raise InputError("--thinking-budget goes without --plan (a plan carries its own)")
        return api.load_plan(plan)
    if max_samples is not None:
        raise InputError("--max-samples goes with --plan; without a plan use -n")
    return api.fixed_plan(8 if n is None else n, temperatures=opt.parse_temperatures(temperatures),
                          max_tokens=256 if max_tokens is None else max_tokens, system=system, raw=raw,
                          extract=extract, stop=tuple(stop or ()), top_p=top_p, thinking_budget=thinking_budget,
                          model=model[0] if model and "=" not in model[0] else api.DEFAULT_MODEL)


@opt.backend_options()
def run(
    prompts: Optional[list[str]] = typer.Argument(
        None, help="Prompt(s) to answer; '-' reads stdin, one prompt per line.", show_default=False),
    input: Optional[str] = typer.Option(
        None, "--input", "-i", help="JSONL file: one query a line with id and prompt|messages|input|question."),
    n: Optional[int] = typer.Option(None, "-n", "--samples", help="Samples per prompt (default 8; not with --plan)."),
    plan: Optional[str] = typer.Option(
        None, "--plan", help="Run a plan made by `inferplan plan`: its mix, stopping rule, caps and aggregation."),
    max_samples: Optional[int] = typer.Option(None, "--max-samples", help="With --plan: at most this many samples per prompt."),
    temperatures: str = typer.Option("0.7", "--temperatures", "-t", help="Comma-separated, cycled over the samples; 0 = greedy."),
    max_tokens: Optional[int] = typer.Option(None, "--max-tokens", help="Maximum tokens per sample (default 256; with --plan, the plan's cap)."),
    seed: int = typer.Option(0, "--seed", help="Seed of all sampling and tie-breaking."),
    system: Optional[str] = typer.Option(None, "--system", help="System message for chat prompts."),
    raw: bool = typer.Option(False, "--raw", help="Send prompts as raw text, without the chat template."),
    extract: str = typer.Option("auto", "--extract", help=f"Answer extractor: {', '.join(EXTRACTORS)}."),
    stop: Optional[list[str]] = typer.Option(None, "--stop", help="Stop string (repeatable); the text is cut there."),
    top_p: float = typer.Option(1.0, "--top-p", help="Nucleus sampling threshold (1 = off)."),
    thinking_budget: Optional[int] = typer.Option(None, "--thinking-budget", show_default=False, help="Each sample thinks at most this many tokens, then is made to answer (the model's end-of-thinking marker where it has one, then 'Therefore, the final answer is'); not with --plan."),
    json_out: bool = typer.Option(False, "--json", help="One JSON object per prompt on stdout."),
    show_samples: bool = typer.Option(False, "--show-samples", help="Also show (or, with --json, include) each sample's text."),
    no_timing: bool = typer.Option(False, "--no-timing", help="Leave wall-clock 'seconds' out of --json, so reruns are byte-identical."),
    total_budget: Optional[float] = typer.Option(
        None, "--total-budget", help="One hard total for all the queries, in the plan's unit (tokens, samples, "
        "seconds or usd of the tokens generated; without --plan: tokens): freed slots go to the queries whose next "
        "sample is worth most (PETS), as the plan's batch_allocation says.",
        show_default=False),
    output: Optional[str] = typer.Option(None, "--out", "-o", help="With --total-budget: record every sample in this JSONL file as it starts and ends; rerunning the same command resumes from it."),
    force: bool = typer.Option(False, "--force", help="With -o: start over, replacing the record."),
    model: Optional[list[str]] = opt.PLAN_MODELS,
    model_mismatch: str = opt.MODEL_MISMATCH,
    settings: BackendSettings = None,  # the shared backend options (cli.options.backend_options)
) -> None:
    """Answer prompts by majority vote over N samples, or as a plan says (--plan).

    Many prompts (from --input or stdin) share the engine's batch. Prompts go to
    an instruct model as a chat user message (plus --system) unless --raw; with
    --plan they are asked exactly the way the plan's profile asked them.
    """
    from inferplan import api
    from inferplan.cli.render.run import render_results

    queries = _queries(list(prompts or []), input)
    the_plan = _plan_to_run(plan, n, max_samples, temperatures, max_tokens, system, raw, extract, stop, top_p,
                            thinking_budget, model)
    planned = plan is not None
    model = opt.plan_models(model, the_plan.escalate is not None or bool(the_plan.pool))
    if total_budget is not None or output is not None:
        _run_total(the_plan, queries, total_budget, output, force, show_samples, json_out, model=model,
                   settings=settings, max_samples=max_samples, max_tokens=max_tokens if planned else None, seed=seed,
                   system=system if planned else None, model_mismatch=model_mismatch)
        return
    results = api.run_iter(
        the_plan, queries, model=model,
        settings=settings,
        max_samples=max_samples, max_tokens=max_tokens if planned else None, seed=seed,
        system=system if planned else None, model_mismatch=model_mismatch)
    pred = the_plan.prediction
    render_results(results, len(queries), json_out, show_samples, timing=not no_timing,
                   predicted=None if pred is None else (pred.accuracy.point, *pred.accuracy.interval))


def _run_total(the_plan, queries, total: float | None, output: str | None, force: bool, show_samples: bool,
               json_out: bool, **kwargs) -> None:
    """``run --total-budget X``: one hard total over all the queries (``ip.run_total``)."""
    from inferplan import api
    from inferplan.cli.render.total_budget import render_total

    if total is None:
        raise InputError("-o/--out goes with --total-budget (it records a run under one total)")
    if show_samples:
        raise InputError("--show-samples does not go with --total-budget (-o records every sample's answer)")
    result = api.run_total(the_plan, queries, total_budget=total, journal=output, force=force, **kwargs)
    render_total(result, json_out)
