"""Plans across models: choose the model, or cascade from a cheap one to a strong one.

Several profiles of the same problems (matched by id), each with its own cost model — so a
sample of a 14B model costs what it costs, in seconds, FLOPs or dollars. On one shared
training split the planner runs today's single-model search for every model (*choose*: the
best of them, under the same noise guard as one model's rules) and searches two-stage
cascades (policy/cascade.py) over every ordered pair; a cascade replaces the single-model
choice only when it beats it on the training problems by more than DEPART_SE paired
standard errors — hundreds of thousands of cascades are ranked on the same problems, so a
smaller lead is selection noise. Every figure reported is replayed on the held-out problems.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from inferplan.errors import InfeasibleError, InputError, InvalidValue
from inferplan.planner.candidates import FIXED_N, MAXES, RULE_GRID, Candidate, Mix
from inferplan.planner.curve_predictions import DEFAULT_FAMILY
from inferplan.planner.plan_file import Escalation, Plan, PlanModel, Prediction
from inferplan.planner.search import search_space
from inferplan.planner.selection import TIE_TOLERANCE, choose, paired_gain
from inferplan.policy.aggregate import Aggregation
from inferplan.policy.cascade import Cascade, Stage
from inferplan.policy.stopping import StoppingRule, make_rule
from inferplan.profiles.profile import Profile
from inferplan.replay.cascade import StageOutcome, cascade_grid, cascade_outcome, stage_outcome
from inferplan.replay.cost import CostModel
from inferplan.replay.split import split_problems
from inferplan.replay.traces import Estimate, Outcome, densify, estimate, evaluate
from inferplan.tasks.prompt_spec import from_header

# A cascade must beat the best single-model plan on the training problems by this many paired
# standard errors: the cascade space is far larger than one model's rules, so its best
# training score is inflated more by selection than theirs is.
DEPART_SE = 2.0
ACCEPT_SHARES = (0.5, 0.6, 2 / 3, 0.75, 0.8, 0.9, 1.0)  # the MoT cascade sweeps 0.4–1.0
FIRST_FIXED = (1, 2, 3, 4, 5, 6, 8, 10, 12, 16)
FIRST_BETA = ((0.8, 4), (0.8, 8), (0.9, 8), (0.9, 16), (0.95, 16), (0.95, 32))


@dataclass(frozen=True)
class ModelProfile:
    """One model of a multi-model plan: its name, its profile and what its samples cost."""

    name: str
    profile: Profile
    cost: CostModel


@dataclass(frozen=True)
class ModelPlan:
    """One model's own best plan at the budget, chosen on the training problems."""

    model: str
    policy: str
    describe: str
    train_accuracy: float
    train_cost: float
    heldout: Estimate


@dataclass(frozen=True)
class CascadePlan:
    """The best cascade on the training problems, replayed on the held-out ones."""

    cascade: Cascade
    train_accuracy: float
    train_cost: float
    heldout: Estimate
    escalation: float  # held-out share of queries that escalate
    train_escalation: float


@dataclass(frozen=True)
class ModelsPlanResult:
    """What ``plan`` over several profiles returns."""

    kind: str  # "single" (one model chosen) or "cascade"
    model: str | None  # the chosen model (single)
    policy: str  # short form
    describe: str  # in words
    heldout: Estimate
    escalation: float | None  # held-out share escalated (cascade)
    singles: tuple[ModelPlan, ...]  # every model's own best plan (the chosen one among them)
    cascade: CascadePlan | None  # the best cascade, chosen or not
    notes: tuple[str, ...]
    train_problems: int
    test_problems: int
    seconds: float
    plan: Plan | None = None  # the plan file to save and run
    chosen_single: Candidate | None = None
    paired_vs_single: tuple[float, float] | None = None  # held-out cascade − chosen single (mean, se)


def model_name(profile: Profile) -> str:
    model = profile.header.model
    return str(model.get("name") or profile.header.model_label)


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


