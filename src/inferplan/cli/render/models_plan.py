"""Rendering of a plan across models (`inferplan plan A.jsonl B.jsonl …`): the choice, each model's
own best plan, the best cascade and the best mix in one vote, all replayed on the same held-out problems."""

from __future__ import annotations

from pathlib import Path

from rich.markup import escape
from rich.table import Table

from inferplan.api import ModelsPlanResult
from inferplan.cli.render.common import fmt_cost, fmt_estimate, out, print_json, replayed_json
from inferplan.cli.render.frontier import render_frontier_chart


def models_plan_json(r: ModelsPlanResult, path: Path | None) -> dict:
    c = r.cascade
    return {
        "kind": r.kind, "model": r.model, "policy": r.policy, "describe": r.describe,
        "heldout": replayed_json(r.heldout), "escalation": r.escalation,
        "models": [{"model": s.model, "policy": s.policy, "describe": s.describe, "train_accuracy": s.train_accuracy,
                    "train_cost": s.train_cost, "heldout": replayed_json(s.heldout)} for s in r.singles],
        "best_cascade": None if c is None else {
            "policy": c.cascade.spec, "describe": c.cascade.describe(), "train_accuracy": c.train_accuracy,
            "train_cost": c.train_cost, "heldout": replayed_json(c.heldout), "escalation": c.escalation,
            "reach": list(c.reach)},
        "best_mix": None if r.mix is None else {
            "counts": r.mix.counts, "train_accuracy": r.mix.train_accuracy, "train_cost": r.mix.train_cost,
            "heldout": replayed_json(r.mix.heldout), "beats_single_on_training": r.mix.beats, "chosen": r.kind == "mix"},
        "frontiers": [{"model": m, "points": [{"policy": q.policy, "train_cost": q.train_cost,
                                               "heldout": replayed_json(q.heldout)} for q in front]}
                      for m, front in r.frontiers],
        "notes": list(r.notes), "split": {"train": r.train_problems, "test": r.test_problems},
        "written": str(path) if path else None, "plan": r.plan.to_json() if r.plan else None,
    }


def render_models_plan(r: ModelsPlanResult, path: Path | None, *, as_json: bool) -> None:
    if as_json:
        print_json(models_plan_json(r, path))
        return
    p = r.plan
    goal = (f"max accuracy at ≤ {p.budget:g} {p.unit}/query" if p.budget is not None
            else f"min {p.unit} for accuracy ≥ {p.target_accuracy:g}")
    out.print(f"[bold]Plan across {r.models} models[/bold] ({goal}; searched in {r.seconds:.1f}s)")
    chosen = {"cascade": "a cascade", "mix": "a mix in one vote"}.get(r.kind, f"one model: {r.model}")
    out.print(f"  chosen       {chosen}", highlight=False)
    if r.kind == "mix":
        out.print(f"  one vote     {' + '.join(f'{n} sample(s) of {m}' for m, n in r.mix.counts.items() if n)}",
                  highlight=False)
    elif r.kind == "cascade":
        for i, stage in enumerate(r.cascade.cascade.stages, start=1):
            out.print(f"  stage {i}      {stage.describe()}", highlight=False)
    else:
        out.print(f"  stopping     {r.describe}", highlight=False)
    if p.aggregation.kind != "vote":
        out.print(f"  answer       {p.aggregation.describe()}", highlight=False)
    e = r.heldout
    cost = f"{fmt_cost(e.cost.point)} {p.unit}/query [{fmt_cost(e.cost.interval[0])}, {fmt_cost(e.cost.interval[1])}]"
    out.print(f"  predicted    accuracy {fmt_estimate(e.accuracy)}, {cost}, {e.samples:.2f} samples/query "
              "(held-out problems)", highlight=False)
    if r.escalation is not None:
        later = "".join(f", {100 * x:.0f}% the model after" for x in r.cascade.reach[1:]) if r.cascade else ""
        out.print(f"  escalates    {100 * r.escalation:.0f}% of queries reach the next model{later} (held-out)",
                  highlight=False)
    for note in r.notes:
        out.print(f"  [dim]{escape(note)}[/dim]", highlight=False)
    if path:
        out.print(f"  written to   {path}")
    others = " and ".join(x for x, there in (("the best cascade", r.cascade), ("the best mix", r.mix)) if there)
    t = Table(title=f"Each model's own best plan{', ' + others if others else ''} (held-out problems)",
              title_justify="left")
    for col in ("policy", "held-out accuracy", f"{p.unit}/query", "escalates"):
        t.add_column(col, justify="left" if col == "policy" else "right")
    for s in r.singles:
        t.add_row(f"{s.model}: {s.policy.split(',min')[0]}", fmt_estimate(s.heldout.accuracy),
                  fmt_cost(s.heldout.cost.point), "–")
    if r.cascade is not None:
        c = r.cascade
        t.add_row(f"cascade {c.cascade.spec}" + (" (chosen)" if r.kind == "cascade" else ""),
                  fmt_estimate(c.heldout.accuracy), fmt_cost(c.heldout.cost.point),
                  f"{100 * c.escalation:.0f}%")
    if r.mix is not None:
        m = r.mix
        t.add_row(f"mix in one vote {m.spec}" + (" (chosen)" if r.kind == "mix" else ""), fmt_estimate(m.heldout.accuracy),
                  fmt_cost(m.heldout.cost.point), "–")
    out.print(t)
    if r.frontiers:
        render_frontier_chart(r, p.unit)
