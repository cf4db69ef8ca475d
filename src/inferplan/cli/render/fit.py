"""Rendering of a FitReport: rich tables, a compact terminal curve, JSON, and the PNG."""

from __future__ import annotations

from pathlib import Path

from rich.table import Table

from inferplan.cli.render.budgets import budget_curve_line, draw_budget_panel, render_budgets
from inferplan.cli.render.common import err, fmt_interval, out, print_json
from inferplan.cli.render.spark import sparkline
from inferplan.errors import DependencyError, InputError


def write_report(report, path: Path, force: bool = False) -> None:
    from inferplan.api import save_report

    save_report(report, path, force=force)
    err.print(f"wrote {path}", highlight=False)


# The curve families and metrics in plain words (methods.md says how they are fitted).
FAMILY_WORDS = {
    "power-law": "the share of problems still unsolved shrinks as a power of k",
    "beta-binomial-averaged": "each problem has its own chance of success, some never solved",
    "beta-binomial+never": "each problem has its own chance of success, some never solved",
    "beta-binomial": "each problem has its own chance of success",
}
METRIC_WORDS = {
    "pass@k": "some one of k samples is right (what a checker of answers would get)",
    "maj@k": "the most common of k answers is right (majority vote, no checker)",
    "best@k": "the sample with the best mean token log-probability is right",
}


def render_fit(report, as_json: bool = False, verbose: bool = False) -> None:
    if as_json:
        print_json(report.to_json())
        return
    sel = report.selection
    cv = ", ".join(f"{f} {e:.2f}" for f, e in sel.errors.items() if e == e)
    own = sel.errors.get(sel.family, float("nan"))
    words = f" ({FAMILY_WORDS[sel.family]})" if sel.family in FAMILY_WORDS else ""
    out.print(f"[bold]{report.profile}[/bold]  curve family: [cyan]{sel.family}[/cyan]{words}", highlight=False)
    if verbose and cv:
        out.print(f"  CV extrapolation error {sel.subsample}→{sel.target_k} samples, points: {cv}", highlight=False)
    elif own == own:
        out.print(f"  chosen by cross-validation: predicting {sel.target_k} samples per problem from "
                  f"{sel.subsample}, it erred by {own:.2f} points", highlight=False)
    metrics = dict.fromkeys(m for cfg in report.configs for m in cfg.observed)
    for m in metrics:
        out.print(f"  {m}: {METRIC_WORDS.get(m, m)}", highlight=False)
    finite = {f: e for f, e in sel.errors.items() if e == e}
    if finite and finite.get(sel.family, float("inf")) > min(finite.values()):
        out.print(f"  ({sel.family} is kept: another family replaces the preferred one only when its CV error is "
                  "lower by more than one standard error)", highlight=False)
    shares = {f: w for f, w in (sel.weights or {}).items() if w > 0}
    if len(shares) > 1:
        out.print("  pass@k curve: " + " + ".join(f"{w:.2f} × {f}" for f, w in shares.items())
                  + " (least-squares stacking on the same CV)", highlight=False)
    for cfg in report.configs:
        _render_config(cfg, report, verbose)
    if report.budgets:
        render_budgets(report.budgets, None)
        out.print(f"  {budget_curve_line(report.budgets)}", highlight=False)
    for note in report.notes:
        err.print(f"note: {note}", highlight=False)


def _render_config(cfg, report, verbose: bool = False) -> None:
    lo_n, hi_n = cfg.samples
    title = f"{cfg.config}: {cfg.problems} problems × {lo_n}{'' if lo_n == hi_n else f'–{hi_n}'} samples"
    table = Table(title=title, title_justify="left", show_edge=False)
    table.add_column("k", justify="right")
    metrics = list(cfg.observed)
    for m in metrics:
        table.add_column(f"{m} ({int(report.level * 100)}% CI)", justify="right")
    for k in cfg.observed["pass@k"]:
        table.add_row(str(k), *[fmt_interval(cfg.observed[m][k], *cfg.observed_intervals[m][k]) for m in metrics])
    pred_metrics = list(cfg.predicted)
    for k in report.at:
        cells = []
        for m in metrics:
            cells.append(f"[magenta]{fmt_interval(cfg.predicted[m][k], *cfg.predicted_intervals[m][k])}[/magenta]"
                         if m in pred_metrics else "")
        table.add_row(f"[magenta]{k}*[/magenta]", *cells)
    out.print(table)
    p = cfg.params.get("pass@k", {})
    params = (": " + ", ".join(f"{k}={v:.3g}" for k, v in p.items())) if verbose and p else ""
    out.print(f"  * predicted by the {cfg.family} curve{params}; its intervals are for these problems' own curve, "
              "the rows above bootstrap over problems", highlight=False)
    for m in pred_metrics:
        sat = cfg.saturation_k.get(m)
        curve = cfg.curve.get(m, {})
        ks = list(curve)
        vals = list(curve.values())
        line = f"k=1…{ks[-1]} {sparkline(vals, min(vals), max(vals))} ({100 * vals[0]:.1f}→{100 * vals[-1]:.1f}%)" if ks else ""
        out.print(f"  {m}: ceiling {100 * cfg.ceiling[m]:.1f}%, saturates at k ≈ {sat if sat else '> 10^6'}   {line}",
                  highlight=False)
    if verbose and (sc := cfg.params.get("maj@k", {}).get("self_check")) and sc.get("halves"):
        out.print(f"  maj@k self-check: from half of each problem's samples the model missed the observed maj@n by "
                  f"{100 * sc['model_error']:.2f} points, not predicting by {100 * sc['observed_error']:.2f}; so it moves "
                  f"{sc['weight']:.2f} of the way to the model (at most {sc['prior']:.2f}), interval widened by "
                  f"{100 * sc['bias']:.2f} points", highlight=False)


