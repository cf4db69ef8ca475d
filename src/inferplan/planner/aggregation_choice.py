"""``--aggregate auto``: majority vote, unless confidence-weighted voting clearly wins in training.

DeepConf's vote (:mod:`inferplan.policy.confidence_vote`) helps where a model's
confidence separates its right answers from its wrong ones, and costs nothing extra:
it reads the same samples. Whether it does is the model's and the task's, so the
planner plans once with plain majority and once per kept share η, and departs from
majority only when a conf-vote plan beats it on the training problems by more than
one paired standard error (as the reference rule is kept, :mod:`inferplan.planner.selection`).
The held-out problems never enter the choice.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Callable

import numpy as np

from inferplan.errors import InvalidValue
from inferplan.planner.selection import DEPART_SE, paired_gain
from inferplan.profiles.store import SampleTable

if TYPE_CHECKING:  # search imports the planner's parts; this module only passes its results on
    from inferplan.planner.search import PlanResult

KEEPS = (0.9, 0.5, 0.1)  # DeepConf's two settings (top 90%, top 10%) and one between


def choose_aggregation(plan_with: Callable[[str, float], PlanResult], table: SampleTable,
                       budget: float | None) -> PlanResult:
    """The vote plan, or the conf-vote plan that beats it clearly on the training problems.

    ``plan_with(kind, keep)`` plans with one aggregation; accuracies are compared at one budget."""
    if budget is None:
        raise InvalidValue("aggregate", "{name} auto compares plans' accuracy at one budget: give a budget")
    vote = plan_with("vote", 1.0)
    if table.conf_low is None or np.isnan(table.conf_low).all():
        return _noted(vote, "aggregate auto: the profile records no confidences, so majority vote")
    best, best_gain, line = vote, 0.0, ""
    for keep in KEEPS:
        alt = plan_with("conf-vote", keep)
        gain, se = paired_gain(alt.train_per_problem, vote.train_per_problem)
        line += f"{'; ' if line else ''}η={keep:g} {100 * gain:+.2f} ± {100 * se:.2f}"
        if gain > DEPART_SE * se and gain > best_gain:
            best, best_gain = alt, gain
    chosen = "majority vote" if best is vote else f"conf-vote η={best.plan.aggregation.keep:g}"
    return _noted(best, f"aggregate auto: {chosen} (conf-vote − vote on the training problems, points ± paired "
                        f"SE: {line}; conf-vote is kept only beyond {DEPART_SE:g} SE)")


def _noted(result: PlanResult, note: str) -> PlanResult:
    return replace(result, plan=replace(result.plan, notes=result.plan.notes + (note,)))
