"""A compact terminal curve: one block character per value."""

from __future__ import annotations

_BARS = "▁▂▃▄▅▆▇█"


def sparkline(values: list[float], low: float = 0.0, high: float = 1.0) -> str:
    """One character per value, scaled between low and high."""
    span = max(high - low, 1e-12)
    return "".join(_BARS[min(len(_BARS) - 1, max(0, int((v - low) / span * (len(_BARS) - 1) + 0.5)))] for v in values)
