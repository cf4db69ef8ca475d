"""Plans across models: choose the model, or cascade from a cheap one to a strong one.

Several profiles of the same problems (matched by id), each with its own cost model — so a
sample of a 14B model costs what it costs, in seconds, FLOPs or dollars. On one shared
training split the planner runs today's single-model search for every model (*choose*: the
model whose reference rule scores best, then that model's own plan) and searches two-stage
cascades (policy/cascade.py) over every ordered pair, and the best of them extended by a third
model (cascade_deeper.py, kept only past DEPART_SE paired standard errors over two stages); a
cascade replaces the single-model choice only when it beats it on the training problems by more
than DEPART_SE paired standard errors. Every figure reported is replayed on the held-out problems.

Both choices were made leave-one-set-out on the Best-of-∞ sets of several models
(``benchmarks/bench_models.py``): picking the model by its reference rule rather than by the
best of every model's candidates at once, and a 1-SE guard rather than 2, did best on the
other three sets for each of the four (docs/results.md#plans-across-models).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np

from inferplan.errors import InfeasibleError, InputError, InvalidValue
from inferplan.planner.candidates import Candidate
from inferplan.planner.cascade_deeper import prefer_deeper
from inferplan.planner.cascade_search import (
    CascadeStages,
    ModelProfile,
    model_search,
    ranked_cascades,
    reaches,
    replay_cascade,
)
from inferplan.planner.model_choice import GUARDS, model_by_reference, searches_mixes
from inferplan.planner.model_frontier import model_frontiers
from inferplan.planner.model_mix import MixPlan, MixSearch, against_chosen, mix_wins
from inferplan.planner.models_files import chain_stages, mix_plan, stage_plan
from inferplan.planner.plan_file import Plan, PlanModel, Prediction
from inferplan.planner.selection import beats_by, choose, paired_gain, scored_against
from inferplan.policy.aggregate import Aggregation
from inferplan.policy.cascade import Cascade
from inferplan.profiles.profile import Profile
from inferplan.replay.split import split_problems
from inferplan.replay.traces import estimate, evaluate
from inferplan.stats.estimate import PerQuery

# A cascade must beat the best single-model plan on the training problems by this many paired
# standard errors (a smaller lead is selection noise); with SELECT, decided leave-one-set-out
# (docs/results.md#plans-across-models: the variants table).
DEPART_SE = 2.0
# A mix in one vote must beat the chosen single-model plan (and a chosen cascade) by this many paired
# standard errors on the training problems; decided leave-one-set-out (docs/results.md#plans-across-models).
MIX_SE = 1.0
POLICIES = ("auto", "choose", "cascade", "mix")
MAX_STAGES = 3  # a cascade's most stages (three where there are three models: cascade_deeper.py)
SELECT = "guarded-2se"  # how the single model is chosen (see ModelsSearch.plan; planner/model_choice.py)


@dataclass(frozen=True)
class ModelPlan:
    """One model's own best plan at the budget, chosen on the training problems."""

    model: str
    policy: str
    describe: str
    train_accuracy: float
    train_cost: float
    heldout: PerQuery


@dataclass(frozen=True)
class CascadePlan:
    """The best cascade on the training problems, replayed on the held-out ones."""

    cascade: Cascade
    train_accuracy: float
    train_cost: float
    heldout: PerQuery
    escalation: float  # held-out share of queries that escalate
    train_escalation: float
    reach: tuple[float, ...] = ()  # held-out share of queries reaching each stage after the first
    train_per_problem: np.ndarray | None = None  # training accuracy per problem (a mix is paired against it)


