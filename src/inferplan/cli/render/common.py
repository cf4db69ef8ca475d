"""Output helpers shared by all commands: results to stdout, everything else to stderr."""

from __future__ import annotations

import json
import math
import sys
from typing import Any

from rich.console import Console

# Results go to stdout; progress, warnings and logs to stderr (pipes stay clean).
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def _clean(value: Any) -> Any:
    """JSON-safe copy: NaN/inf become null, tuples become lists, numpy scalars plain."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if hasattr(value, "item") and callable(value.item) and getattr(value, "shape", None) == ():
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def dumps(obj: Any) -> str:
    """Compact, deterministic JSON of a result."""
    return json.dumps(_clean(obj), ensure_ascii=False, sort_keys=False, separators=(",", ":"))


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
