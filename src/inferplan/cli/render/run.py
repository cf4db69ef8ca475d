"""Rendering of `inferplan run` results: JSON lines, or rich answer + vote tables."""

from __future__ import annotations

import logging
from typing import Iterable

from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from inferplan.api import QueryResult
from inferplan.cli.render.common import err, fmt_interval, out, print_json, warn


class _RichLogHandler(logging.Handler):
    """Library warnings (e.g. the AMX fallback) as one styled stderr line each."""

    def emit(self, record: logging.LogRecord) -> None:
        msg = record.getMessage()
        if record.levelno >= logging.WARNING:
            warn(escape(msg))
        else:
            err.print(escape(msg), style="dim", highlight=False)


def install_log_handler(debug: bool) -> None:
    """Route the ``inferplan`` logger to stderr (DEBUG level with --debug); idempotent."""
    logger = logging.getLogger("inferplan")
    if not any(isinstance(h, _RichLogHandler) for h in logger.handlers):
        logger.addHandler(_RichLogHandler())
    logger.setLevel(logging.DEBUG if debug else logging.INFO)
    logger.propagate = False


def result_json(r: QueryResult, show_samples: bool, timing: bool = True) -> dict:
    """The documented JSON object of one query's result.

    Everything but ``seconds`` (wall clock) is a function of the command and seed;
    ``timing=False`` drops it so that reruns are byte-identical.
    """
    obj = {
        "id": r.id, "answer": r.answer, "votes": r.votes, "samples": r.samples,
        "completion_tokens": r.completion_tokens, "prompt_tokens": r.prompt_tokens,
        "seconds": round(r.seconds, 3), "stop_reason": r.stop_reason, "model": r.model,
        "tie": tied(r),
    }
    if r.model_warning:
        obj["model_mismatch"] = r.model_warning
    if r.stages:  # a cascade: which models ran for this query and what each spent
        obj["stages"] = [{"model": s.model, "answer": s.answer, "votes": s.votes, "samples": s.samples,
                          "completion_tokens": s.completion_tokens, "prompt_tokens": s.prompt_tokens,
                          "seconds": round(s.seconds, 3), "stood": s.stood, "wasted_tokens": s.wasted_tokens}
                         for s in r.stages]
    if r.pool:  # a mix in one vote: every model's samples voted; what each answered and spent
        obj["pool"] = [{"model": s.model, "answer": s.answer, "votes": s.votes, "samples": s.samples,
                        "completion_tokens": s.completion_tokens, "prompt_tokens": s.prompt_tokens,
                        "seconds": round(s.seconds, 3), "wasted_tokens": s.wasted_tokens} for s in r.pool]
    if not timing:
        del obj["seconds"]
        for stage in (*obj.get("stages", ()), *obj.get("pool", ())):
            del stage["seconds"]
    if r.rule is not None:  # planned runs also say why the query stopped
        obj.update({"rule": r.rule, "statistic": None if r.statistic != r.statistic else round(r.statistic, 6),
                    "wasted_tokens": r.wasted_tokens, "configs": list(r.configs)})
    if thinking := r.thinking():  # a thinking budget: how much each sample thought, and how many were made to answer
        obj["thinking"] = thinking
    if show_samples:
        obj["sample_details"] = [
            {"index": i, "answer": a, "finish": f, "logprob": None if lp is None else round(lp, 4), "text": t}
            for i, (a, f, lp, t) in enumerate(zip(r.answers, r.finishes, r.logprobs, r.texts))
        ]
        obj["texts"] = list(r.texts)
    return obj


def tied(r: QueryResult) -> bool:
    """Whether the answer won a tie (broken at random, by the seed): the reader must know it was a coin."""
    counts = sorted(r.votes.values(), reverse=True)
    return len(counts) > 1 and counts[0] == counts[1]


def render_text(r: QueryResult, many: bool, show_samples: bool) -> None:
    """Answer, vote table, tokens and time for one query."""
    head = f"[bold]#{escape(str(r.id))}[/bold]  " if many else ""
    if r.answer is None:
        out.print(f"{head}[yellow]no answer[/yellow] (no sample gave an extractable answer)", highlight=False)
    else:
        share = r.votes.get(r.answer, 0)
        tie = "  [yellow]tie: the answer was drawn at random among the leaders[/yellow]" if tied(r) else ""
        out.print(f"{head}Answer: [bold green]{escape(r.answer)}[/bold green]  ({share}/{r.stages[-1].samples if r.stages else r.samples} votes){tie}",
                  highlight=False)
    if r.votes:
        table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
        table.add_column("answer")
        table.add_column("votes", justify="right")
        table.add_column("share", justify="right")
        voters = r.stages[-1].samples if r.stages else r.samples  # a cascade: the answering stage voted
        for answer, count in r.votes.items():
            table.add_row(escape(answer), str(count), f"{100 * count / voters:.0f}%")
        abstained = voters - sum(r.votes.values())
        if abstained:
            table.add_row("[dim](none)[/dim]", str(abstained), f"{100 * abstained / voters:.0f}%")
        out.print(table)
    out.print(
        f"[dim]{r.samples} samples · {r.completion_tokens} completion tokens "
        f"({r.completion_tokens / max(r.samples, 1):.1f}/sample) · {r.prompt_tokens} prompt tokens · "
        f"{r.seconds:.1f} s" + (f" · {escape(r.model)}" if r.model else "") + "[/dim]", highlight=False,
    )
    if r.stages:
        steps = " → ".join(f"{escape(p.model)}: {p.samples} sample{'s' if p.samples != 1 else ''}, "
                           + ("answer stood" if p.stood else "escalated") for p in r.stages)
        out.print(f"[dim]cascade: {steps}[/dim]", highlight=False)
    if r.pool:
        parts = " · ".join(f"{escape(p.model)}: {p.samples} sample{'s' if p.samples != 1 else ''}, "
                           f"{p.completion_tokens} tokens" for p in r.pool)
        out.print(f"[dim]one vote over {parts}[/dim]", highlight=False)
    if r.rule is not None:
        out.print(f"[dim]stopped by {escape(r.stop_reason)} ({escape(r.rule)}, statistic {r.statistic:.3g})[/dim]",
                  highlight=False)
    if show_samples:
        for i, (a, f, t) in enumerate(zip(r.answers, r.finishes, r.texts)):
            out.print(f"[bold]sample {i}[/bold] [dim]({f}, answer: {escape(str(a))})[/dim]", highlight=False)
            out.print(escape(t.strip()), highlight=False)
    if many:
        out.print()


def render_results(results: Iterable[QueryResult], total: int, json_out: bool, show_samples: bool,
                   timing: bool = True, predicted: tuple[float, float, float] | None = None) -> None:
    """Render results as they arrive; a progress bar on a terminal when there are many.

    ``predicted`` (accuracy, low, high): the plan's held-out accuracy, said once under the
    answers so that a reader weighs them by it."""
    many = total > 1
    progress = None
    if many and err.is_terminal:
        progress = Progress(TextColumn("running"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                            console=err, transient=True)
        task = progress.add_task("run", total=total)
        progress.start()
    try:
        for r in results:
            if json_out:
                print_json(result_json(r, show_samples, timing))
            else:
                render_text(r, many, show_samples)
            if progress is not None:
                progress.advance(task)
    finally:
        if progress is not None:
            progress.stop()
    if predicted is not None and not json_out:
        out.print(f"[dim]The plan predicts {fmt_interval(*predicted)} of its answers right on questions like "
                  "its profile's (held-out replay).[/dim]", highlight=False)
