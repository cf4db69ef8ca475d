"""Output helpers shared by all commands: results to stdout, everything else to stderr."""

from __future__ import annotations

import sys
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from inferplan.api import Estimate, PerQuery, dumps


def _cell_width(cell: Any) -> int:
    text = Text.from_markup(cell) if isinstance(cell, str) else cell
    return text.cell_len if isinstance(text, Text) else 0


class _Console(Console):
    """A console whose tables never cut a cell short ("con…", "10…"): a column keeps the width
    of its widest cell where the terminal allows, headers wrap instead, and what still does not
    fit folds onto a second line — every figure stays readable at 80 columns."""

    def print(self, *objects: Any, **kwargs: Any) -> None:
        for obj in objects:
            if isinstance(obj, Table):
                for column in obj.columns:
                    column.overflow = "fold"
                    widest = max((_cell_width(c) for c in column.cells), default=0)
                    column.min_width = max(column.min_width or 0, min(widest, 14))
        super().print(*objects, **kwargs)


# Results go to stdout; progress, warnings and logs to stderr (pipes stay clean).
out = _Console(soft_wrap=True)
err = _Console(stderr=True, soft_wrap=True)


def print_json(obj: Any) -> None:
    """One JSON document (or line) on stdout, flushed at once for pipelines."""
    sys.stdout.write(dumps(obj) + "\n")
    sys.stdout.flush()


def warn(message: str) -> None:
    err.print(f"[yellow]warning:[/yellow] {message}", highlight=False)


def info(message: str) -> None:
    err.print(message, highlight=False)


def replayed_json(e: PerQuery) -> dict:
    """A held-out replay in the layout ``--json`` has always printed it (flat keys, ``n_problems``)."""
    return {"accuracy": e.accuracy.point, "accuracy_ci": list(e.accuracy.interval), "cost": e.cost.point,
            "cost_ci": list(e.cost.interval), "samples": e.samples, "n_problems": e.problems}


def fmt_interval(value: float, low: float, high: float, pct: bool = True) -> str:
    """"63.2% [58.1, 68.0]" or "0.632 [0.581, 0.680]"; a rounding error below zero prints as 0, not -0."""
    value, low, high = (round(x * (100 if pct else 1), 1 if pct else 3) + 0.0 for x in (value, low, high))
    if pct:
        return f"{value:.1f}% [{low:.1f}, {high:.1f}]"
    return f"{value:.3f} [{low:.3f}, {high:.3f}]"


def fmt_estimate(e: Estimate) -> str:
    """A share with its interval, "63.2% [58.1, 68.0]"."""
    return fmt_interval(e.point, *e.interval)


def total_unit_words(unit: str) -> str:
    """A total's unit in words: a total in tokens counts only the tokens generated (prompts are not)."""
    return "generated tokens" if unit == "tokens" else unit


def fmt_cost(x: float) -> str:
    """A cost per query in any unit: 1,234 tokens; 0.172 seconds; 4.1e+13 FLOPs (no 17-digit integers)."""
    return f"{x:.3g}" if abs(x) >= 1e6 or abs(x) < 100 else f"{x:,.0f}"
