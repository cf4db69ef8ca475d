"""Rendering of `inferplan simulate --total-budget`: one total spent four ways on the held-out problems."""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table

from inferplan.cli.render.common import fmt_estimate, out, print_json, total_unit_words, warn


def _num(x: float) -> str:
    """Thousands as 13,500; small amounts (usd, seconds) with their significant digits."""
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.4g}"


def render_total_simulation(r, *, as_json: bool) -> None:
    for w in r.warnings:
        warn(w)
    if as_json:
        tokens = r.unit == "tokens"  # "tokens" keys as before; "spent" in any unit
        print_json({"total_budget": r.total, "unit": r.unit, "problems": r.problems, "reps": r.reps,
                    "rule": r.rule, "plan_made_here": r.planned,
                    "rows": [{"name": x.name, "accuracy": x.accuracy.point, "accuracy_ci": list(x.accuracy.interval),
                              "self_consistency": x.sc_rate.point, "self_consistency_ci": list(x.sc_rate.interval),
                              "spent": x.spent, "spent_per_query": x.spent / r.problems,
                              **({"tokens": x.spent, "tokens_per_query": x.spent / r.problems} if tokens else {})}
                             for x in r.rows]})
        return
    made = " (made here at the total per query, on the training problems)" if r.planned else ""
    unit = total_unit_words(r.unit)
    out.print(f"[bold]{_num(r.total)} {unit}[/bold] over {r.problems} held-out problems × {r.reps} orders "
              f"({_num(r.total / r.problems)} per query); per-query plan {escape(r.rule)}{made}", highlight=False)
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    for name, justify in (("allocation", "left"), ("accuracy [95%]", "right"), ("self-consistency [95%]", "right"),
                          (f"{unit}/query", "right")):
        table.add_column(name, justify=justify)
    for x in r.rows:
        table.add_row(escape(x.name), fmt_estimate(x.accuracy),
                      fmt_estimate(x.sc_rate),
                      _num(x.spent / r.problems))
    out.print(table)
    own = " The plan's batch_allocation is what run --plan --total-budget does." if r.rows[0].name.startswith(
        "plan's batch_allocation") else ""
    out.print("[dim]self-consistency: the vote agrees with the vote of every recorded sample. The batch rows never "
              f"pass the total; the per-query plan spends what its rule spends.{escape(own)}"
              + (" Tokens are those generated, as run --total-budget counts them: prompts are not counted."
                 if r.unit == "tokens" else "") + "[/dim]", highlight=False)
