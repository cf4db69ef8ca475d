"""Output helpers shared by all commands: results to stdout, everything else to stderr."""

from __future__ import annotations

import sys
from typing import Any

from rich.console import Console

from inferplan.api import dumps

# Results go to stdout; progress, warnings and logs to stderr (pipes stay clean).
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def print_json(obj: Any) -> None:
    """One JSON document (or line) on stdout, flushed at once for pipelines."""
    sys.stdout.write(dumps(obj) + "\n")
    sys.stdout.flush()


def warn(message: str) -> None:
    err.print(f"[yellow]warning:[/yellow] {message}", highlight=False)


def info(message: str) -> None:
    err.print(message, highlight=False)


def fmt_interval(value: float, low: float, high: float, pct: bool = True) -> str:
    """"63.2% [58.1, 68.0]" or "0.632 [0.581, 0.680]"."""
    if pct:
        return f"{100 * value:.1f}% [{100 * low:.1f}, {100 * high:.1f}]"
    return f"{value:.3f} [{low:.3f}, {high:.3f}]"
