"""Rendering of `inferplan run --total-budget`: per query what it got, then the spend and what is unsettled."""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table

from inferplan.cli.render.common import out, print_json


def _num(x: float) -> int | float:
    return int(x) if float(x).is_integer() else round(float(x), 6)


def total_summary(run) -> dict:
    """The last JSON line: the total, the spend and how many queries are still unsettled."""
    return {"summary": {
        "total_budget": _num(run.total), "unit": run.unit, "spent": _num(run.spent), "queries": len(run.answers),
        "unsettled": run.unsettled, "samples": sum(a.samples for a in run.answers),
        "cancelled": run.cancelled, "resumed_samples": run.resumed, "unrecorded_samples": run.orphans}}


def render_total(run, json_out: bool) -> None:
    """One JSON object per query then a summary line (``--json``), or a table and a summary line."""
    if json_out:
        for a in run.answers:
            print_json({"id": a.id, "answer": a.answer, "votes": a.votes, "samples": a.samples,
                        "completion_tokens": a.completion_tokens, "settled": a.settled})
        print_json(total_summary(run))
        return
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    for name, justify in (("id", "left"), ("answer", "left"), ("votes", "right"), ("samples", "right"),
                          ("tokens", "right"), ("settled", "left")):
        table.add_column(name, justify=justify)
    for a in run.answers:
        share = f"{a.votes.get(a.answer, 0)}/{a.samples}" if a.answer is not None else f"0/{a.samples}"
        table.add_row(escape(str(a.id)), "[yellow]no answer[/yellow]" if a.answer is None else escape(a.answer),
                      share, str(a.samples), str(a.completion_tokens), "yes" if a.settled else "[yellow]no[/yellow]")
    out.print(table)
    resumed = f" · {run.resumed} samples resumed from the record" if run.resumed else ""
    orphans = f" ({run.orphans} unrecorded by the interrupted run, charged in full)" if run.orphans else ""
    out.print(f"spent {_num(run.spent)} of {_num(run.total)} {run.unit}{orphans} · "
              f"{run.unsettled} of {len(run.answers)} queries still unsettled · "
              f"{sum(a.samples for a in run.answers)} samples{resumed}", highlight=False)