def _stage1_rules(length: int) -> list[tuple[StoppingRule, float]]:
    out = [(make_rule("fixed", (n,)), s) for n in FIRST_FIXED if n <= length for s in ACCEPT_SHARES]
    out += [(make_rule("beta", (t,), max_samples=m), s) for t, m in FIRST_BETA if m <= length
            for s in (0.5, 0.75)]
    return out


def _stage2_rules(length: int) -> list[StoppingRule]:
    out = [make_rule("fixed", (n,)) for n in FIXED_N if n <= length]
    maxes = sorted({m for m in MAXES if m < length} | {length})
    return out + [make_rule("beta", (t,), max_samples=m) for t in RULE_GRID["beta"] for m in maxes]


@dataclass
class _ModelSearch:
    """One model's single-model search on the shared split."""

    model: ModelProfile
    search: object  # planner.search._SequentialSearch
    cands: list[Candidate]

    def single_mix(self, c: int) -> Mix:
        table = self.model.profile.table
        return Mix(tuple(float(i == c) for i in range(len(table.configs))), table.configs[c].name)

    def configs(self) -> list[int]:
        count = self.search.train.count
        return [c for c in range(count.shape[1]) if count[:, c].min() > 0]


def _model_search(m: ModelProfile, ids_train, ids_test, agg, reps, seed, budget, unit) -> _ModelSearch:
    table = m.profile.table
    where = {p: i for i, p in enumerate(table.problems)}
    train = densify(table, m.cost, np.array([where[p] for p in ids_train]))
    test = densify(table, m.cost, np.array([where[p] for p in ids_test]))
    search, cands = search_space(table, train, test, agg, reps, seed, DEFAULT_FAMILY, budget, unit, 1)
    return _ModelSearch(m, search, cands)


def _stage2_table(ms: _ModelSearch, config: int, traces) -> tuple[list[StoppingRule], np.ndarray, np.ndarray]:
    tr = traces.get(ms.single_mix(config), None)
    rules = _stage2_rules(tr.score.shape[1])
    outs = [evaluate(tr, r) for r in rules]
    return rules, np.stack([o.accuracy for o in outs]), np.stack([o.cost for o in outs])


@dataclass
class _CascadeStages:
    """Every stage-1 candidate's per-problem outcome and every stage-2 candidate's, on the
    training problems, per (model, configuration): computed once, combined at any budget."""

    first: dict  # (model, config) -> (rules with accept shares, [StageOutcome])
    second: dict  # (model, config) -> (rules, accuracy (S2, P), cost (S2, P))

    @classmethod
    def of(cls, searches: list[_ModelSearch]) -> _CascadeStages:
        first, second = {}, {}
        for i, s in enumerate(searches):
            for c in s.configs():
                tr = s.search.train_traces.get(s.single_mix(c), None)
                rules = _stage1_rules(tr.score.shape[1])
                first[i, c] = (rules, [stage_outcome(tr, r, share) for r, share in rules])
                second[i, c] = _stage2_table(s, c, s.search.train_traces)
        return cls(first, second)


def _best_cascade(searches: list[_ModelSearch], stages: _CascadeStages, budget: float | None, target: float | None):
    """The best two-stage cascade on the training problems, where it is in ``stages``, and its
    training accuracy and cost (or None when none fits)."""
    best, best_key = None, None
    for (i, ca), (firsts, outs) in stages.first.items():
        for (j, cb), (rules, acc2, cost2) in stages.second.items():
            if j == i:
                continue
            acc, cost = cascade_grid(outs, acc2, cost2)
            if target is None:
                ok = cost <= budget * (1 + 1e-9)
                if not ok.any():
                    continue
                top = np.where(ok, acc, -np.inf).max()
                tie = ok & (acc >= top - TIE_TOLERANCE)
                k = np.unravel_index(np.argmin(np.where(tie, cost, np.inf)), acc.shape)
                key = (top, -cost[k])
            else:
                ok = acc >= target
                if not ok.any():
                    continue
                k = np.unravel_index(np.argmin(np.where(ok, cost, np.inf)), acc.shape)
                key = (-cost[k], acc[k])
            if best_key is None or key > best_key:
                r1, s1 = firsts[k[0]]
                a, b = searches[i], searches[j]
                best_key = key
                best = (Cascade((Stage(a.model.name, a.search.table.configs[ca].name, r1, s1),
                                 Stage(b.model.name, b.search.table.configs[cb].name, rules[k[1]]))),
                        (i, ca, j, cb), float(acc[k]), float(cost[k]))
    return best