@dataclass(frozen=True)
class ModelsPlanResult:
    """What ``plan`` over several profiles returns."""

    kind: str  # "single" (one model chosen), "cascade" or "mix"
    model: str | None  # the chosen model (single)
    policy: str  # short form
    describe: str  # in words
    heldout: PerQuery
    escalation: float | None  # held-out share escalated (cascade)
    singles: tuple[ModelPlan, ...]  # every model's own best plan (the chosen one among them)
    cascade: CascadePlan | None  # the best cascade, chosen or not
    notes: tuple[str, ...]
    train_problems: int
    test_problems: int
    seconds: float
    plan: Plan | None = None  # the plan file to save and run
    chosen_single: Candidate | None = None
    models: int = 2  # models planned across
    paired_vs_single: tuple[float, float] | None = None  # held-out cascade − chosen single (mean, se)
    mix: MixPlan | None = None  # the best mix across models in one vote, chosen or not
    frontiers: tuple = ()  # (model, its held-out frontier) per model: planner/model_frontier.py


def model_name(profile: Profile) -> str:
    """How a plan across models names a model: an imported set's model name, else its spec's label
    (a GGUF by its file name)."""
    return PlanModel.of(profile.header).label


def shared_problems(models: list[ModelProfile]) -> tuple[str, ...]:
    """The problem ids every profile holds, in the first profile's order; profiles of different
    problem sets are refused with the difference named."""
    first = models[0]
    ids = tuple(first.profile.table.problems[i] for i in np.unique(first.profile.table.problem))
    for m in models[1:]:
        t = m.profile.table
        other = {t.problems[i] for i in np.unique(t.problem)}
        missing, extra = [p for p in ids if p not in other], sorted(other - set(ids))
        if missing or extra:
            raise InputError(
                f"profiles of {first.name} and {m.name} hold different problems ({len(missing)} only in {first.name}"
                f"{', e.g. ' + repr(missing[0]) if missing else ''}; {len(extra)} only in {m.name}"
                f"{', e.g. ' + repr(extra[0]) if extra else ''}); plan across models needs profiles of the same task set")
    return ids


