"""Rendering of `plan` and `simulate` results (rich tables or JSON)."""

from __future__ import annotations

from pathlib import Path

from rich.table import Table

from inferplan.api import (
    Baseline,
    PlanResult,
    SimulationResult,
    describe_batch,
    describe_fixed,
    describe_policy,
    rule_legend,
)
from inferplan.cli.render.common import fmt_estimate, out, print_json, replayed_json, total_unit_words, warn


def _num(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"


def _baseline_json(b: Baseline) -> dict:
    return {"name": b.name, "accuracy": b.accuracy.point, "accuracy_ci": list(b.accuracy.interval),
            "cost_per_query": b.cost.point, "samples_per_query": b.samples}


def _baseline_table(rows: tuple[Baseline, ...], unit: str, title: str) -> Table:
    t = Table(title=title, title_justify="left")
    cols = ("baseline", "accuracy", "samples/query") + (() if unit == "samples" else (f"{unit}/query",))
    for col in cols:
        t.add_column(col, justify="left" if col == "baseline" else "right")
    for b in rows:
        t.add_row(b.name, fmt_estimate(b.accuracy), f"{b.samples:.2f}",
                  *(() if unit == "samples" else (_num(b.cost.point),)))
    return t


def _gain(accuracy: float, cost: float, b: Baseline, what: str, unit: str, how: str = "") -> str:
    """"+2.8 points over one sample (80.0% [74.7, 84.6]) for 8.2× the samples"."""
    ratio = f"{cost / b.cost.point:.3g}× the {'cost' if unit == 'usd' else unit}" if b.cost.point > 0 else "its cost"
    return f"{100 * (accuracy - b.accuracy.point):+.1f} points over {what} ({fmt_estimate(b.accuracy)}" \
           f"{how}) for {ratio}"


def buys(accuracy: float, cost: float, baselines: tuple[Baseline, ...], unit: str) -> str | None:
    """What a plan buys, in one line: against one sample, and against fixed N at no more cost
    (plan's "best fixed-N at this budget", else simulate's largest fixed-N that costs no more)."""
    one = next((b for b in baselines if b.name.startswith("one sample") or b.name == "fixed-1"), None)
    fixed = next((b for b in baselines if b.name.startswith("best fixed-N")), None)
    if fixed is None:
        cheaper = [b for b in baselines if b.name.startswith("fixed-") and b.name != "fixed-1"
                   and b.cost.point <= cost * (1 + 1e-9)]
        fixed = max(cheaper, key=lambda b: b.cost.point, default=None)
    parts = [_gain(accuracy, cost, one, "one sample", unit)] if one is not None else []
    if fixed is not None:
        how = "the best fixed-N within the budget" if fixed.name.startswith("best") else "fixed-N at no more cost"
        parts.append(_gain(accuracy, cost, fixed, describe_fixed(fixed.samples).replace("always draw", "always"),
                           unit, f"; {how}"))
    return "; ".join(parts) or None


def _legend(names: list[str]) -> None:
    for line in rule_legend(names):
        out.print(f"  [dim]{line}[/dim]", highlight=False)


def render_plan(r: PlanResult, path: Path | None, *, as_json: bool, verbose: bool = False) -> None:
    p = r.plan
    if as_json:
        print_json({
            "plan": {**p.to_json(), "accuracy": r.heldout.accuracy.point, "accuracy_ci": list(r.heldout.accuracy.interval),
                     "cost_per_query": r.heldout.cost.point, "samples_per_query": r.heldout.samples},
            "written": str(path) if path else None,
            "pareto": [{"mix": x.mix, "rule": x.rule, "max_tokens": x.max_tokens, "train_accuracy": x.train_accuracy,
                        "train_cost": x.train_cost, "heldout": replayed_json(x.heldout), "extrapolated": x.extrapolated}
                       for x in r.pareto],
            "baselines": [_baseline_json(b) for b in r.baselines],
            "split": {"source": r.split_source, "train": r.train_problems, "test": r.test_problems},
            "candidates": r.candidates, "seconds": r.seconds,
        })
        return
    goal = (f"max accuracy at ≤ {p.budget:g} {p.unit}/query" if p.budget is not None
            else f"min {p.unit} for accuracy ≥ {p.target_accuracy:g}")
    out.print(f"[bold]Plan[/bold] ({goal}; {r.candidates} candidates searched in {r.seconds:.1f}s)")
    mix = ", ".join(f"{k} {v:.0%}" for k, v in p.mix.items())
    out.print(f"  mix          {mix}")
    out.print(f"  stopping     {p.rule.describe()}", highlight=False)
    out.print(f"  batches      {describe_batch(p.batch)}", highlight=False)
    out.print(f"  answer       {p.aggregation.describe()}", highlight=False)
    if verbose:
        out.print(f"  as specs     rule {p.rule.spec}, aggregation {p.aggregation.kind}, batch {p.batch}",
                  highlight=False)
    if p.terminate is not None:
        out.print(f"  cut          a sample whose windowed confidence falls under the floor set by each query's "
                  f"first {p.terminate.warmup} samples ({p.terminate.keep:.0%} of them stay above it)", highlight=False)
    out.print(_tokens_line(p), highlight=False)
    e = r.heldout
    cost = "" if p.unit == "samples" else f"{_num(e.cost.point)} {p.unit}/query [{_num(e.cost.interval[0])}, {_num(e.cost.interval[1])}], "
    where = "held-out problems"
    if p.prediction is not None and p.prediction.extrapolated:
        where += f"; [bold]extrapolated[/bold]: predicted by the fitted curve, beyond the {p.prediction.recorded_samples} recorded samples"
    out.print(f"  predicted    accuracy {fmt_estimate(e.accuracy)}, {cost}{e.samples:.2f} samples/query "
              f"({where})")
    if line := buys(e.accuracy.point, e.cost.point, r.baselines, p.unit):
        out.print(f"  buys         {line}", highlight=False)
    if p.batch_allocation is not None:
        _batch_lines(p.batch_allocation, p.unit, r.train_problems, p.budget)
    for note in p.notes:
        out.print(f"  [dim]{note}[/dim]")
    if path:
        out.print(f"  written to   {path}")
    t = Table(title="Pareto frontier (chosen on training problems, replayed on held-out)", title_justify="left")
    for col in ("rule", "mix", "cap", "train acc", f"train {p.unit}", "held-out acc", f"held-out {p.unit}"):
        t.add_column(col, justify="left" if col in ("rule", "mix") else "right")
    for x in r.pareto:
        guard = f" ≤{x.rule.rsplit('max=', 1)[-1]}" if "max=" in x.rule else ""  # a round (first@4) has none
        t.add_row(x.rule.split(",min")[0] + guard + (" *" if x.extrapolated else ""),
                  "+".join(x.mix), str(x.max_tokens or "–"),
                  f"{100 * x.train_accuracy:.1f}%", _num(x.train_cost),
                  f"{100 * x.heldout.accuracy.point:.1f}% ±{50 * (x.heldout.accuracy.interval[1] - x.heldout.accuracy.interval[0]):.1f}",
                  _num(x.heldout.cost.point))
    if any(x.extrapolated for x in r.pareto):
        t.caption = "* predicted by the fitted curve, beyond the recorded samples"
    out.print(t)
    _legend([x.rule for x in r.pareto])
    out.print(_baseline_table(r.baselines, p.unit, "Baselines (held-out problems)"))


def _batch_lines(b, unit: str, train: int, p_budget: float | None = None) -> None:
    """``plan --batch``: the allocation in words, then what it predicts at the total on held-out problems."""
    out.print(f"  one total    {b.describe()} (chosen among {len(b.train)} allocations on the {train} training "
              "problems)", highlight=False)
    if (x := b.prediction) is not None:
        unit = total_unit_words(unit)  # the plan's own figures above count prompts too; a total does not
        less = "" if b.per_query is None or p_budget is None or abs(p_budget - b.per_query) < 1e-9 else \
            f" (the budget less the {_num(p_budget - b.per_query)}-token prompt a query reads)"
        out.print(f"  at a total   of {_num(b.per_query)} {unit}{less} × the queries: accuracy "
                  f"{fmt_estimate(x.accuracy)}, self-consistency "
                  f"{fmt_estimate(x.self_consistency)}, spending {_num(x.cost)} {unit}/query "
                  f"({x.problems} held-out problems × {x.reps} orders; uniform at the same total "
                  f"{fmt_estimate(x.uniform_accuracy)})", highlight=False)


def render_simulation(r: SimulationResult, *, as_json: bool) -> None:
    for w in r.warnings:
        warn(w)
    e = r.estimate
    if as_json:
        print_json({
            "plan": {"rule": r.rule, "mix": r.mix, "unit": r.unit, "accuracy": e.accuracy.point,
                     "accuracy_ci": list(e.accuracy.interval), "cost_per_query": e.cost.point, "cost_ci": list(e.cost.interval),
                     "samples_per_query": e.samples},
            "baselines": [_baseline_json(b) for b in r.baselines],
            "problems": r.problems, "reps": r.reps, "replayed_on": r.source,
        })
        return
    out.print(f"[bold]{r.rule}[/bold] replayed on {r.source} ({r.problems} problems × {r.reps} orders)")
    out.print(f"  {describe_policy(r.rule)}", highlight=False)
    cost = "" if r.unit == "samples" else f"{_num(e.cost.point)} {r.unit}/query [{_num(e.cost.interval[0])}, {_num(e.cost.interval[1])}]   "
    out.print(f"  accuracy {fmt_estimate(e.accuracy)}   {cost}{e.samples:.2f} samples/query")
    if line := buys(e.accuracy.point, e.cost.point, r.baselines, r.unit):
        out.print(f"  buys {line}", highlight=False)
    out.print(_baseline_table(r.baselines, r.unit, "Fixed-N majority on the same problems and orders"))


def _tokens_line(p) -> str:
    """The plan's per-sample token cap, or its thinking budget, in words."""
    if p.thinking is not None:
        return (f"  thinking     each sample thinks at most {p.max_tokens} tokens; one still thinking then is made to "
                f"answer ({p.thinking.text.strip()!r}, at most {p.thinking.answer_tokens} tokens)")
    return f"  max tokens   {p.max_tokens if p.max_tokens is not None else 'as profiled'}"
