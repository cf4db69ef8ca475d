"""Plans across models on one accuracy-against-cost picture: each model's held-out frontier, the
best cascade and mix, and the chosen policy — a character chart in the terminal and a PNG."""

from __future__ import annotations

import math
from pathlib import Path

from inferplan.cli.render.common import out

WIDTH, HEIGHT = 56, 12  # the chart's plotting area in characters: fits 80 columns with its labels


def _points(r) -> list[tuple[str, str, float, float, tuple[float, float]]]:
    """(marker, label, held-out cost, accuracy, accuracy interval) of everything the picture shows."""
    pts = []
    for i, (model, front) in enumerate(r.frontiers):
        mark = chr(ord("A") + i)
        pts += [(mark, model, p.heldout.cost.point, p.heldout.accuracy.point, p.heldout.accuracy.interval) for p in front]
    for mark, other in (("c", r.cascade), ("m", r.mix)):
        if other is not None:
            pts.append((mark, "best cascade" if mark == "c" else "best mix in one vote", other.heldout.cost.point,
                        other.heldout.accuracy.point, other.heldout.accuracy.interval))
    pts.append(("*", f"chosen ({r.kind})", r.heldout.cost.point, r.heldout.accuracy.point, r.heldout.accuracy.interval))
    return pts


def render_frontier_chart(r, unit: str) -> None:
    """Accuracy (rows) against cost per query (columns, log scale) in characters; the chosen plan last, on top."""
    draw_chart(_points(r), f"Accuracy against {unit}/query, held-out problems (cost on a log scale)",
               "(letters: each model's frontier)")


def draw_chart(pts: list[tuple[str, str, float, float, tuple[float, float]]], title: str, note: str) -> None:
    """(marker, label, cost, accuracy, interval) points on an 80-column chart, cost on a log scale;
    a later point is drawn over an earlier one in the same cell."""
    pts = [p for p in pts if p[2] > 0]
    if len(pts) < 2:
        return
    lo_c, hi_c = min(p[2] for p in pts), max(p[2] for p in pts)
    lo_a, hi_a = min(p[3] for p in pts), max(p[3] for p in pts)
    span_c, span_a = max(math.log(hi_c / lo_c), 1e-9), max(hi_a - lo_a, 1e-9)
    grid = [[" "] * WIDTH for _ in range(HEIGHT)]
    for mark, _, cost, acc, _ in pts:
        col = round(math.log(cost / lo_c) / span_c * (WIDTH - 1))
        row = HEIGHT - 1 - round((acc - lo_a) / span_a * (HEIGHT - 1))
        grid[row][col] = mark
    out.print(title, highlight=False)
    for i, line in enumerate(grid):
        label = f"{100 * hi_a:5.1f}% " if i == 0 else f"{100 * lo_a:5.1f}% " if i == HEIGHT - 1 else " " * 7
        out.print(f"{label}│{''.join(line)}", highlight=False)
    left, right = f"{lo_c:.3g}", f"{hi_c:.3g}"
    out.print(" " * 7 + "└" + "─" * WIDTH, highlight=False)
    out.print(" " * 8 + left + " " * max(1, WIDTH - len(left) - len(right)) + right, highlight=False)
    legend = dict.fromkeys(f"{mark} {label}" for mark, label, *_ in pts)
    out.print("  " + "   ".join(legend) + f"  {note}", highlight=False)


def write_frontier_plot(r, unit: str, path: Path, force: bool = False) -> None:
    """PNG: each model's held-out frontier with 95% intervals, the best cascade and mix, the chosen plan."""
    from inferplan.cli.render.fit import pyplot, save_png

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8.0, 5.0))
    styles = {"c": ("D", "cascade"), "m": ("P", "mix"), "*": ("*", "chosen")}
    for model, front in r.frontiers:
        xs = [p.heldout.cost.point for p in front]
        ys = [100 * p.heldout.accuracy.point for p in front]
        err_ = [[y - 100 * p.heldout.accuracy.interval[0] for y, p in zip(ys, front)],
                [100 * p.heldout.accuracy.interval[1] - y for y, p in zip(ys, front)]]
        ax.errorbar(xs, ys, yerr=err_, fmt="o-", ms=4, capsize=2, alpha=0.8, label=f"{model} (its frontier)")
    for mark, label, cost, acc, ci in _points(r):
        if mark in styles:
            ax.errorbar([cost], [100 * acc], yerr=[[100 * (acc - ci[0])], [100 * (ci[1] - acc)]], fmt=styles[mark][0],
                        ms=12 if mark == "*" else 8, capsize=3, color="k" if mark == "*" else None, label=label)
    ax.set_xscale("log")
    ax.set_xlabel(f"{unit} per query (held-out problems)")
    ax.set_ylabel("accuracy (%)")
    ax.set_title("Plans across models: each model's frontier and the chosen policy (95% CI)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    save_png(fig, path, force)