class ModelsSearch:
    """Every model's single-model search and the cascade stages on one shared split; plan at any
    budget from it (the benchmark asks at several)."""

    def __init__(self, models: list[ModelProfile], *, unit: str = "tokens", holdout: float = 0.5, seed: int = 0,
                 reps: int = 16, budget: float | None = None, agg: Aggregation = Aggregation("vote")) -> None:
        if len(models) < 2:
            raise InvalidValue("models", "{name}: planning across models needs at least two profiles")
        names = [m.name for m in models]
        if len(set(names)) != len(names):
            raise InputError(f"two profiles name the same model ({', '.join(names)}); give each model its own name")
        ids = shared_problems(models)
        first = models[0].profile.table
        split = split_problems(first, holdout, seed, use_profile=False)
        self.ids_train = [first.problems[i] for i in split.train]
        self.ids_test = [first.problems[i] for i in split.test]
        if set(self.ids_train) | set(self.ids_test) != set(ids):
            raise InputError("the split lost problems; this is a bug")
        self.unit, self.seed, self.agg = unit, seed, agg
        self.searches = [model_search(m, self.ids_train, self.ids_test, agg, reps, seed, budget, unit) for m in models]
        self._stages: CascadeStages | None = None
        self._mixes: MixSearch | None = None

    def plan(self, *, budget: float | None = None, target_accuracy: float | None = None,
             depart_se: float = DEPART_SE, policy: str = "auto", select: str = SELECT,
             max_stages: int = MAX_STAGES, mix_se: float = MIX_SE) -> ModelsPlanResult:
        """Choose among models and cascades on the training problems; report on the held-out ones.

        ``select``: how the single model is chosen — "reference" (the model whose reference rule,
        Adaptive-Consistency at the budget, scores best on the training problems; then that model's
        own plan), "guarded" (the same, but the model whose sample costs least unless that one beats
        it by more than one paired SE; "guarded-2se": two) or "union" (the best of every model's candidates at once).

        ``policy``: "auto" (a cascade or a mix only where it clearly beats the best single model),
        "choose" (single models only), "cascade" or "mix" (the best cascade or mix, to run or evaluate it).
        ``max_stages``: 2 searches two-stage cascades only; 3 also a third stage (cascade_deeper.py).
        ``mix_se``: the mix's guard in paired standard errors (inf: a mix only where asked for)."""
        if policy not in POLICIES:
            raise InvalidValue("policy", f"{{name}} must be one of {', '.join(POLICIES)}, got {policy!r}")
        t0 = time.perf_counter()
        if (budget is None) == (target_accuracy is None):
            raise InvalidValue(("budget", "target_accuracy"), "give exactly one of {0} or {1}")
        searches, unit = self.searches, self.unit
        chosen_search, chosen, kept_note = self._single(budget, target_accuracy, select)
        singles = tuple(self._own_plans(budget, target_accuracy))
        notes = [f"planned on {len(self.ids_train)} problems, predicted on {len(self.ids_test)} held-out problems "
                 f"(seeded split, seed {self.seed}), every model on the same problems"] + ([kept_note] if kept_note else [])
        cascade_plan, kind, paired = None, "single", None
        mixes = searches_mixes(self.agg, policy, notes)
        if policy != "choose":
            cascade_plan, kind, paired = self._cascade(budget, target_accuracy, chosen_search, chosen, depart_se,
                                                       policy, max_stages, notes)
        mix = self._mix(budget, chosen_search, chosen, mix_se, policy) if mixes else None
        if mix_wins(mix, cascade_plan.train_per_problem if kind == "cascade" else None, mix_se, policy, notes):
            kind, paired = "mix", mix.paired
        common = dict(unit=unit, budget=budget, target_accuracy=target_accuracy, heldout=tuple(self.ids_test),
                      seed=self.seed, aggregation=self.agg)
        sizes = (len(self.ids_train), len(self.ids_test), time.perf_counter() - t0)
        if kind == "mix":
            return ModelsPlanResult("mix", None, f"mix {mix.spec}", f"one majority vote over {mix.spec}", mix.heldout,
                                    None, singles, cascade_plan, tuple(notes), *sizes,
                                    mix_plan(searches, mix, common, notes), chosen, len(searches), paired, mix)
        if kind == "cascade":
            c = cascade_plan
            plan = chain_stages(searches, c, common, notes)
            return ModelsPlanResult("cascade", None, c.cascade.spec, c.cascade.describe(), c.heldout, c.escalation,
                                    singles, c, tuple(notes), *sizes, plan, chosen, len(searches), paired, mix)
        name, single_pred = chosen_search.model.name, chosen_search.search.heldout(chosen)
        names = tuple(x.name for x in chosen_search.search.table.configs)
        plan = stage_plan(chosen_search.model, mix=chosen.mix.as_dict(names), rule=chosen.rule, cap=chosen.cap,
                          term=chosen.term, prediction=Prediction.of(single_pred), notes=tuple(notes), **common)
        return ModelsPlanResult("single", name, f"{name}: {chosen.policy}", f"{name}: {chosen.rule.describe()}",
                                single_pred, None, singles, cascade_plan, tuple(notes), *sizes, plan, chosen,
                                len(searches), paired, mix)

    def _mix(self, budget, chosen_search, chosen, depart_se: float, policy: str) -> MixPlan | None:
        """The best mix at the budget (searched once per budget), weighed against the chosen single model."""
        if budget is None:
            if policy == "mix":
                raise InfeasibleError("a mix across models is planned under a budget only (give --budget)")
            return None
        if self._mixes is None:
            self._mixes = MixSearch(self.searches, self.seed)
        mix = against_chosen(self._mixes, budget, chosen_search, chosen, depart_se)
        if mix is None and policy == "mix":
            raise InfeasibleError("no mix of two models or more fits the budget on the training problems")
        return mix

    def _cascade(self, budget, target_accuracy, chosen_search, chosen, depart_se, policy, max_stages, notes):
        """The best cascade at the budget, weighed against the chosen single model: (its plan, the kind
        chosen, the held-out paired difference); notes say why where it is not chosen."""
        if self._stages is None:
            self._stages = CascadeStages.of(self.searches)
        ranked = ranked_cascades(self.searches, self._stages, budget, target_accuracy)
        if not ranked:
            if policy == "cascade":
                raise InfeasibleError("no cascade fits the budget on the training problems")
            return None, "single", None
        best, deeper = ranked[0][1:], None
        if max_stages >= 3 and len(self.searches) >= 3:
            best, deeper = prefer_deeper(self.searches, self._stages, ranked, budget, target_accuracy, depart_se)
        notes.extend([deeper] if deeper else [])
        cascade_plan, gain, se, paired, cheaper = self._weigh(best, chosen_search, chosen, target_accuracy)
        wins = cheaper if target_accuracy is not None else beats_by(gain, se, depart_se)
        if target_accuracy is None and not wins:
            notes.append(("a cascade, as asked (--policy cascade), although " if policy == "cascade" else
                          "kept the single model: ") + f"the best cascade ({cascade_plan.cascade.spec}) "
                         + scored_against(gain, se, depart_se, "the single model's plan", wins))
        return cascade_plan, "cascade" if wins or policy == "cascade" else "single", paired

    def _single(self, budget: float | None, target_accuracy: float | None, select: str):
        """The single-model choice: (its model's search, its candidate, the note on why)."""
        owner = {id(c): s for s in self.searches for c in s.cands}
        pool = [c for s in self.searches for c in s.cands if not c.extrapolated]
        model, why = model_by_reference(self.searches, budget, GUARDS[select], verifier=self.agg.first_pass) \
            if select in GUARDS and budget is not None else (None, None)
        if model is not None:
            pool = [c for c in model.cands if not c.extrapolated]
        chosen, note = choose(pool, budget, target_accuracy, self.unit)
        return owner[id(chosen)], chosen, "; ".join(x for x in (why, note) if x) or None

    def _own_plans(self, budget: float | None, target_accuracy: float | None):
        """Every model's own best plan at the budget (a model that cannot meet it is left out)."""
        for s in self.searches:
            try:
                c, _ = choose([c for c in s.cands if not c.extrapolated], budget, target_accuracy, self.unit)
            except InfeasibleError:
                continue
            yield ModelPlan(s.model.name, c.policy, c.rule.describe(), c.accuracy, c.cost, s.search.heldout(c))

    def _weigh(self, best, chosen_search, chosen: Candidate, target_accuracy: float | None):
        """The best cascade against the chosen single model: its plan, whether it wins on the training
        problems (cheaper at the target, or ahead by the paired gain), that gain and its standard
        error, and the held-out paired difference cascade − single."""
        cascade, where, acc_tr, cost_tr = best
        train_out, train_heads = replay_cascade(self.searches, where, cascade, "train")
        test_out, test_heads = replay_cascade(self.searches, where, cascade, "test")
        plan = CascadePlan(cascade, acc_tr, cost_tr, estimate(test_out, seed=self.seed),
                           float(test_heads[0].escalate.mean()), float(train_heads[0].escalate.mean()),
                           reaches(test_heads), train_out.accuracy)
        gain, se = paired_gain(train_out.accuracy, chosen.per_problem)
        chosen_test = chosen_search.search.test_traces.get(chosen.mix, chosen.cap, chosen.term)
        paired = paired_gain(test_out.accuracy, evaluate(chosen_test, chosen.rule).accuracy)
        return plan, gain, se, paired, (target_accuracy is not None and cost_tr < chosen.cost)


def plan_models(models: list[ModelProfile], *, budget: float | None = None, target_accuracy: float | None = None,
                unit: str = "tokens", holdout: float = 0.5, seed: int = 0, reps: int = 16,
                policy: str = "auto", agg: Aggregation = Aggregation("vote")) -> ModelsPlanResult:
    """Choose among models and cascades on a training split; report on the held-out problems.
    ``agg``: majority vote, or a verifier ("oracle": a stage stands on an accepted sample, no mixes)."""
    t0 = time.perf_counter()
    search = ModelsSearch(models, unit=unit, holdout=holdout, seed=seed, reps=reps, budget=budget, agg=agg)
    result = search.plan(budget=budget, target_accuracy=target_accuracy, policy=policy)
    # the time of the whole search: every model's own search (in ModelsSearch) is most of it
    return replace(result, frontiers=model_frontiers(search.searches), seconds=time.perf_counter() - t0)
