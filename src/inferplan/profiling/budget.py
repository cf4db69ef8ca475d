"""A profiling budget: completion tokens (``20000``, ``400k``, ``2M``) or wall time (``30m``, ``2h``).

The budget is the profile's total, counting what earlier (killed or finished) runs
into the same file spent, so a resumed run continues towards the same total.
Wall time is summed over runs as each run's span from its first to its last sample.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

from inferplan.errors import InvalidValue

# Suffixes: tokens are counted (k thousand, M million); "m" is minutes, never a million.
_TOKENS = {"": 1, "k": 1_000, "K": 1_000, "M": 1_000_000}
_SECONDS = {"s": 1, "m": 60, "min": 60, "h": 3600}
_FORM = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$")


@dataclass(frozen=True)
class ProfileBudget:
    """How much a profile may spend, in completion tokens or in seconds of sampling."""

    amount: float
    unit: str  # "tokens" or "seconds"

    @classmethod
    def parse(cls, text: str) -> ProfileBudget:
        """``20000``, ``400k``, ``2M`` tokens; ``90s``, ``30m``, ``2h`` of wall time."""
        m = _FORM.match(str(text))
        if m is None:
            raise InvalidValue("budget", f"{{name}} must be tokens (20000, 400k, 2M) or a time (90s, 30m, 2h), got {text!r}")
        value, suffix = float(m.group(1)), m.group(2)
        if suffix in _TOKENS:
            amount, unit = value * _TOKENS[suffix], "tokens"
        elif suffix in _SECONDS:
            amount, unit = value * _SECONDS[suffix], "seconds"
        else:
            raise InvalidValue("budget", f"{{name}}: unknown unit {suffix!r} in {text!r} (tokens: k, M; time: s, m, h)")
        if amount <= 0:
            raise InvalidValue("budget", f"{{name}} must be positive, got {text!r}")
        return cls(amount, unit)

    def spent(self, records: Iterable[dict]) -> float:
        """What ``records`` (a profile's sample lines) spent in this budget's unit."""
        if self.unit == "tokens":
            return float(sum(r.get("completion_tokens") or 0 for r in records))
        span: dict[object, float] = {}
        for r in records:  # each run's records carry its id and seconds since its start
            span[r.get("run")] = max(span.get(r.get("run"), 0.0), float(r.get("t") or 0.0))
        return float(sum(span.values()))

    def __str__(self) -> str:
        if self.unit == "tokens":
            return f"{self.amount:,.0f} tokens"
        return f"{self.amount / 60:g} min" if self.amount >= 60 else f"{self.amount:g} s"
