"""Fixed-N candidates beyond the recorded samples, predicted by the fitted curves.

The replayed candidates stop where the recorded samples do; fixed-N majority (or
pass@N) at larger N comes from the profile's fitted curves (:class:`Extrapolator`),
so a budget the samples cannot reach still gets a plan, marked as extrapolated.
"""

from __future__ import annotations

import numpy as np

from inferplan.planner.candidates import Candidate, Mix
from inferplan.planner.curve_predictions import Extrapolator
from inferplan.policy.stopping import make_rule

EXTRA_N = (24, 32, 40, 48, 64, 80, 96, 128, 192, 256, 384, 512, 768, 1024)  # fixed N the curves may predict


def extrapolated_candidates(ex: Extrapolator, mix: Mix, budget: float | None, unit_cost: np.ndarray) -> list[Candidate]:
    """Fixed-N candidates beyond the recorded samples, predicted by the fitted curves."""
    ns = ex.grid(mix.shares, EXTRA_N)
    if budget is not None and ex.agg.majority:
        # Majority vote spends all N samples: skip what cannot fit the budget.
        per = float(np.dot(mix.shares, unit_cost))
        ns = [n for n in ns if n * per <= 1.5 * budget]
    out = []
    for n, o in ex.outcomes(mix.shares, ns).items():
        out.append(Candidate(mix, None, make_rule("fixed", (n,)), float(o.accuracy.mean()), float(o.cost.mean()),
                             float(o.samples.mean()), extrapolated=True, per_problem=o.accuracy))
    return out
