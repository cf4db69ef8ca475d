"""Rendering of `inferplan fit A B …`: each model's curve against its cost per query, as a table,
an 80-column chart and a PNG."""

from __future__ import annotations

from pathlib import Path

from rich.markup import escape
from rich.table import Table

from inferplan.cli.render.common import fmt_cost, fmt_interval, out, print_json
from inferplan.cli.render.frontier import draw_chart


def render_models_fit(r, *, as_json: bool) -> None:
    if as_json:
        print_json(r.to_json())
        return
    level = f"{100 * r.level:g}%"
    out.print(f"[bold]Fit across {len(r.curves)} models[/bold] ({r.metric} against {r.unit} per query; each model's "
              f"configuration that is highest at its largest recorded k; intervals {level})", highlight=False)
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    for name, justify in (("model", "left"), ("config", "left"), ("k", "right"), (f"{r.unit}/query", "right"),
                          (f"{r.metric} [{level}]", "right"), ("", "left")):
        table.add_column(name, justify=justify, no_wrap=name != "model")  # a narrow terminal folds the name only
    for c in r.curves:
        for i, p in enumerate(c.points):
            table.add_row(escape(c.model) if i == 0 else "", escape(c.config) if i == 0 else "", str(p.k), fmt_cost(p.cost),
                          fmt_interval(p.accuracy, *p.interval), "recorded" if p.observed else "extrapolated")
    out.print(table)
    marks = [chr(ord("A") + i) for i in range(len(r.curves))]
    pts = [(m, c.model, p.cost, p.accuracy, p.interval) for m, c in zip(marks, r.curves) for p in c.points]
    draw_chart(pts, f"{r.metric} against {r.unit}/query (cost on a log scale)",
               "(letters: each model's k = 1, 2, 4, … and the extrapolated k)")
    out.print(f"[dim]A query at k samples costs the query's overhead plus k × the mean recorded sample of the "
              f"configuration, in {r.unit}; each model's own fit (every configuration): `inferplan fit PROFILE`."
              "[/dim]", highlight=False)


def write_models_fit_plot(r, path: Path, force: bool = False) -> None:
    """PNG: each model's curve against cost per query, recorded points solid, extrapolated dashed, with the
    fit's intervals (its --level)."""
    from inferplan.cli.render.fit import pyplot, save_png

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8.0, 5.0))
    for c in r.curves:
        recorded = [p for p in c.points if p.observed]
        beyond = recorded[-1:] + [p for p in c.points if not p.observed]  # the dashed line starts at the last recorded
        color = None
        for pts, style, extra in ((recorded, "o-", ""), (beyond if len(beyond) > 1 else [], "s--", ", extrapolated")):
            if not pts:
                continue
            ys = [100 * p.accuracy for p in pts]
            err = [[y - 100 * p.interval[0] for y, p in zip(ys, pts)], [100 * p.interval[1] - y for y, p in zip(ys, pts)]]
            line = ax.errorbar([p.cost for p in pts], ys, yerr=err, fmt=style, ms=4, capsize=2, alpha=0.85,
                               color=color, label=f"{c.model} ({c.config}){extra}")
            color = line[0].get_color()  # the extrapolated part in the recorded part's color
    ax.set_xscale("log")
    ax.set_xlabel(f"{r.unit} per query")
    ax.set_ylabel(f"{r.metric} (%)")
    ax.set_title(f"Each model's {r.metric} against its cost per query ({100 * r.level:g}% intervals)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    save_png(fig, path, force)
