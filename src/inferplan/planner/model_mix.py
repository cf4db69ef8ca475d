"""Mixes across models in one vote: how many samples of each model, under a budget.

As the temperature mix (mix_allocation.py) but across models, and replayed exactly rather than
from smoothed distributions: the objective is the mix's replayed training accuracy
(replay/model_mix.py, the same draws for every mix), under the budget in each model's mean
training cost per sample. The search is bounded: from every model's own largest fixed-N within
the budget and from an empty mix, the best single move — one sample fewer of one model, and as
many more of another as the budget then allows, or one more sample of any — until none helps.
Only mixes of two models or more count (one model alone is a fixed-N plan the single-model
search already has). Budget plans only: a target accuracy plans no mix.

The mix is reported beside the plan, with whether it beats the chosen single-model plan on the
training problems by more than the guard's paired standard errors (and its held-out paired
difference); it becomes the plan (:func:`mix_wins`) where it beats that plan, and the chosen
cascade if any, by the guard — `run` and `evaluate` draw its models into one vote
(runner/mix_runner.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from inferplan.planner.selection import TIE_TOLERANCE, beats_by, paired_gain, scored_against
from inferplan.replay.model_mix import Pool, mix_outcome, pool
from inferplan.replay.traces import estimate, evaluate
from inferplan.stats.estimate import PerQuery

REPS = 32  # random draws per problem for each mix scored on the training problems
MAX_STEPS = 40


@dataclass(frozen=True)
class MixPlan:
    """The best mix across models at the budget on the training problems, replayed on the held-out ones."""

    counts: dict[str, int]  # model → samples in the vote
    train_accuracy: float
    train_cost: float
    heldout: PerQuery
    gain: float  # training accuracy − the chosen plan's
    se: float  # its paired standard error
    beats: bool  # gain > the guard's paired SEs
    paired: tuple[float, float]  # held-out mix − chosen plan (mean, se)
    train_per_problem: np.ndarray | None = None  # its training accuracy per problem (paired against a cascade)

    @property
    def spec(self) -> str:
        return " + ".join(f"{n}×{m}" for m, n in self.counts.items() if n > 0)


def pools(searches) -> tuple[Pool, Pool]:
    """The training and held-out pools of every model's first usable configuration."""
    parts = [(s.model.profile.table, s.configs()[0]) for s in searches]
    return (pool([(t, s.search.train, c) for s, (t, c) in zip(searches, parts)]),
            pool([(t, s.search.test, c) for s, (t, c) in zip(searches, parts)]))


def _moves(k: np.ndarray, unit: np.ndarray, budget: float, limit: np.ndarray):
    spare = budget * (1 + 1e-9) - (k * unit).sum()
    for b in range(len(k)):
        if k[b] + 1 <= limit[b] and unit[b] <= spare:
            yield k + np.eye(len(k), dtype=int)[b]
        for a in np.flatnonzero(k > 0):
            if a != b:
                room = int(min(limit[b] - k[b], (spare + unit[a]) // unit[b]))
                if room > 0:
                    t = k.copy()
                    t[a] -= 1
                    t[b] += room
                    yield t


def best_mix(train: Pool, unit: np.ndarray, budget: float, seed: int) -> tuple[np.ndarray, float] | None:
    """The training-best allocation of two models or more within the budget (None where none fits)."""
    limit = train.limit
    score = {}

    def value(k: np.ndarray) -> float:
        key = tuple(int(x) for x in k)
        if key not in score:
            score[key] = float(mix_outcome(train, k, reps=REPS, seed=seed).accuracy.mean())
        return score[key]

    starts = [np.zeros(len(unit), dtype=int)]
    starts += [np.eye(len(unit), dtype=int)[m] * int(min(limit[m], budget // unit[m])) for m in range(len(unit))]
    for k in starts:
        for _ in range(MAX_STEPS):
            step = max(_moves(k, unit, budget, limit), key=value, default=None)
            if step is None or value(step) <= value(k) + 1e-12:
                break
            k = step
    mixed = [(v, key) for key, v in score.items() if sum(x > 0 for x in key) >= 2]
    if not mixed:
        return None
    top = max(v for v, _ in mixed)
    v, key = min((x for x in mixed if x[0] >= top - TIE_TOLERANCE), key=lambda x: (np.dot(x[1], unit), x[1]))
    return np.array(key), v


class MixSearch:
    """The pools of one split of the models, and the best mix per budget, searched once (a plan at
    the same budget asked again — another guard, another choice of the single model — reuses it)."""

    def __init__(self, searches, seed: int) -> None:
        self.searches, self.seed = searches, seed
        self.train, self.test = pools(searches)
        self.unit = np.array([float(s.search.unit_cost[s.configs()[0]]) for s in searches])
        self._best: dict[float, tuple | None] = {}

    def weigh(self, budget: float, chosen_train: np.ndarray, chosen_test: np.ndarray,
              depart_se: float) -> MixPlan | None:
        """The best mix at the budget against the chosen plan's per-problem accuracy (training, held-out)."""
        if budget not in self._best:
            found = best_mix(self.train, self.unit, budget, self.seed)
            if found is not None:  # scored afresh: the search's own draws flatter the winner
                found = (found[0], mix_outcome(self.train, found[0], reps=4 * REPS, seed=self.seed + 1),
                         mix_outcome(self.test, found[0], reps=4 * REPS, seed=self.seed + 2))
            self._best[budget] = found
        if self._best[budget] is None:
            return None
        k, tr, te = self._best[budget]
        gain, se = paired_gain(tr.accuracy, chosen_train)
        return MixPlan({s.model.name: int(n) for s, n in zip(self.searches, k)}, float(tr.accuracy.mean()),
                       float(tr.cost.mean()), estimate(te, seed=self.seed), gain, se,
                       beats_by(gain, se, depart_se), paired_gain(te.accuracy, chosen_test),
                       tr.accuracy)


def against_chosen(mixes: MixSearch, budget: float, chosen_search, chosen, depart_se: float) -> MixPlan | None:
    """The best mix across models in one vote, weighed against the best single-model plan ``chosen``."""
    test = evaluate(chosen_search.search.test_traces.get(chosen.mix, chosen.cap, chosen.term), chosen.rule)
    return mixes.weigh(budget, chosen.per_problem, test.accuracy, depart_se)


def mix_wins(mix: MixPlan | None, cascade_train: np.ndarray | None, depart_se: float, policy: str,
             notes: list[str]) -> bool:
    """Whether the mix is the plan: asked for (policy "mix"), or under "auto" ahead of the best
    single-model plan on the training problems by more than ``depart_se`` paired standard errors
    and, where a cascade was chosen (``cascade_train``: its per-problem training accuracy), ahead
    of that cascade by as much. The notes say why where it was weighed and not taken."""
    if mix is None or policy not in ("auto", "mix"):
        return False
    if policy == "mix":
        notes.append(f"a mix in one vote ({mix.spec}), as asked (--policy mix)")
        return True
    what = f"a mix in one vote ({mix.spec})"
    if not mix.beats:
        notes.append(f"{what} {scored_against(mix.gain, mix.se, depart_se, 'the best single-model plan', False)}")
        return False
    if cascade_train is not None:
        gain, se = paired_gain(mix.train_per_problem, cascade_train)
        if not beats_by(gain, se, depart_se):
            notes.append(f"{what} beat the single model but "
                         + scored_against(gain, se, depart_se, "the chosen cascade", False))
            return False
    notes.append(f"chose {what}: it {scored_against(mix.gain, mix.se, depart_se, 'the best single-model plan', True)}")
    return True
