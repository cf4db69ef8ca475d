"""The planner: search mix × cap × stopping rule × max samples on a training split.

Objective: maximum accuracy under a mean per-query budget, or minimum cost for a
target accuracy. Every number reported as a prediction comes from replaying the
chosen plan on the held-out problems (never the problems it was chosen on).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np

from inferplan.errors import InvalidValue
from inferplan.fitting.model_select import select_family
from inferplan.planner.break_even import BreakEven, break_even
from inferplan.planner.candidates import (
    TERM_GRID,
    Candidate,
    TraceCache,
    candidates_on,
    pareto,
    unequal_counts_note,
)
from inferplan.planner.curve_predictions import DEFAULT_FAMILY, Extrapolator, extrapolation_family, supported
from inferplan.planner.extrapolated_candidates import extrapolated_candidates
from inferplan.planner.mix_allocation import recorded_slots
from inferplan.planner.plan_file import Plan, PlanModel, Prediction
from inferplan.planner.plan_notes import plan_caveats, plan_notes, thinking_note
from inferplan.planner.rounds import RoundCandidate, RoundSearch, has_lengths
from inferplan.planner.selection import choose
from inferplan.planner.simulate import Baseline
from inferplan.planner.space import budgets, mixes
from inferplan.policy.aggregate import Aggregation, check_answers
from inferplan.policy.forcing import profile_forcing
from inferplan.profiles.counts import count_matrix
from inferplan.profiles.profile import Profile
from inferplan.profiles.store import SampleTable
from inferplan.replay.cost import cost_model_for
from inferplan.replay.split import split_problems
from inferplan.replay.traces import Dense, densify, estimate, evaluate
from inferplan.stats.estimate import PerQuery
from inferplan.tasks.prompt_spec import from_header

HELDOUT_REPS = 20  # orders per held-out problem; `simulate` defaults to the same


@dataclass(frozen=True)
class ParetoPoint:
    """A frontier candidate: chosen on the training split, replayed on held-out problems."""

    mix: dict[str, float]
    rule: str
    max_tokens: int | None
    train_accuracy: float
    train_cost: float
    heldout: PerQuery
    extrapolated: bool = False  # predicted by the fitted curves beyond the recorded samples


@dataclass(frozen=True)
class PlanResult:
    """What ``inferplan plan`` returns: the plan, its frontier and its baselines (held-out)."""

    plan: Plan
    heldout: PerQuery
    pareto: tuple[ParetoPoint, ...]
    baselines: tuple[Baseline, ...]
    train_problems: int
    test_problems: int
    split_source: str
    candidates: int
    seconds: float
    break_even: BreakEven | None = None  # queries after which the plan has repaid its profile
    train_per_problem: np.ndarray | None = field(default=None, compare=False, repr=False)  # chosen, training


def _checked_aggregation(table: SampleTable, budget: float | None, target_accuracy: float | None, agg: Aggregation) -> Aggregation:
    """The aggregation, once the objective and the profile's answers allow the plan."""
    if (budget is None) == (target_accuracy is None):
        raise InvalidValue(("budget", "target_accuracy"), "give exactly one of {0} or {1}")
    if budget is not None and budget <= 0:
        raise InvalidValue("budget", "{name} must be positive")
    if target_accuracy is not None and not 0 < target_accuracy <= 1:
        raise InvalidValue("target_accuracy", "{name} must be in (0, 1]")
    check_answers(table, agg)
    return agg


