"""Which single model a plan across models starts from (planner/models.py ``select``).

Ranking one standard rule per model — Adaptive-Consistency's at the budget — rather than every
rule of every model keeps the winner's curse of a few training problems small. ``guarded`` adds
the planner's usual guard to that choice: the model whose sample costs least stays the choice
unless the best-ranked one beats it on the training problems by more than DEPART_SE paired
standard errors (``guarded-2se``: two), because a sample's cost is known exactly and a lead on a few problems is not.
Under a verifier, whose plans are fixed N (no reference rule), each model's own best plan ranks it.
"""

from __future__ import annotations

import numpy as np

from inferplan.errors import InvalidValue
from inferplan.planner.selection import (
    DEPART_SE,
    TIE_TOLERANCE,
    beats_by,
    best_within,
    paired_gain,
    reference_within,
    scored_against,
)
from inferplan.policy.aggregate import Aggregation

# select → the model guard in paired SEs (None: the best-ranked model, no guard)
GUARDS = {"reference": None, "guarded": DEPART_SE, "guarded-2se": 2.0}


def model_by_reference(searches, budget: float, guard: float | None = None, verifier: bool = False):
    """(the search (cascade_search.ModelSearch) of the model whose reference rule at the budget scores
    best on the training problems, the cheaper of near-ties; a note where ``guard`` — paired standard
    errors the best must beat the cheapest model by, None for no guard — kept the cheaper model);
    (None, None) where no model has a reference rule within the budget. ``verifier``: plans that
    answer with the first sample a verifier accepts, which are fixed N (no reference rule): each
    model is ranked by its own best plan instead."""
    rank, ranked_by = (best_within, "best plan") if verifier else (reference_within, "reference rule")
    refs = [(r, s) for s in searches if (r := rank([c for c in s.cands if not c.extrapolated], budget)) is not None]
    if not refs:
        return None, None
    top = max(r.accuracy for r, _ in refs)
    best_r, best = max(((r, s) for r, s in refs if r.accuracy >= top - TIE_TOLERANCE), key=lambda x: -x[0].cost)
    if guard is None:
        return best, None
    cheap_r, cheap = min(refs, key=lambda x: _per_sample(x[1]))
    if _per_sample(best) <= _per_sample(cheap) * (1 + 1e-9) or best_r.per_problem is None or cheap_r.per_problem is None:
        return best, None  # the best-ranked costs no more a sample (as in unit samples): nothing to guard
    gain, se = paired_gain(best_r.per_problem, cheap_r.per_problem)
    if beats_by(gain, se, guard):
        return best, None
    return cheap, (f"kept {cheap.model.name}, whose sample costs least: {best.model.name}'s {ranked_by} "
                   f"{scored_against(gain, se, guard, 'it', False)}")


def _per_sample(search) -> float:
    """What the model's cheapest configuration's sample costs, in the plan's unit."""
    return float(np.min(search.search.unit_cost))


def searches_mixes(agg: Aggregation, policy: str, notes: list[str]) -> bool:
    """Whether a plan across models searches mixes in one vote: under majority vote unless only
    single models are asked for (``policy`` "choose"); under a verifier (a sample that passes is the
    answer) never — a mix is one vote — with a note saying so ("mix" asked for is refused)."""
    if agg.kind == "vote":
        return policy != "choose"
    if policy == "mix":
        raise InvalidValue("policy", f"{{name}} 'mix' across models is one vote over answers; with a verifier "
                                     f"(--aggregate {agg.kind}) a plan across models chooses a model or a cascade")
    cascades = "" if policy == "choose" else " a cascade's stage stands when the verifier accepts one of its samples;"
    notes.append(f"with a verifier (--aggregate {agg.kind}){cascades} mixes in one vote are not searched")
    return False
