"""The planner: search mix × cap × stopping rule × max samples on a training split.

Objective: maximum accuracy under a mean per-query budget, or minimum cost for a
target accuracy. Every number reported as a prediction comes from replaying the
chosen plan on the held-out problems (never the problems it was chosen on).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from inferplan.errors import InfeasibleError, InputError
from inferplan._util.hashing import sha256_file
from inferplan.policy.aggregate import Aggregation, check_answers
from inferplan.plan.allocation import allocate_pass_at_k, allocate_vote
from inferplan.plan.candidates import (
    Candidate,
    Mix,
    TraceCache,
    candidates_on,
    pareto,
)
from inferplan.replay.cost import cost_model_for
from inferplan.plan.extrapolate import NOTE, Extrapolator, supported
from inferplan.plan.plan_file import Plan, Prediction
from inferplan.replay.engine import Estimate, densify, estimate, evaluate
from inferplan.replay.simulate import Baseline
from inferplan.replay.split import split_problems
from inferplan.policy.stopping import make_rule
from inferplan.tasks.prompt_spec import prompt_spec
from inferplan.profiles.store import SampleTable, load_profile

EXTRA_N = (24, 32, 40, 48, 64, 80, 96, 128, 192, 256, 384, 512, 768, 1024)  # fixed N the curves may predict
HELDOUT_REPS = 20  # orders per held-out problem; `simulate` defaults to the same
TIE_TOLERANCE = 0.001  # accuracies this close on the training split count as equal: take the cheaper
# Departing from the reference rule needs a training-split advantage of this many paired
# standard errors (over problems); below that, the "win" is selection noise (see _choose).
DEPART_SE = 1.0


@dataclass(frozen=True)
class ParetoPoint:
    """A frontier candidate: chosen on the training split, replayed on held-out problems."""

    mix: dict[str, float]
    rule: str
    max_tokens: int | None
    train_accuracy: float
    train_cost: float
    heldout: Estimate
    extrapolated: bool = False  # predicted by the fitted curves beyond the recorded samples


@dataclass(frozen=True)
class PlanResult:
    """What ``inferplan plan`` returns: the plan, its frontier and its baselines (held-out)."""

    plan: Plan
    heldout: Estimate
    pareto: tuple[ParetoPoint, ...]
    baselines: tuple[Baseline, ...]
    train_problems: int
    test_problems: int
    split_source: str
    candidates: int
    seconds: float


def _mixes(table: SampleTable, dense, agg: Aggregation, unit_cost: np.ndarray, budget: float | None,
           ex: Extrapolator | None = None) -> list[Mix]:
    """Single configurations, plus allocated mixes when the profile has several.

    With an extrapolator (oracle), pass@k mixes are also allocated under the fitted
    model at sizes the recorded samples cannot reach.
    """
    C = len(table.configs)
    have = dense.count.min(axis=0) > 0
    mixes = [Mix(tuple(float(i == c) for i in range(C)), table.configs[c].name) for c in range(C) if have[c]]
    if C > 1 and have.sum() > 1:
        budgets = {4.0, 16.0, 64.0}
        if budget is not None:
            budgets.add(max(1.0, budget / float(np.mean(unit_cost))))
        for b in sorted(budgets):
            b_cost = b * float(np.mean(unit_cost))
            alloc = (allocate_pass_at_k(dense, b_cost, unit_cost) if agg.kind == "oracle"
                     else allocate_vote(dense, b_cost, unit_cost, sims=64))
            k = np.asarray(alloc.counts, dtype=float)
            if k.sum() > 0 and (k > 0).sum() > 1:
                mixes.append(Mix(tuple(k / k.sum()), "mix@" + "+".join(
                    f"{table.configs[i].name}×{int(k[i])}" for i in np.flatnonzero(k))))
        if ex is not None and agg.kind == "oracle":
            sizes = {64.0, 256.0} | ({budget / float(np.mean(unit_cost)) * f for f in (1, 2, 4)} if budget else set())
            for b in sorted(sizes):
                if b <= float(dense.count.min()):
                    continue  # the recorded samples' own allocation covers it
                k = np.asarray(ex.allocate(b, unit_cost), dtype=float)
                if k.sum() > 0 and (k > 0).sum() > 1:
                    mixes.append(Mix(tuple(k / k.sum()), "fit-mix@" + "+".join(
                        f"{table.configs[i].name}×{int(k[i])}" for i in np.flatnonzero(k))))
    return list({m.shares: m for m in mixes}.values())


def _caps(table: SampleTable, unit: str) -> list[int | None]:
    """Per-sample max-token caps worth trying (only when tokens are what costs)."""
    tok = table.completion_tokens[~np.isnan(table.completion_tokens)]
    if unit == "samples" or tok.size == 0:
        return [None]
    return [None] + sorted({int(np.quantile(tok, q)) for q in (0.99, 0.95, 0.9)}, reverse=True)


def _choose(cands: list[Candidate], budget: float | None, target: float | None,
            unit: str) -> tuple[Candidate, str | None]:
    """The plan to keep, and a note when the reference rule was kept over the raw winner.

    Under a budget the raw winner (best training accuracy, the cheaper of near-ties)
    gives way to the reference rule (see _reference) when it does not beat it clearly
    and spends no more than it: between candidates the training problems cannot tell
    apart, the standard rule that uses at least as much of the paid-for budget is the
    better bet. A winner that spends more is kept (on 20 training problems a degenerate
    reference — beta at θ = 0.5, one sample — would otherwise beat every adaptive rule).
    """
    if target is not None:
        ok = [c for c in cands if c.accuracy >= target]
        if not ok:
            best = max(cands, key=lambda c: c.accuracy)
            raise InfeasibleError(
                f"no plan reaches accuracy {target:.3f} on the training problems; the best achievable is "
                f"{best.accuracy:.3f} ({best.rule.spec}, {best.cost:.4g} {unit}/query)")
        return min(ok, key=lambda c: (c.cost, -c.accuracy)), None
    ok = [c for c in cands if c.cost <= budget]
    if not ok:
        cheap = min(cands, key=lambda c: c.cost)
        raise InfeasibleError(
            f"no plan costs ≤ {budget:g} {unit}/query; the cheapest ({cheap.rule.spec}) costs "
            f"{cheap.cost:.4g} {unit}/query for accuracy {cheap.accuracy:.3f}")
    top = max(c.accuracy for c in ok)
    best = min((c for c in ok if c.accuracy >= top - TIE_TOLERANCE), key=lambda c: c.cost)
    ref = _reference(ok)
    if ref is None or ref is best or ref.cost < best.cost or _beats(best, ref):
        return best, None  # no reference, or the winner spends more, or it is clearly better
    return ref, (f"kept {ref.rule.spec}: the best-scoring candidate on the training problems ({best.rule.spec}, "
                 f"{100 * (best.accuracy - ref.accuracy):+.2f} pt) did not beat it by more than {DEPART_SE:g} paired standard "
                 "error, which selection noise alone produces")


def _reference(ok: list[Candidate]) -> Candidate | None:
    """The published default among affordable candidates: Adaptive-Consistency's beta rule
    with no binding max guard (all recorded samples) and no token cap, at its best threshold.

    Hundreds of candidates are ranked on one training split, so the top one's lead
    over near-equivalent rules is mostly noise, and on a finite problem set that noise
    reverses on the held-out half (the halves are complementary). Measured on ESC Last
    Letters over 10 seeded splits at 6.4 samples: picking the raw winner lost 0.05 ±
    0.03 points against beta at equal held-out samples; keeping beta unless the winner
    beats it clearly lost nothing.
    """
    beta = [c for c in ok if c.rule.name == "beta" and c.cap is None and not c.extrapolated]
    if not beta:
        return None
    longest = max(c.rule.max_samples for c in beta)
    return max((c for c in beta if c.rule.max_samples == longest), key=lambda c: (c.accuracy, -c.cost))


def _beats(c: Candidate, ref: Candidate) -> bool:
    """``c`` is better than ``ref`` on the training problems by more than DEPART_SE paired SEs."""
    if c is ref:
        return False
    if c.per_problem is None or ref.per_problem is None or len(c.per_problem) != len(ref.per_problem):
        return c.accuracy > ref.accuracy + TIE_TOLERANCE
    d = c.per_problem - ref.per_problem
    se = float(d.std(ddof=1)) / np.sqrt(len(d)) if len(d) > 1 else 0.0
    return float(d.mean()) > max(DEPART_SE * se, TIE_TOLERANCE)


def plan(
    profile: Path | str,
    *,
    budget: float | None = None,
    unit: str = "tokens",
    target_accuracy: float | None = None,
    aggregate: str = "vote",
    false_positive: float = 0.0,
    penalty: float = 0.0,
    holdout: float = 0.5,
    seed: int = 0,
    price_in: float = 0.0,
    price_out: float = 0.0,
    reps: int = 16,
) -> PlanResult:
    """Search for the best plan on the training split; predict on the held-out split."""
    t0 = time.perf_counter()
    if (budget is None) == (target_accuracy is None):
        raise InputError("give exactly one of --budget or --target-accuracy")
    if budget is not None and budget <= 0:
        raise InputError("--budget must be positive")
    if target_accuracy is not None and not 0 < target_accuracy <= 1:
        raise InputError("--target-accuracy must be in (0, 1]")
    table = load_profile(profile)
    agg = Aggregation(aggregate, false_positive, penalty)
    check_answers(table, agg)
    cost = cost_model_for(table, unit, price_in=price_in, price_out=price_out, profile=profile)
    split = split_problems(table, holdout, seed)
    train, test = densify(table, cost, split.train), densify(table, cost, split.test)
    valid = np.arange(train.cost.shape[2])[None, None, :] < train.count[:, :, None]
    unit_cost = np.array([train.cost[:, c][valid[:, c]].mean() if valid[:, c].any() else np.inf
                          for c in range(train.cost.shape[1])])
    tr_cache = TraceCache(train, agg, reps, seed)
    # Held-out replay uses the same orders `simulate --plan` will (its default 20 per problem).
    te_cache = TraceCache(test, agg, HELDOUT_REPS, seed)
    ex_tr = Extrapolator(train, agg, seed) if agg.kind in ("oracle", "vote") else None
    ex_te = Extrapolator(test, agg, seed) if ex_tr is not None else None
    cands: list[Candidate] = []
    for mix in _mixes(table, train, agg, unit_cost, budget, ex_tr if supported(agg, ()) else None):
        for cap in _caps(table, unit):
            cands.extend(candidates_on(tr_cache.get(mix, cap), mix, cap, agg))
        if ex_tr is not None and supported(agg, mix.shares):
            cands.extend(_extrapolated(ex_tr, mix, budget, unit_cost))
    chosen, kept_note = _choose(cands, budget, target_accuracy, unit)
    names = tuple(c.name for c in table.configs)

    def heldout(c: Candidate) -> Estimate:
        if c.extrapolated:  # the held-out problems' own recorded samples, through the curves
            return ex_te.estimate(c.mix.shares, c.rule.max_samples)
        return estimate(evaluate(te_cache.get(c.mix, c.cap), c.rule), seed=seed)

    pred = heldout(chosen)
    front = tuple(ParetoPoint(c.mix.as_dict(names), c.rule.spec, c.cap, c.accuracy, c.cost, heldout(c),
                              c.extrapolated) for c in pareto(cands))
    at_budget = budget if budget is not None else chosen.cost
    baselines = _baselines(cands, at_budget, table, te_cache, heldout)
    notes = [f"planned on {len(split.train)} problems, predicted on {len(split.test)} held-out problems"
             + (" (the profile's own split)" if split.source == "profile" else f" (seeded split, seed {seed})")]
    if split.in_sample:
        notes = ["--holdout 0: planned and evaluated on the same problems; the prediction is optimistic"]
    if kept_note:
        notes.append(kept_note)
    recorded = None
    if chosen.extrapolated:
        recorded = ex_te.recorded(chosen.mix.shares)
        notes.append(NOTE.format(n=recorded) + f" (N = {chosen.rule.max_samples}; interval: bootstrap over "
                     "held-out problems and posterior draws, spanning the difficulty families)")
    result_plan = Plan(
        profile=str(profile), profile_sha256=sha256_file(profile),
        objective="max-accuracy" if budget is not None else "min-cost", budget=budget,
        target_accuracy=target_accuracy, unit=unit, mix=chosen.mix.as_dict(names),
        configs={c.name: c.to_json() for c in table.configs if c.name in chosen.mix.as_dict(names)},
        aggregation=agg, rule=chosen.rule, max_tokens=chosen.cap,
        prediction=Prediction(pred.accuracy, pred.accuracy_ci, pred.cost, pred.cost_ci, pred.samples, pred.n_problems,
                              extrapolated=chosen.extrapolated, recorded_samples=recorded),
        heldout=tuple(table.problems[i] for i in split.test), seed=seed, notes=tuple(notes),
        prompt=prompt_spec(table.header), price_in=price_in, price_out=price_out,
    )
    return PlanResult(result_plan, pred, front, baselines, len(split.train), len(split.test), split.source,
                      len(cands), time.perf_counter() - t0)


def _extrapolated(ex: Extrapolator, mix: Mix, budget: float | None, unit_cost: np.ndarray) -> list[Candidate]:
    """Fixed-N candidates beyond the recorded samples, predicted by the fitted curves."""
    ns = ex.grid(mix.shares, EXTRA_N)
    if budget is not None and ex.agg.kind == "vote":
        # Majority vote spends all N samples: skip what cannot fit the budget.
        per = float(np.dot(mix.shares, unit_cost))
        ns = [n for n in ns if n * per <= 1.5 * budget]
    out = []
    for n, o in ex.outcomes(mix.shares, ns).items():
        out.append(Candidate(mix, None, make_rule("fixed", (n,)), float(o.accuracy.mean()), float(o.cost.mean()),
                             float(o.samples.mean()), extrapolated=True, per_problem=o.accuracy))
    return out


def _baselines(cands: list[Candidate], at_budget: float, table: SampleTable, te_cache: TraceCache,
               heldout) -> tuple[Baseline, ...]:
    """Best fixed-N majority and best single configuration at the budget, and one greedy sample."""
    out: list[Baseline] = []

    def add(name: str, pool: list[Candidate]) -> None:
        ok = [c for c in pool if c.cost <= at_budget * (1 + 1e-9)]
        if ok:
            best = max(ok, key=lambda c: (c.accuracy, -c.cost))
            e = heldout(best)
            tag = ", extrapolated" if best.extrapolated else ""
            out.append(Baseline(f"{name} ({best.mix.name}, {best.rule.spec.split(',min')[0]}{tag})",
                                e.accuracy, e.accuracy_ci, e.cost, e.samples))

    plain = [c for c in cands if c.cap is None and sum(s > 0 for s in c.mix.shares) == 1]
    add("best fixed-N at this budget", [c for c in plain if c.rule.name == "fixed"])
    add("best single configuration", [c for c in cands if sum(s > 0 for s in c.mix.shares) == 1])
    temps = [(c.temperature if c.temperature is not None else 1.0, i) for i, c in enumerate(table.configs)]
    greedy_cfg = min(temps)[1]
    one = [c for c in plain if c.rule.name == "fixed" and c.rule.max_samples == 1 and c.mix.shares[greedy_cfg] == 1]
    if one:
        e = heldout(one[0])
        out.append(Baseline(f"one sample ({table.configs[greedy_cfg].name})", e.accuracy, e.accuracy_ci, e.cost, e.samples))
    return tuple(out)