@dataclass
class _SequentialSearch:
    """The two halves of one split, replayed and (where supported) extrapolated."""

    table: SampleTable
    train: Dense
    test: Dense
    agg: Aggregation
    reps: int
    seed: int
    family: str
    rounds: RoundSearch | None = None  # parallel rounds charged their tokens (unit tokens)
    thinking_budgets: bool = True  # try the profile's probed depths as thinking budgets

    def __post_init__(self) -> None:
        valid = recorded_slots(self.train)
        self.unit_cost = np.array([self.train.cost[:, c][valid[:, c]].mean() if valid[:, c].any() else np.inf
                                   for c in range(self.train.cost.shape[1])])
        self.train_traces = TraceCache(self.train, self.agg, self.reps, self.seed)
        # Held-out replay uses the same orders `simulate --plan` will (its default 20 per problem).
        self.test_traces = TraceCache(self.test, self.agg, HELDOUT_REPS, self.seed)
        can = self.agg.first_pass or self.agg.majority
        self.ex_tr = Extrapolator(self.train, self.agg, self.seed, self.family) if can else None
        self.ex_te = Extrapolator(self.test, self.agg, self.seed, self.family) if can else None
        self._heldout: dict[tuple, PerQuery] = {}
        # Samples with recorded confidences: the confidence-weighted stop is a candidate too.
        self.weighted = self.train.confidence is not None and not np.isnan(self.train.confidence).all()
        # Samples with recorded confidence lows: online low-confidence termination is tried too.
        lows = self.weighted and self.train.lows_v is not None and self.agg.votes
        self.terms = (None,) + (TERM_GRID if lows else ())

    def candidates(self, budget: float | None, unit: str) -> list[Candidate]:
        cands: list[Candidate] = []
        ex = self.ex_tr if supported(self.agg, ()) else None
        for mix in mixes(self.table, self.train, self.agg, self.unit_cost, budget, ex):
            for cap, forced in budgets(self.train, unit, self.thinking_budgets):
                # Online termination reads the confidence of the whole thinking: not with a forced budget.
                for term in (None,) if forced else self.terms:
                    tr = self.train_traces.get(mix, cap, term, forced)
                    cands.extend(candidates_on(tr, mix, cap, self.agg, self.weighted, term, forced))
            if self.ex_tr is not None and supported(self.agg, mix.shares):
                cands.extend(extrapolated_candidates(self.ex_tr, mix, budget, self.unit_cost))
        return cands + (self.rounds.candidates() if self.rounds else [])

    def batch_of(self, c: Candidate) -> str:
        if isinstance(c, RoundCandidate):
            return self.rounds.batch_of(c)
        return "lookahead"  # ConSol's rounds: the fewest samples that could end the query

    def round_notes(self, c: Candidate) -> tuple[str, ...]:
        return self.rounds.round_notes(c) if isinstance(c, RoundCandidate) else ()

    def heldout(self, c: Candidate) -> PerQuery:
        """The candidate replayed (or extrapolated) on the held-out problems, once per candidate:
        the plan, its frontier, the baselines and the break-even all ask."""
        if isinstance(c, RoundCandidate):
            return self.rounds.heldout(c)
        key = (c.mix.shares, c.cap, c.rule, c.extrapolated, c.term, c.forced)
        if key not in self._heldout:
            if c.extrapolated:  # the held-out problems' own recorded samples, through the curves
                self._heldout[key] = self.ex_te.estimate(c.mix.shares, c.rule.max_samples)
            else:
                tr = self.test_traces.get(c.mix, c.cap, c.term, c.forced)
                self._heldout[key] = estimate(evaluate(tr, c.rule), seed=self.seed)
        return self._heldout[key]


def plan(
    profile: Profile,
    *,
    budget: float | None = None,
    unit: str = "tokens",
    target_accuracy: float | None = None,
    aggregate: str = "vote",
    keep: float = 0.9,
    false_positive: float = 0.0,
    penalty: float = 0.0,
    holdout: float = 0.5,
    seed: int = 0,
    price_in: float = 0.0, price_out: float = 0.0,
    reps: int = 16,
    parameters: float | None = None,
    family: str | None = None,
    parallel: int = 16,
    thinking_budgets: bool = True,
    charge_prompt: bool = True,
) -> PlanResult:
    """Search for the best plan on the training split; predict on the held-out split. ``family`` (a
    fit's curve family) extrapolates beyond the recorded samples (else chosen as ``fit`` does, on the
    training problems); a parallel round launches at most ``parallel`` samples at once;
    ``charge_prompt`` False counts generated tokens only, as a total over a batch counts them."""
    t0, table = time.perf_counter(), profile.table
    agg = _checked_aggregation(table, budget, target_accuracy, Aggregation(aggregate, false_positive, penalty, keep))
    cost = replace(cost_model_for(table, unit, price_in=price_in, price_out=price_out, profile=profile.path,
                                  parameters=parameters), charge_prompt=charge_prompt)
    split = split_problems(table, holdout, seed)
    family, family_note = extrapolation_family(family or (_fitted_family(table, split.train, seed)
                                                          if agg.first_pass else DEFAULT_FAMILY))
    names = tuple(c.name for c in table.configs)
    search, cands = search_space(table, densify(table, cost, split.train), densify(table, cost, split.test), agg,
                                 reps, seed, family, budget, unit, parallel, thinking_budgets)
    chosen, kept_note = choose(cands, budget, target_accuracy, unit)
    pred = search.heldout(chosen)
    front = tuple(ParetoPoint(c.mix.as_dict(names), c.policy, c.cap, c.accuracy, c.cost, search.heldout(c),
                              c.extrapolated) for c in pareto(cands))
    baselines = _baselines(cands, budget if budget is not None else chosen.cost, table, search.heldout)
    recorded = search.ex_te.recorded(chosen.mix.shares) if chosen.extrapolated else None
    even = None if unit == "latency" else break_even(table, cost, cands, search.heldout, pred)
    notes = plan_notes(split, seed, kept_note, chosen, recorded, family, family_note) + plan_caveats(
        split, pred, baselines) + unequal_counts_note(search.train, chosen.mix.shares) + thinking_note(
        table, split.train, chosen) + ((even.note,) if even else ()) + search.round_notes(chosen)
    mix = chosen.mix.as_dict(names)
    result_plan = Plan(
        profile=str(profile.path), profile_sha256=profile.sha256,
        objective="max-accuracy" if budget is not None else "min-cost", budget=budget,
        target_accuracy=target_accuracy, unit=unit, mix=mix,
        configs={c.name: c for c in table.configs if c.name in mix},
        aggregation=agg, rule=chosen.rule, max_tokens=chosen.cap, batch=search.batch_of(chosen),
        prediction=Prediction.of(pred, extrapolated=chosen.extrapolated, recorded_samples=recorded),
        heldout=tuple(table.problems[i] for i in split.test), seed=seed, notes=notes,
        prompt=from_header(table.header), price_in=price_in, price_out=price_out,
        family=family if chosen.extrapolated else None, terminate=chosen.term,
        model=PlanModel.of(table.header, cost.parameters), seconds_per_token=cost.seconds_per_token,
        thinking=profile_forcing(table.header) if chosen.forced else None,
    )
    return PlanResult(result_plan, pred, front, baselines, len(split.train), len(split.test), split.source,
                      len(cands), time.perf_counter() - t0, even, chosen.per_problem)