def _replay_cascade(searches: list[_ModelSearch], where: tuple[int, int, int, int], cascade: Cascade,
                    split: str) -> tuple[Outcome, StageOutcome]:
    i, ca, j, cb = where
    a, b = searches[i], searches[j]
    first_traces = a.search.train_traces if split == "train" else a.search.test_traces
    last_traces = b.search.train_traces if split == "train" else b.search.test_traces
    s1, s2 = cascade.stages
    first = stage_outcome(first_traces.get(a.single_mix(ca), None), s1.rule, s1.accept_share)
    last = evaluate(last_traces.get(b.single_mix(cb), None), s2.rule)
    return cascade_outcome(first, last), first


def stage_plan(m: ModelProfile, *, mix: dict[str, float], rule: StoppingRule, unit: str, budget: float | None,
               target_accuracy: float | None, cap: int | None = None, term=None, prediction: Prediction | None = None,
               heldout: tuple[str, ...] = (), seed: int = 0, notes: tuple[str, ...] = (),
               escalate: Escalation | None = None) -> Plan:
    """One model's plan in a plan across models: its own profile, prompt, configurations and model."""
    table = m.profile.table
    return Plan(profile=str(m.profile.path), profile_sha256=m.profile.sha256,
                objective="max-accuracy" if budget is not None else "min-cost", budget=budget,
                target_accuracy=target_accuracy, unit=unit, mix=mix,
                configs={c.name: c for c in table.configs if c.name in mix}, aggregation=Aggregation("vote"),
                rule=rule, max_tokens=cap, prediction=prediction, heldout=heldout, seed=seed, notes=notes,
                prompt=from_header(table.header), price_in=m.cost.price_in, price_out=m.cost.price_out,
                terminate=term, model=PlanModel.of(table.header), escalate=escalate)


def _prediction(e: Estimate, escalation: float | None = None) -> Prediction:
    return Prediction(e.accuracy, e.accuracy_ci, e.cost, e.cost_ci, e.samples, e.n_problems, escalation=escalation)


