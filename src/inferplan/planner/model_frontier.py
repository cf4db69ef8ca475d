"""Each model's accuracy-against-cost frontier in a plan across models (issue 31): what `plan A B
--plot` draws beside the chosen policy, so a user sees whether the choice is "the other model", a
cascade, a mix, or nothing.

The frontier is the same as one model's `plan` shows: candidates on the training problems'
accuracy-vs-cost frontier (thinned to ten), each replayed on the held-out problems.
"""

from __future__ import annotations

from dataclasses import dataclass

from inferplan.planner.candidates import pareto
from inferplan.stats.estimate import PerQuery


@dataclass(frozen=True)
class FrontierPoint:
    """A candidate on one model's training frontier, replayed on the held-out problems."""

    policy: str
    train_cost: float
    heldout: PerQuery


def model_frontiers(searches) -> tuple[tuple[str, tuple[FrontierPoint, ...]], ...]:
    """(model name, its frontier, cheapest first) for every model's search (cascade_search.ModelSearch)."""
    out = []
    for s in searches:
        front = pareto([c for c in s.cands if not c.extrapolated])
        out.append((s.model.name, tuple(FrontierPoint(c.policy, c.cost, s.search.heldout(c)) for c in front)))
    return tuple(out)