def search_space(table: SampleTable, train: Dense, test: Dense, agg: Aggregation, reps: int, seed: int, family: str,
                 budget: float | None, unit: str, parallel: int,
                 thinking_budgets: bool = True) -> tuple[_SequentialSearch | RoundSearch, list[Candidate]]:
    """The search for the unit, and its candidates on the training problems."""
    if parallel < 1:
        raise InvalidValue("parallel", "{name} must be at least 1")
    names = tuple(c.name for c in table.configs)
    if unit == "latency":  # one parallel round read in finish order (planner/rounds.py)
        search = RoundSearch(names, train, test, agg, reps, seed, HELDOUT_REPS, parallel)
        return search, search.candidates()
    search = _SequentialSearch(table, train, test, agg, reps, seed, family, thinking_budgets=thinking_budgets)
    if unit == "tokens" and parallel > 1 and has_lengths(train):  # cancelled samples cost what they generated
        search.rounds = RoundSearch(names, train, test, agg, reps, seed, HELDOUT_REPS, parallel, charge="tokens")
    return search, search.candidates(budget, unit)


def _fitted_family(table: SampleTable, train: np.ndarray, seed: int) -> str:
    """The family ``fit`` would choose, from the training problems' counts alone."""
    _, N, C = count_matrix(table)
    N, C = N[train], C[train]
    rows = N.sum(1) > 0
    if rows.sum() < 8 or int(N[rows][N[rows] > 0].min()) < 4:
        return DEFAULT_FAMILY  # too little to cross-validate: keep the preferred family
    return select_family(N[rows], C[rows], random_state=seed).family


def _baselines(cands: list[Candidate], at_budget: float, table: SampleTable, heldout) -> tuple[Baseline, ...]:
    """Best fixed-N majority and best single configuration at the budget, and one greedy sample."""
    out: list[Baseline] = []

    def add(name: str, pool: list[Candidate]) -> None:
        ok = [c for c in pool if c.cost <= at_budget * (1 + 1e-9)]
        if ok:
            best = max(ok, key=lambda c: (c.accuracy, -c.cost))
            e = heldout(best)
            tag = ", extrapolated" if best.extrapolated else ""
            out.append(Baseline.of(f"{name} ({best.mix.name}, {best.policy.split(',min')[0]}{tag})", e))

    if any(c.forced for c in cands):  # what the thinking budget is judged against
        add("best plan without a thinking budget", [c for c in cands if not c.forced])
    plain = [c for c in cands if c.cap is None and c.term is None and sum(s > 0 for s in c.mix.shares) == 1]
    # Fixed N waits for all N: a latency round that reads only its first m finishers is not one.
    plain = [c for c in plain if c.waits_for_all]
    add("best fixed-N at this budget", [c for c in plain if c.rule.name == "fixed"])
    add("best single configuration", [c for c in cands if sum(s > 0 for s in c.mix.shares) == 1])
    temps = [(c.temperature if c.temperature is not None else 1.0, i) for i, c in enumerate(table.configs)]
    greedy_cfg = min(temps)[1]
    one = [c for c in plain if c.rule.name == "fixed" and c.rule.max_samples == 1 and c.mix.shares[greedy_cfg] == 1]
    if one:
        e = heldout(one[0])
        out.append(Baseline.of(f"one sample ({table.configs[greedy_cfg].name})", e))
    return tuple(out)