class ModelsSearch:
    """Every model's single-model search and the cascade stages on one shared split; plan at any
    budget from it (the benchmark asks at several)."""

    def __init__(self, models: list[ModelProfile], *, unit: str = "tokens", holdout: float = 0.5, seed: int = 0,
                 reps: int = 16, budget: float | None = None) -> None:
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
        self.unit, self.seed = unit, seed
        self.searches = [_model_search(m, self.ids_train, self.ids_test, Aggregation("vote"), reps, seed, budget, unit)
                         for m in models]
        self._stages: _CascadeStages | None = None

    def plan(self, *, budget: float | None = None, target_accuracy: float | None = None,
             cascades: bool = True, depart_se: float = DEPART_SE) -> ModelsPlanResult:
        """Choose among models and cascades on the training problems; report on the held-out ones."""
        t0 = time.perf_counter()
        if (budget is None) == (target_accuracy is None):
            raise InvalidValue(("budget", "target_accuracy"), "give exactly one of {0} or {1}")
        searches, unit, seed = self.searches, self.unit, self.seed
        owner = {id(c): s for s in searches for c in s.cands}
        everything = [c for s in searches for c in s.cands if not c.extrapolated]
        chosen, kept_note = choose(everything, budget, target_accuracy, unit)
        chosen_search = owner[id(chosen)]
        singles = []
        for s in searches:
            try:
                c, _ = choose([c for c in s.cands if not c.extrapolated], budget, target_accuracy, unit)
            except InfeasibleError:
                continue
            singles.append(ModelPlan(s.model.name, c.policy, c.rule.describe(), c.accuracy, c.cost, s.search.heldout(c)))
        single_pred = chosen_search.search.heldout(chosen)
        notes = [f"planned on {len(self.ids_train)} problems, predicted on {len(self.ids_test)} held-out problems "
                 f"(seeded split, seed {seed}), every model on the same problems"] + ([kept_note] if kept_note else [])
        if cascades and self._stages is None:
            self._stages = _CascadeStages.of(searches)
        best = _best_cascade(searches, self._stages, budget, target_accuracy) if cascades else None
        cascade_plan, kind, paired = None, "single", None
        if best is not None:
            cascade, where, acc_tr, cost_tr = best
            train_out, train_first = _replay_cascade(searches, where, cascade, "train")
            test_out, test_first = _replay_cascade(searches, where, cascade, "test")
            cascade_plan = CascadePlan(cascade, acc_tr, cost_tr, estimate(test_out, seed=seed),
                                       float(test_first.escalate.mean()), float(train_first.escalate.mean()))
            gain, se = paired_gain(train_out.accuracy, chosen.per_problem)
            cheaper = target_accuracy is not None and cost_tr < chosen.cost
            if (target_accuracy is None and gain > max(depart_se * se, TIE_TOLERANCE)) or cheaper:
                kind = "cascade"
            elif target_accuracy is None:
                notes.append(f"kept the single model: the best cascade ({cascade.spec}) scored {100 * gain:+.2f} pt on "
                             f"the training problems, not more than {depart_se:g} paired standard errors "
                             f"({100 * se:.2f} pt)")
            chosen_test = chosen_search.search.test_traces.get(chosen.mix, chosen.cap, chosen.term)
            paired = paired_gain(test_out.accuracy, evaluate(chosen_test, chosen.rule).accuracy)
        elapsed = time.perf_counter() - t0
        common = dict(unit=unit, budget=budget, target_accuracy=target_accuracy, heldout=tuple(self.ids_test),
                      seed=seed)
        if kind == "cascade":
            c = cascade_plan
            first, last = c.cascade.stages
            by_name = {s.model.name: s.model for s in searches}
            nxt = stage_plan(by_name[last.model], mix={last.config: 1.0}, rule=last.rule, **common)
            plan = stage_plan(by_name[first.model], mix={first.config: 1.0}, rule=first.rule,
                              prediction=_prediction(c.heldout, c.escalation), notes=tuple(notes),
                              escalate=Escalation(first.accept_share, nxt), **common)
            return ModelsPlanResult("cascade", None, c.cascade.spec, c.cascade.describe(), c.heldout, c.escalation,
                                    tuple(singles), c, tuple(notes), len(self.ids_train), len(self.ids_test), elapsed,
                                    plan, chosen, paired)
        name = chosen_search.model.name
        names = tuple(x.name for x in chosen_search.search.table.configs)
        plan = stage_plan(chosen_search.model, mix=chosen.mix.as_dict(names), rule=chosen.rule, cap=chosen.cap,
                          term=chosen.term, prediction=_prediction(single_pred), notes=tuple(notes), **common)
        return ModelsPlanResult("single", name, f"{name}: {chosen.policy}", f"{name}: {chosen.rule.describe()}",
                                single_pred, None, tuple(singles), cascade_plan, tuple(notes), len(self.ids_train),
                                len(self.ids_test), elapsed, plan, chosen, paired)


def plan_models(models: list[ModelProfile], *, budget: float | None = None, target_accuracy: float | None = None,
                unit: str = "tokens", holdout: float = 0.5, seed: int = 0, reps: int = 16,
                cascades: bool = True) -> ModelsPlanResult:
    """Choose among models and cascades on a training split; report on the held-out problems."""
    return ModelsSearch(models, unit=unit, holdout=holdout, seed=seed, reps=reps, budget=budget).plan(
        budget=budget, target_accuracy=target_accuracy, cascades=cascades)
