"""Which single model a plan across models starts from (planner/models.py ``select``).

Ranking one standard rule per model — Adaptive-Consistency's at the budget — rather than every
rule of every model keeps the winner's curse of a few training problems small. ``guarded`` adds
the planner's usual guard to that choice: the model whose sample costs least stays the choice
unless the best-ranked one beats it on the training problems by more than DEPART_SE paired
standard errors (``guarded-2se``: two), because a sample's cost is known exactly and a lead on a few problems is not.
"""

from __future__ import annotations

import numpy as np

from inferplan.planner.selection import (
    DEPART_SE,
    TIE_TOLERANCE,
    beats_by,
    paired_gain,
    reference_within,
    scored_against,
)

# select → the model guard in paired SEs (None: the best-ranked model, no guard)
GUARDS = {"reference": None, "guarded": DEPART_SE, "guarded-2se": 2.0}


def model_by_reference(searches, budget: float, guard: float | None = None):
    """(the search (cascade_search.ModelSearch) of the model whose reference rule at the budget scores
    best on the training problems, the cheaper of near-ties; a note where ``guard`` — paired standard
    errors the best must beat the cheapest model by, None for no guard — kept the cheaper model);
    (None, None) where no model has a reference rule within the budget."""
    refs = [(r, s) for s in searches
            if (r := reference_within([c for c in s.cands if not c.extrapolated], budget)) is not None]
    if not refs:
        return None, None
    top = max(r.accuracy for r, _ in refs)
    best_r, best = max(((r, s) for r, s in refs if r.accuracy >= top - TIE_TOLERANCE), key=lambda x: -x[0].cost)
    if guard is None:
        return best, None
    cheap_r, cheap = min(refs, key=lambda x: float(np.min(x[1].search.unit_cost)))
    if best is cheap or best_r.per_problem is None or cheap_r.per_problem is None:
        return best, None
    gain, se = paired_gain(best_r.per_problem, cheap_r.per_problem)
    if beats_by(gain, se, guard):
        return best, None
    return cheap, (f"kept {cheap.model.name}, whose sample costs least: {best.model.name}'s reference rule "
                   f"{scored_against(gain, se, guard, 'it', False)}")
