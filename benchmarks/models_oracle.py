"""The oracle rows of bench_models.py: the best policy of the plan-across-models search space at a
budget, picked on the held-out half itself — the ceiling of the space on these problems, not a
prediction (as bench_plan.py's and bench_batch.py's oracle rows).

The space is what the planner searches: every model's own candidates (without a max-token cap or
low-confidence termination: replaying all ~1000 per model on the held-out half takes minutes per
split, and the rule grid is what decides here), every two-stage cascade
(every stage-1 rule and accept share × every stage-2 rule of every ordered pair the planner
tries), and mixes in one vote. A policy is in the space at budget B where its cost on the
training problems is within B — what the planner could have chosen; among those the oracle takes
the most accurate on the held-out problems. Mixes are not enumerated (seven models' allocations
are too many): the planner's own hill climb (model_mix.best_mix) is run with held-out accuracy as
its objective and the winner scored afresh on the held-out problems. Three-stage cascades, which
the planner only builds as an extension of the best two-stage one, are left out.
"""

from __future__ import annotations

import numpy as np

from inferplan.planner.cascade_search import CascadeStages
from inferplan.planner.model_mix import REPS, MixSearch, best_mix
from inferplan.planner.models import ModelsSearch
from inferplan.planner.rounds import RoundCandidate
from inferplan.replay.cascade import cascade_grid
from inferplan.replay.model_mix import mix_outcome
from inferplan.replay.traces import evaluate

SLACK = 1 + 1e-9  # the planner's own tolerance on "within the budget"


class Oracle:
    """One split's search space, replayed on both halves once; ``at(budget)`` gives the held-out
    accuracy of the best single-model candidate, two-stage cascade and mix within the budget."""

    def __init__(self, ms: ModelsSearch) -> None:
        self.ms = ms
        self.train = CascadeStages.of(ms.searches, "train")
        self.test = CascadeStages.of(ms.searches, "test")
        self.mixes = MixSearch(ms.searches, ms.seed)
        self.singles = [(c.cost, self._heldout_single(s, c)) for s in ms.searches for c in s.cands
                        if not c.extrapolated and c.cap is None and c.term is None and not c.forced]
        self.cascades = list(self._cascade_cells())

    def at(self, budget: float) -> dict[str, float]:
        fits = lambda cells: [acc for cost, acc in cells if cost <= budget * SLACK]  # noqa: E731
        single = max(fits(self.singles), default=np.nan)
        cascade = max((float(acc[cost <= budget * SLACK].max()) for cost, acc in self.cascades
                       if (cost <= budget * SLACK).any()), default=np.nan)
        return {"single": single, "cascade": cascade, "mix": self._mix(budget)}

    @staticmethod
    def _heldout_single(s, c) -> float:
        if isinstance(c, RoundCandidate):
            return s.search.heldout(c).accuracy.point
        return float(evaluate(s.search.test_traces.get(c.mix, c.cap, c.term, c.forced), c.rule).accuracy.mean())

    def _cascade_cells(self):
        """Per ordered pair the planner tries (ranked_cascades' rule: never to a cheaper model), the
        (S1, S2) grid of training cost and held-out accuracy."""
        tr, te = self.train, self.test
        for (i, ca), (firsts, outs) in tr.first.items():
            for (j, cb), (rules, acc2, cost2) in tr.second.items():
                if j == i or tr.unit_cost[i, ca] > tr.unit_cost[j, cb]:
                    continue
                t_firsts, t_outs = te.first[i, ca]
                t_rules, t_acc2, t_cost2 = te.second[j, cb]
                if t_firsts != firsts or t_rules != rules:  # a split with fewer samples per problem
                    raise RuntimeError("the held-out half allows other cascade rules than the training half")
                _, cost = cascade_grid(outs, acc2, cost2)
                acc, _ = cascade_grid(t_outs, t_acc2, t_cost2)
                yield cost, acc

    def _mix(self, budget: float) -> float:
        m = self.mixes
        found = best_mix(m.test, m.unit, budget, self.ms.seed)
        if found is None:
            return np.nan
        return float(mix_outcome(m.test, found[0], reps=4 * REPS, seed=self.ms.seed + 2).accuracy.mean())
