"""The thinking-budget curve in the terminal: the table `profile show` and `fit` print, and a
one-line curve of accuracy against budget."""

from __future__ import annotations

from rich.table import Table

from inferplan.cli.render.common import fmt_interval, out
from inferplan.cli.render.spark import sparkline


def render_budgets(budgets, probe_overhead: float | None) -> None:
    """Accuracy per sample against the thinking budget: a plain cap (a sample still thinking
    abstains) beside a forced answer (it is made to answer), censored shares apart."""
    table = Table(show_header=True, header_style="bold", show_edge=False,
                  title="Thinking budgets (one sample; forced answers from the profile's probes)")
    rows = [(str(r.budget), fmt_interval(r.plain, *r.plain_ci), fmt_interval(r.forced, *r.forced_ci),
             f"{100 * r.censored_plain:.0f}% → {100 * r.censored_forced:.0f}%", f"{100 * r.escaped:.0f}%",
             f"{r.tokens_plain:.0f} → {r.tokens_forced:.0f}") for r in budgets]
    # Headers wrap at 80 columns; figures never do (each column is as wide as its widest figure).
    # Under a plain cap the samples still thinking at the budget are exactly the censored ones.
    for j, col in enumerate(("budget", "plain cap", "forced answer", "censored plain → forced", "escaped",
                             "tokens plain → forced")):
        table.add_column(col, justify="right", min_width=max(len(row[j]) for row in rows))
    for row in rows:
        table.add_row(*row)
    out.print(table)
    cost = "" if probe_overhead is None else f" Recording them cost {probe_overhead:.2f}x the samples' own tokens."
    out.print("censored: no answer because of the budget (cut, or made to answer with nothing readable) — an "
              "abstention, never counted as wrong; escaped: forced answers still going at --answer-tokens."
              + cost, style="dim", highlight=False)


def budget_curve_line(budgets) -> str:
    """``budget 128…320: forced ▃▆▇█ (6.5→13.3%), plain cap ▁▂▄▇ (1.0→11.8%)`` — both on one scale."""
    if not budgets:
        return ""
    forced = [r.forced for r in budgets]
    plain = [r.plain for r in budgets]
    low, high = min(forced + plain), max(forced + plain)

    def one(vals: list[float]) -> str:
        return f"{sparkline(vals, low, high)} ({100 * vals[0]:.1f}→{100 * vals[-1]:.1f}%)"

    return f"budget {budgets[0].budget}…{budgets[-1].budget} tokens: forced answer {one(forced)}, plain cap {one(plain)}"


def draw_budget_panel(ax, budgets) -> None:
    """The PNG's panel: accuracy per sample against the thinking budget, plain cap and forced
    answer, each with its interval (a matplotlib Axes is given; the caller imported matplotlib)."""
    xs = [r.budget for r in budgets]
    for label, value, ci, fmt in (("forced answer", "forced", "forced_ci", "o-"), ("plain cap", "plain", "plain_ci", "s--")):
        ys = [100 * getattr(r, value) for r in budgets]
        low = [y - 100 * getattr(r, ci)[0] for y, r in zip(ys, budgets)]
        high = [100 * getattr(r, ci)[1] - y for y, r in zip(ys, budgets)]
        ax.errorbar(xs, ys, yerr=[low, high], fmt=fmt, ms=4, capsize=2, label=label)
    ax.set_xlabel("thinking budget (tokens per sample)")
    ax.set_ylabel("accuracy per sample (%)")
    ax.set_title("thinking budget: plain cap (still thinking abstains) vs forced answer (95% CI)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")
