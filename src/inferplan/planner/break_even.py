"""Break-even: after how many queries the plan has paid for the profile it was made from.

Profiling is the first budget a user spends. The plan repays it by what it saves per
query against the plain alternative, fixed-N majority: the cheapest fixed-N whose
held-out accuracy reaches the plan's (or, when none does, the most accurate one, which
the plan then beats at a lower accuracy bar). Every number is in the plan's own unit and
on the held-out problems; the profile's cost counts every recorded sample, held-out
problems included (the user paid for them too).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from inferplan.planner.candidates import Candidate
from inferplan.profiles.store import SampleTable
from inferplan.replay.cost import CostModel
from inferplan.stats.estimate import PerQuery


@dataclass(frozen=True)
class BreakEven:
    """The profile's cost, the plan's saving per query, and the queries that repay one with the other."""

    profile_cost: float
    baseline: str  # the fixed-N the plan is compared with
    baseline_accuracy: float
    baseline_cost: float
    saving_per_query: float
    queries: float | None  # None: the plan saves nothing per query, so it never repays the profile
    unit: str

    @property
    def note(self) -> str:
        head = (f"break-even: the profile cost {_amount(self.profile_cost)} {self.unit}; against {self.baseline} "
                f"({100 * self.baseline_accuracy:.1f}% at {_amount(self.baseline_cost)} {self.unit}/query, held out), ")
        if self.queries is None:
            return head + f"the plan saves nothing per query ({_amount(self.saving_per_query)}), so it never repays it"
        return head + (f"the plan saves {_amount(self.saving_per_query)} {self.unit}/query and repays the profile after "
                       f"{int(np.ceil(self.queries)):,} queries")


def _amount(x: float) -> str:
    """Costs in any unit: thousands separated when large, four significant digits when small."""
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.4g}"


def profile_cost(table: SampleTable, cost: CostModel) -> float:
    """What recording the profile cost in ``cost``'s unit: every sample, and each
    (problem, configuration)'s shared prompt once."""
    total = float(cost.sample_costs(table).sum())
    pairs = np.unique(np.stack([table.problem, table.config]), axis=1)
    return total + float(cost.query_overhead(table, pairs[0]).sum())


def break_even(table: SampleTable, cost: CostModel, cands: list[Candidate], heldout: Callable[[Candidate], PerQuery],
               plan: PerQuery) -> BreakEven | None:
    """The plan's break-even against fixed-N majority (None when no fixed-N candidate exists)."""
    # Fixed N reads every sample it draws: a parallel round that stops at its first finishers is not one.
    fixed = [c for c in cands if c.rule.name == "fixed" and c.cap is None and c.term is None and c.waits_for_all
             and sum(s > 0 for s in c.mix.shares) == 1]
    if not fixed:
        return None
    scored = [(heldout(c), c) for c in fixed]
    reach = [(e, c) for e, c in scored if e.accuracy.point >= plan.accuracy.point - 1e-12]
    e, c = min(reach, key=lambda ec: ec[0].cost.point) if reach else \
        max(scored, key=lambda ec: (ec[0].accuracy.point, -ec[0].cost.point))
    name = f"{c.rule.spec.split(',min')[0]} ({c.mix.name}{', extrapolated' if c.extrapolated else ''})"
    saving = e.cost.point - plan.cost.point
    spent = profile_cost(table, cost)
    return BreakEven(spent, name, e.accuracy.point, e.cost.point, saving, spent / saving if saving > 0 else None, cost.unit)
