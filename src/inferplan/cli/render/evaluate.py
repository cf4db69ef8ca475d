"""Rendering of `inferplan evaluate`: prediction vs reality vs fixed-N, as a table or JSON."""

from __future__ import annotations

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from inferplan.cli.render.common import err, fmt_interval, out, print_json
from inferplan.runner.evaluate import EvaluationResult


class EvalProgress:
    """A stderr progress line: queries answered and running accuracy."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled and err.is_terminal
        self.done = self.right = 0
        self._p = Progress(TextColumn("evaluating"), BarColumn(), MofNCompleteColumn(),
                           TextColumn("{task.fields[acc]}"), TimeElapsedColumn(), console=err, transient=True)

    def __enter__(self) -> "EvalProgress":
        if self.enabled:
            self._p.start()
            self._task = self._p.add_task("eval", total=None, acc="")
        return self

    def update(self, result, correct: bool) -> None:
        self.done += 1
        self.right += bool(correct)
        if self.enabled:
            self._p.update(self._task, completed=self.done, acc=f"accuracy {100 * self.right / self.done:.0f}%")

    def __exit__(self, *exc) -> None:
        if self.enabled:
            self._p.stop()


def evaluation_json(r: EvaluationResult) -> dict:
    p, z, b = r.predicted, r.realised, r.baseline
    return {
        "plan": {"rule": r.plan.rule.spec, "mix": r.plan.mix, "aggregation": r.plan.aggregation.kind,
                 "unit": r.unit},
        "problems": z.problems,
        "source": r.source,
        "predicted": None if p is None else {
            "accuracy": p.accuracy, "accuracy_ci": list(p.accuracy_ci), "cost_per_query": p.cost,
            "cost_ci": list(p.cost_ci), "samples_per_query": p.samples},
        "realised": {
            "accuracy": z.accuracy, "accuracy_ci": list(z.accuracy_ci), "cost_per_query": z.cost_per_query,
            "samples_per_query": z.samples_per_query,
            "completion_tokens_per_query": z.completion_tokens_per_query, "seconds": round(z.seconds, 2)},
        "baseline": None if b is None else {
            "name": b.name, "accuracy": b.accuracy, "cost_per_query": b.cost_per_query, "samples_per_query": b.samples},
        "checks": checks(r),
    }


def checks(r: EvaluationResult) -> dict:
    """The core's verdict under its documented JSON names."""
    c = r.checks
    return {"accuracy_in_predicted_interval": c.accuracy_in_predicted_interval,
            "cost_within_15pct": c.cost_within_tolerance, "beats_fixed_n": c.beats_fixed_n}


def render_evaluation(r: EvaluationResult, json_out: bool) -> None:
    if json_out:
        print_json(evaluation_json(r))
        return
    p, z, b = r.predicted, r.realised, r.baseline
    out.print(f"Evaluated [bold]{r.plan.rule.spec}[/bold] on {r.source} "
              f"({z.problems} problems, {z.seconds:.0f} s).", highlight=False)
    t = Table(header_style="bold")
    t.add_column("")
    t.add_column("accuracy [95% interval]", justify="right")
    t.add_column(f"{r.unit}/query", justify="right")
    t.add_column("samples/query", justify="right")
    if p is not None:
        t.add_row("predicted (replay of held-out)", fmt_interval(p.accuracy, *p.accuracy_ci), f"{p.cost:.4g}",
                  f"{p.samples:.2f}")
    t.add_row("[bold]realised (fresh samples)[/bold]", fmt_interval(z.accuracy, *z.accuracy_ci),
              f"{z.cost_per_query:.4g}", f"{z.samples_per_query:.2f}")
    if b is not None:
        how = {"oracle": "with the verifier", "conf-vote": "conf-vote", "logprob": "best logprob"}.get(
            r.plan.aggregation.kind, "majority")
        t.add_row(f"{b.name} {how}, same cost", f"{100 * b.accuracy:.1f}%", f"{b.cost_per_query:.4g}",
                  f"{b.samples:.2f}")
    out.print(t)
    c = checks(r)
    verdict = {True: "[green]yes[/green]", False: "[red]no[/red]", None: "–"}
    out.print(f"accuracy inside the predicted interval: {verdict[c['accuracy_in_predicted_interval']]} · "
              f"cost within 15% of predicted: {verdict[c['cost_within_15pct']]} · "
              f"at least fixed-N at equal cost: {verdict[c['beats_fixed_n']]}", highlight=False)
