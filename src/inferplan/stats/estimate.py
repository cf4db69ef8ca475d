"""One figure with its uncertainty, and the per-query figures every replay, plan and run reports.

A replay of held-out problems (``replay``), a plan's prediction (``planner.plan_file``) and what
a run realised (``runner.evaluate``) all say the same three things per query — accuracy, cost and
samples, over some problems — so they share :class:`PerQuery`, each adding only what its kind
alone knows.
"""

from __future__ import annotations

from dataclasses import dataclass

LEVEL = 0.95  # every interval a replay, plan or run reports is 95%


@dataclass(frozen=True)
class Estimate:
    """A figure with its uncertainty: point, interval at level (None where none was measured), over n problems."""

    point: float
    interval: tuple[float, float] | None
    n: int
    level: float = LEVEL

    def covers(self, value: float) -> bool:
        """``value`` lies inside the interval (ends included); no interval covers nothing."""
        return self.interval is not None and bool(self.interval[0] <= value <= self.interval[1])


@dataclass(frozen=True)
class PerQuery:
    """Accuracy, cost and samples per query over the same problems, as replayed, predicted or realised."""

    accuracy: Estimate
    cost: Estimate
    samples: float

    @property
    def problems(self) -> int:
        return self.accuracy.n
