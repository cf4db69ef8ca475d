"""Rendering of `inferplan evaluate`: prediction vs reality vs fixed-N, as a table or JSON."""

from __future__ import annotations

from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from inferplan.api import Estimate, EvaluationResult
from inferplan.cli.render.common import err, fmt_estimate, out, print_json


class EvalProgress:
    """A stderr progress line: queries answered and running accuracy."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled and err.is_terminal
        self.done = self.right = 0
        self._p = Progress(TextColumn("evaluating"), BarColumn(), MofNCompleteColumn(),
                           TextColumn("{task.fields[acc]}"), TimeElapsedColumn(), console=err, transient=True)

    def __enter__(self) -> EvalProgress:
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


def _listed(figure: Estimate | None) -> list[float] | None:
    return None if figure is None or figure.interval is None else list(figure.interval)


def evaluation_json(r: EvaluationResult) -> dict:
    p, z, b, w = r.predicted, r.realised, r.baseline, r.promised
    return {
        "plan": {"rule": r.plan.rule.spec, "mix": r.plan.mix, "aggregation": r.plan.aggregation.kind,
                 "unit": r.unit},
        "model": r.model,
        **({"model_mismatch": r.model_warning} if r.model_warning else {}),
        "problems": z.problems,
        "source": r.source,
        "predicted": None if p is None else {
            "accuracy": p.accuracy.point, "accuracy_ci": list(p.accuracy.interval), "cost_per_query": p.cost.point,
            "cost_ci": list(p.cost.interval), "samples_per_query": p.samples,
            **({} if w is None else {
                "replayed_samples_per_query": w.samples.point, "replayed_samples_ci": _listed(w.samples),
                "completion_tokens_per_query": None if w.completion_tokens is None else w.completion_tokens.point,
                "completion_tokens_ci": _listed(w.completion_tokens)})},
        "realised": {
            "accuracy": z.accuracy.point, "accuracy_ci": list(z.accuracy.interval), "cost_per_query": z.cost.point,
            "samples_per_query": z.samples,
            "completion_tokens_per_query": z.completion_tokens_per_query,
            "prompt_tokens_per_query": z.prompt_tokens_per_query, "seconds": round(z.seconds, 2),
            "censored_samples": round(z.censored, 4)},
        "baseline": None if b is None else {
            "name": b.name, "accuracy": b.accuracy, "cost_per_query": b.cost_per_query, "samples_per_query": b.samples},
        "checks": checks(r),
        **({} if r.escalation is None else {"escalation": {
            "predicted": p.escalation if p is not None else None, "realised": r.escalation,
            "stages": [s.model.label if s.model else None for s in r.plan.stages]}}),
        **({} if r.by_model is None else {"models": [{"model": name, "cost_per_query": cost}
                                                     for name, cost in r.by_model]}),
    }


def checks(r: EvaluationResult) -> dict:
    """The core's verdict under its documented JSON names."""
    c = r.checks
    return {"accuracy_in_predicted_interval": c.accuracy_in_predicted_interval,
            "cost_within_15pct": c.cost_within_tolerance, "beats_fixed_n": c.beats_fixed_n,
            "samples_as_promised": c.samples_as_promised,
            "completion_tokens_as_promised": c.completion_tokens_as_promised,
            **({} if c.escalation_as_predicted is None else {"escalation_within_10pt": c.escalation_as_predicted})}


def _per_query(promise: Estimate | None, digits: str = ".2f") -> str:
    if promise is None:
        return "–"
    shown, interval = format(promise.point, digits), promise.interval
    return shown if interval is None else f"{shown} [{format(interval[0], digits)}, {format(interval[1], digits)}]"


def render_evaluation(r: EvaluationResult, json_out: bool) -> None:
    if json_out:
        print_json(evaluation_json(r))
        return
    p, z, b, w = r.predicted, r.realised, r.baseline, r.promised
    policy = r.plan.cascade.spec if r.plan.escalate is not None else r.plan.rule.spec
    if r.plan.pool:  # a mix in one vote: samples × model, for each model
        policy = "mix " + " + ".join(f"{m.max_samples}×{m.model.label if m.model else '?'}" for m in r.plan.members)
    out.print(f"Evaluated [bold]{escape(policy)}[/bold] on {r.source} with {r.model} "
              f"({z.problems} problems, {z.seconds:.0f} s).", highlight=False)
    if r.model_warning:
        out.print(f"[yellow]warning:[/yellow] {r.model_warning}", highlight=False)
    t = Table(header_style="bold")
    t.add_column("")
    t.add_column("accuracy [95% interval]", justify="right")
    t.add_column(f"{r.unit}/query", justify="right")
    t.add_column("samples/query", justify="right")
    t.add_column("completion tokens/query", justify="right")
    if p is not None:
        t.add_row("predicted (replay of held-out)", fmt_estimate(p.accuracy), f"{p.cost.point:.4g}",
                  _per_query(w.samples) if w is not None else f"{p.samples:.2f}",
                  _per_query(w.completion_tokens, ".1f") if w is not None else "–")
    t.add_row("[bold]realised (fresh samples)[/bold]", fmt_estimate(z.accuracy),
              f"{z.cost.point:.4g}", f"{z.samples:.2f}", f"{z.completion_tokens_per_query:.1f}")
    if b is not None:
        how = {"oracle": "with the verifier", "conf-vote": "conf-vote", "logprob": "best logprob"}.get(
            r.plan.aggregation.kind, "majority")
        t.add_row(f"{b.name} {how}, same cost", f"{100 * b.accuracy:.1f}%", f"{b.cost_per_query:.4g}",
                  f"{b.samples:.2f}", "")
    out.print(t)
    out.print(f"[dim]prompt tokens per query (apart from the completions): {z.prompt_tokens_per_query:.1f}[/dim]",
              highlight=False)
    if z.censored > 0:
        out.print(f"[dim]censored: {100 * z.censored:.1f}% of samples ended at the token cap with no answer — "
                  "abstentions, not counted as wrong answers[/dim]", highlight=False)
    c = checks(r)
    verdict = {True: "[green]yes[/green]", False: "[red]no[/red]", None: "–"}
    out.print(f"accuracy inside the predicted interval: {verdict[c['accuracy_in_predicted_interval']]} · "
              f"cost within 15% of predicted: {verdict[c['cost_within_15pct']]} · "
              f"at least fixed-N at equal cost: {verdict[c['beats_fixed_n']]}", highlight=False)
    if r.escalation is not None:
        predicted = f"{100 * p.escalation:.0f}%" if p is not None and p.escalation is not None else "–"
        out.print(f"escalated to the next model: {100 * r.escalation:.0f}% of queries (predicted {predicted}) · "
                  f"within 10 points: {verdict[c.get('escalation_within_10pt')]}", highlight=False)
    if r.by_model:
        out.print("[dim]realised cost per query by model: " + " · ".join(
            f"{escape(name)} {cost:.4g}" for name, cost in r.by_model) + "[/dim]", highlight=False)
    out.print(f"samples per query as promised: {verdict[c['samples_as_promised']]} · "
              f"completion tokens per query as promised: {verdict[c['completion_tokens_as_promised']]}",
              highlight=False)
