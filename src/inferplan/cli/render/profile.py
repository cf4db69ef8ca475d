"""Rendering for `inferplan profile`, `profile show` and `import`."""

from __future__ import annotations

from dataclasses import asdict

from inferplan.api import ImportResult, ProfileResult, ProfileSummary, Progress
from inferplan.cli.render.budgets import render_budgets
from inferplan.cli.render.common import err, fmt_interval, out, print_json, warn


def render_import(result: ImportResult, *, as_json: bool) -> None:
    """One summary line (or a JSON object) for an import."""
    if as_json:
        print_json({**asdict(result), "path": str(result.path)})
        return
    line = (f"wrote {result.path}: {result.problems} problems × {len(result.configs)} "
            f"configuration(s), {result.records} samples")
    if result.extracted is not None:
        line += f", answers extracted from {result.extracted} ({100 * result.extracted / max(1, result.records):.1f}%)"
    out.print(line, highlight=False)
    for note in result.notes:
        out.print(f"note: {note}", highlight=False)


class ProgressBar:
    """A rich progress bar on stderr: samples, samples/s, tokens/s, ETA, running accuracy per temperature."""

    def __init__(self) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self._progress = Progress(
            TextColumn("[bold]profiling"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[rates]}"), TextColumn("ETA"), TimeRemainingColumn(),
            TextColumn("{task.fields[acc]}"),
            console=err, transient=False, refresh_per_second=4,
        )
        self._task = None

    def __enter__(self) -> ProgressBar:
        return self  # the bar appears with the first sample (errors before that print alone)

    def __exit__(self, *exc: object) -> None:
        if self._task is not None:
            self._progress.stop()

    def update(self, p: Progress) -> None:
        if self._task is None:
            self._progress.start()
            self._task = self._progress.add_task("profile", total=p.total, rates="", acc="")
        secs = max(p.elapsed, 1e-9)
        acc = "  ".join(f"{name} {c / n:.0%}" for name, (c, n) in p.accuracy.items() if n)
        self._progress.update(self._task, completed=p.done, total=p.total,
                              rates=f"{p.done / secs:.1f} samples/s {p.completion_tokens / secs:.0f} tok/s", acc=acc)


def render_profile_result(result: ProfileResult, *, as_json: bool) -> None:
    """What a profiling run wrote."""
    if as_json:
        print_json({**asdict(result), "path": str(result.path)})
        return
    if result.written == 0:
        out.print(f"{result.path}: complete, nothing to do ({result.already} samples on disk)", highlight=False)
        return
    rate = result.completion_tokens / result.seconds if result.seconds > 0 else float("nan")
    out.print(
        f"wrote {result.written} samples to {result.path} ({result.problems} problems × "
        f"{len(result.configs)} temperatures; {result.already} were already there) in {result.seconds:.0f}s, "
        f"{rate:.0f} tokens/s — see `inferplan profile show {result.path}`", highlight=False)
    b = result.budgeted
    if b is not None:
        why = {"budget": "the budget is spent", "settled": "every open problem's answers have settled "
               "(more samples would not change the plan)", "cap": "every problem has --samples samples"}[b.stopped]
        rounds = f" after {b.rounds} adaptive round(s)" if b.strategy == "adaptive" else ""
        out.print(f"stopped because {why}: {b.samples} samples in the profile{rounds}, "
                  f"{b.spent:,.0f} of {b.budget:,.0f} {'tokens' if b.unit == 'tokens' else 's'} spent",
                  highlight=False)


def render_summary(s: ProfileSummary, *, as_json: bool) -> None:
    """The `profile show` table."""
    if s.duplicates:
        warn(f"{s.path} holds {s.duplicates} duplicate record(s) (the same problem, configuration and index "
             "written twice, e.g. by two runs at once before inferplan locked profiles); the last of each is used")
    if as_json:
        d = asdict(s)
        d["path"] = str(s.path)
        print_json(d)
        return
    from rich.table import Table

    out.print(f"[bold]{s.path}[/bold]: model {s.model} ({s.backend}), tasks {s.tasks}", highlight=False)
    line = f"{s.problems} problems, {s.samples} samples"
    if s.split:
        line += f"; split: {s.split.get('train', 0)} train / {s.split.get('test', 0)} test problems"
    if s.tokens_per_second:
        line += f"; throughput {s.tokens_per_second:.0f} tokens/s, {s.samples_per_second:.2f} samples/s"
    out.print(line, highlight=False)
    table = Table(show_header=True, header_style="bold")
    for col in ("config", "T", "samples", "n/problem", f"pass@1 [{s.level:.0%} CI]", "pass@k",
                "answered", "tok med", "tok p90"):
        table.add_column(col, justify="left" if col == "config" else "right", no_wrap=col.startswith("pass"))
    for c in s.configs:
        per = str(c.min_per_problem) if c.min_per_problem == c.max_per_problem else f"{c.min_per_problem}–{c.max_per_problem}"
        table.add_row(
            c.name, "—" if c.temperature is None else f"{c.temperature:g}", str(c.samples), per,
            fmt_interval(c.pass1, c.pass1_low, c.pass1_high),
            "—" if c.k == 0 else f"@{c.k} {100 * c.pass_k:.1f}%", f"{100 * c.answered:.0f}%",
            "—" if c.tokens_median is None else f"{c.tokens_median:.0f}",
            "—" if c.tokens_p90 is None else f"{c.tokens_p90:.0f}",
        )
    out.print(table)
    cut = [c for c in s.configs if c.truncated > 0]
    if cut:  # an answer read from text cut off at the cap is usually not the model's answer
        counted = ("counted as abstentions (--truncated abstain)" if s.truncated_policy == "abstain"
                   else "counted in 'answered' above")
        warn(f"samples cut off at the token cap (finish = length, or forced: their forced answers are in the "
             f"thinking-budgets table), {counted}: "
             + ", ".join(f"{c.name} {100 * c.truncated:.0f}%" for c in cut)
             + "; raise --max-tokens when profiling if these matter")
    out.print("pass@1 interval: Jeffreys Beta posterior with the number of problems as sample size "
              "(samples of one problem are correlated).", style="dim", highlight=False)
    if s.budgets:
        render_budgets(s.budgets, s.probe_overhead)