def check_plot_output(path: Path, force: bool = False) -> None:
    """A plot goes to a .png that is absent or one inferplan drew (unless ``force``): call before fitting."""
    from inferplan.api import check_replaceable, png_drawn_by_inferplan

    if Path(path).suffix.lower() != ".png":
        raise InputError(f"{path}: --plot writes a PNG image; give a file name ending in .png")
    check_replaceable(Path(path), png_drawn_by_inferplan, "plot", force)


def pyplot():
    """matplotlib's pyplot drawing to files only (no display), or one line saying how to install it."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise DependencyError("--plot needs matplotlib: pip install matplotlib") from None
    return plt


def write_plot(report, path: Path, force: bool = False) -> None:
    """PNG: per metric, observed points with intervals, fitted/extrapolated curve per config."""
    plt = pyplot()
    import matplotlib.ticker
    metrics = [m for m in ("pass@k", "maj@k") if any(m in c.observed for c in report.configs)]
    from matplotlib.lines import Line2D

    panels = len(metrics) + bool(report.budgets)
    fig, axes = plt.subplots(1, panels, figsize=(8.0 * panels, 4.8), squeeze=False)
    if report.budgets:
        draw_budget_panel(axes[0][-1], report.budgets)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, m in zip(axes[0], metrics):
        for i, cfg in enumerate(report.configs):
            if m not in cfg.observed:
                continue
            col = colors[i % len(colors)]
            ks = list(cfg.observed[m])
            ys = [100 * cfg.observed[m][k] for k in ks]
            lo = [ys[j] - 100 * cfg.observed_intervals[m][k][0] for j, k in enumerate(ks)]
            hi = [100 * cfg.observed_intervals[m][k][1] - ys[j] for j, k in enumerate(ks)]
            ax.errorbar(ks, ys, yerr=[lo, hi], fmt="o", ms=4, capsize=2, color=col)
            fk, fy = list(cfg.curve.get(m, {})), list(cfg.curve.get(m, {}).values())
            if fk:
                ax.plot(fk, [100 * v for v in fy], "-", color=col, alpha=0.8, label=cfg.config)
            at = [k for k in report.at if k in cfg.predicted.get(m, {})]
            py = [100 * cfg.predicted[m][k] for k in at]
            plo = [py[j] - 100 * cfg.predicted_intervals[m][k][0] for j, k in enumerate(at)]
            phi = [100 * cfg.predicted_intervals[m][k][1] - py[j] for j, k in enumerate(at)]
            ax.errorbar(at, py, yerr=[plo, phi], fmt="s", mfc="none", ms=7, capsize=3, color=col)
            ax.axvline(ks[-1], color="grey", lw=0.6, ls=":")
        ax.set_xscale("log", base=2)
        ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
        ax.set_xlabel("k (samples per problem); dotted: recorded n")
        ax.set_ylabel(f"{m} (%)")
        ax.set_title(f"{m}: observed ({int(report.level * 100)}% CI) and extrapolation")
        ax.grid(alpha=0.3)
        # One entry per configuration (colour) plus what the marker shapes mean.
        handles, labels = ax.get_legend_handles_labels()
        handles += [Line2D([], [], color="k", marker="o", ls="", ms=4), Line2D([], [], color="k", marker="s", mfc="none", ls="", ms=7)]
        labels += [f"observed ({int(report.level * 100)}% CI)", "predicted at --at"]
        ax.legend(handles, labels, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    save_png(fig, path, force)


def save_png(fig, path: Path, force: bool = False) -> None:
    """Write a matplotlib figure as a PNG inferplan can later recognise as its own (atomically; a
    file inferplan did not draw is replaced only with ``force``), and close it."""
    import io

    from inferplan.api import PNG_SOFTWARE, png_drawn_by_inferplan, write_atomically

    fig.tight_layout()
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=110, metadata={"Software": PNG_SOFTWARE})
    pyplot().close(fig)
    write_atomically(path, png.getvalue(), owned=png_drawn_by_inferplan, what="plot", force=force)
    err.print(f"wrote {path}", highlight=False)
