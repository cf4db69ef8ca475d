"""A third stage: the best two-stage cascades, extended by a model that costs no less.

Every ordered triple of models with every rule at each stage is a space large enough to fit
the training problems' noise, so the search stays bounded: the TOP best two-stage cascades (one
per ordered pair of models, at the budget) keep their two models; each is searched again with
every first-stage rule and accept share on its first model again, then every one on its second
model (now a non-final stage), then a third model — neither of the two, costing no
less per sample than the second — with every rule the last stage tries. Stages chain exactly
(replay/cascade.chain), so the grid is array arithmetic as for two stages.

A three-stage cascade replaces the best two-stage one only when it beats it on the training
problems by more than the paired standard errors a cascade must beat the single model by (at a
target accuracy: when it is cheaper there), so a third stage is kept only where it earns it.
"""

from __future__ import annotations

from inferplan.planner.cascade_search import CascadeStages, ModelSearch, pick, replay_cascade
from inferplan.planner.selection import beats_by, paired_gain, scored_against
from inferplan.policy.cascade import Cascade, Stage
from inferplan.replay.cascade import cascade_grid, every_pair

TOP = 3  # two-stage cascades extended by a third model


def deeper_cascade(searches: list[ModelSearch], stages: CascadeStages, ranked: list, budget: float | None,
                   target: float | None):
    """The best three-stage cascade on the training problems that extends one of the TOP two-stage
    cascades of ``ranked`` (cascade_search.ranked_cascades): (Cascade, where, accuracy, cost), or None."""
    best, best_key = None, None
    for _, _, ((i, ca), (j, cb)), _, _ in ranked[:TOP]:
        firsts, outs1 = stages.first[i, ca]
        mids, outs2 = stages.first[j, cb]
        head = every_pair(outs1, outs2)  # (S1 × S2, P): every first stage, then every middle one
        for (k, cc), (rules, acc3, cost3) in stages.second.items():
            if k in (i, j) or stages.unit_cost[k, cc] < stages.unit_cost[j, cb]:
                continue
            acc, cost = cascade_grid(head, acc3, cost3)
            found = pick(acc, cost, budget, target)
            if found is None or (best_key is not None and found[0] <= best_key):
                continue
            best_key, (h, r) = found
            (r1, s1), (r2, s2) = firsts[h // len(mids)], mids[h % len(mids)]
            a, b, c = searches[i], searches[j], searches[k]
            cascade = Cascade((Stage.before_last(a.model.name, a.search.table.configs[ca].name, r1, s1),
                               Stage.before_last(b.model.name, b.search.table.configs[cb].name, r2, s2),
                               Stage(c.model.name, c.search.table.configs[cc].name, rules[r])))
            best = (cascade, ((i, ca), (j, cb), (k, cc)), float(acc[h, r]), float(cost[h, r]))
    return best


def prefer_deeper(searches: list[ModelSearch], stages: CascadeStages, ranked: list, budget: float | None,
                  target: float | None, depart_se: float) -> tuple[tuple, str | None]:
    """The best two-stage cascade (``ranked[0]``), or a three-stage one where it clearly beats it on
    the training problems; and a note on the comparison (None where no third stage fits)."""
    two = ranked[0][1:]
    three = deeper_cascade(searches, stages, ranked, budget, target)
    if three is None:
        return two, None
    if target is not None:
        wins = three[3] < two[3]
        return (three if wins else two), (f"a third stage ({three[0].spec}) reaches the target for "
                                          f"{three[3]:.4g} against {two[3]:.4g} with two" if wins else None)
    deep, _ = replay_cascade(searches, three[1], three[0], "train")
    shallow, _ = replay_cascade(searches, two[1], two[0], "train")
    gain, se = paired_gain(deep.accuracy, shallow.accuracy)
    wins = beats_by(gain, se, depart_se)
    words = (f"the best three-stage cascade ({three[0].spec}) "
             + scored_against(gain, se, depart_se, "the best two-stage one", wins))
    return (three, words + ": three stages") if wins else (two, words + ": kept two stages")
