"""Closed-loop check of a plan: run it for real on graded problems, compare with its prediction.

By default the problems are the plan's held-out ones — the problems it was *not*
chosen on, whose replay gave the prediction — asked again with fresh samples.
Beside the realised numbers stands fixed-N majority vote at the same realised
cost, replayed on the profile's recorded samples of the same problems (N
interpolated between the two fixed sizes that bracket the cost).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import numpy as np

from inferplan.backends import DEFAULT_MODEL, Backend, BackendSettings, open_backend
from inferplan.backends.describe import model_parameters
from inferplan.errors import InputError
from inferplan.planner.plan_file import Plan, Prediction
from inferplan.profiles.profile import Profile
from inferplan.replay.cost import CostModel, cost_model_for
from inferplan.runner.plan_model import ModelChoice
from inferplan.runner.plan_runner import PlanOverrides, run_plan
from inferplan.runner.queries import Query
from inferplan.runner.replayed import FixedBaseline, Promised, fixed_n_at_cost, promised
from inferplan.runner.results import QueryResult
from inferplan.stats.estimate import LEVEL, Estimate, PerQuery
from inferplan.stats.intervals import beta_interval
from inferplan.tasks.task_grader import TaskGrader
from inferplan.tasks.taskset import TaskSet, load_tasks

COST_TOLERANCE = 0.15  # realised cost within this fraction of the predicted counts as a hit


@dataclass(frozen=True)
class Realised(PerQuery):
    """What the plan did on the problems (means per query; the accuracy with its Jeffreys interval,
    the cost measured, without one) and what only a run knows."""

    completion_tokens_per_query: float
    prompt_tokens_per_query: float  # the prompt, counted once per query (apart: it is not what a plan saves)
    seconds: float  # wall time of the whole evaluation
    censored: float = 0.0  # share of samples the token cap left with no answer (abstentions, not wrong)


@dataclass(frozen=True)
class Checks:
    """Did reality match the prediction? None where there is nothing to compare."""

    accuracy_in_predicted_interval: bool | None
    cost_within_tolerance: bool | None  # within COST_TOLERANCE of the predicted cost
    beats_fixed_n: bool | None  # realised accuracy ≥ fixed-N majority at the same cost
    samples_as_promised: bool | None = None  # samples per query inside the promised interval
    completion_tokens_as_promised: bool | None = None  # completion tokens per query inside it
    escalation_as_predicted: bool | None = None  # a cascade: escalated share within ESCALATION_TOLERANCE

    @property
    def passed(self) -> bool:
        return all(v is not False for v in (self.accuracy_in_predicted_interval, self.cost_within_tolerance,
                                             self.beats_fixed_n, self.samples_as_promised,
                                             self.completion_tokens_as_promised, self.escalation_as_predicted))


def _within(value: float, promise: Estimate | None) -> bool | None:
    """Inside the interval where there is one (never narrower than a token), else within ±15% of the point."""
    if promise is None:
        return None
    interval, point = promise.interval, promise.point
    if interval is not None and interval[1] - interval[0] > 1e-9:
        return bool(interval[0] - 1e-9 <= value <= interval[1] + 1e-9)
    return bool(abs(value - point) <= COST_TOLERANCE * max(abs(point), 1e-9))


def check(predicted: Prediction | None, realised: Realised, baseline: FixedBaseline | None,
          promised: Promised | None = None) -> Checks:
    """The closed-loop checks ``evaluate`` exists for: accuracy, cost, samples and completion
    tokens against what the plan promised, and fixed-N at the same cost."""
    inside = cost_ok = beats = None
    if predicted is not None:
        inside = predicted.accuracy.covers(realised.accuracy.point)
        if predicted.cost.point:
            cost_ok = bool(abs(realised.cost.point - predicted.cost.point) <= COST_TOLERANCE * predicted.cost.point)
    if baseline is not None:
        beats = bool(realised.accuracy.point >= baseline.accuracy)
    samples_ok = tokens_ok = None
    if promised is not None:
        samples_ok = _within(realised.samples, promised.samples)
        tokens_ok = _within(realised.completion_tokens_per_query, promised.completion_tokens)
    return Checks(inside, cost_ok, beats, samples_ok, tokens_ok)


@dataclass(frozen=True)
class EvaluationResult:
    plan: Plan
    unit: str
    predicted: Prediction | None
    realised: Realised
    baseline: FixedBaseline | None
    source: str  # which problems were evaluated
    results: tuple[QueryResult, ...]
    correct: tuple[bool, ...]
    checks: Checks
    promised: Promised | None = None  # samples and completion tokens per query, replayed
    model: str = DEFAULT_MODEL  # the model that answered
    model_warning: str | None = None  # set when it is not the model the plan was made for
    escalation: float | None = None  # a cascade: the share of queries that reached its next stage
    by_model: tuple[tuple[str, float], ...] | None = None  # across models: each one's realised cost per query


def tasks_for(plan: Plan, profile: Profile | None, tasks: str | None, limit: int | None) -> tuple[TaskSet, str]:
    """The graded problems: ``tasks`` as given, else the profile's task set cut to the held-out ids."""
    if tasks is not None:
        return load_tasks(tasks, limit=limit), f"{tasks} ({'first ' + str(limit) if limit else 'all'})"
    spec = profile.header.tasks if profile is not None else {}
    source = spec.get("source") or (plan.prompt.tasks if plan.prompt else None)
    if not source:
        raise InputError("the plan's profile names no task set (an imported profile?); give the tasks to evaluate on")
    full = load_tasks(source, limit=spec.get("limit"), shuffle=bool(spec.get("shuffle")),
                      seed=profile.header.seed if profile is not None else 0)
    keep = set(plan.heldout)
    chosen = tuple(t for t in full.tasks if t.id in keep)
    if not chosen:
        raise InputError(f"none of the plan's held-out problems are in {source}; give the tasks to evaluate on")
    if limit is not None:
        chosen = chosen[:limit]
    return replace(full, tasks=chosen), f"the plan's {len(chosen)} held-out problems"


def charge(cost: CostModel, samples: int, completion_tokens: int, prompt_tokens: int) -> float:
    """What ``samples`` samples of ``completion_tokens`` in all after one prompt cost in the unit
    (the prompt once where the backend shares it, else once per sample)."""
    if cost.unit == "samples":
        return float(samples)
    prompt = prompt_tokens if cost.shared_prefix else prompt_tokens * samples
    return float(cost.token_cost(completion_tokens, prompt))


def query_cost(r: QueryResult, cost: CostModel) -> float:
    """A query's realised cost in the plan's unit: every token generated, wasted ones too."""
    if cost.unit == "latency":  # a parallel round lasts as long as the last sample it read
        return float(max(r.sample_tokens, default=0))
    return charge(cost, r.samples, r.completion_tokens + r.wasted_tokens, r.prompt_tokens)


def plan_cost(plan: Plan, profile: Profile | None) -> CostModel:
    """The plan's unit priced from its profile (measured rate, parameters), or bare where it is gone.
    FLOPs are charged with the parameters the plan recorded (``plan --params``), else the profile's."""
    prices = dict(price_in=plan.price_in, price_out=plan.price_out)
    planned = plan.model.parameters if plan.model and plan.unit == "flops" else None
    if profile is None:
        return CostModel(unit=plan.unit, parameters=planned, **prices)
    params = planned or (model_parameters(profile.header.parameters, profile.header.model_path)
                         if plan.unit == "flops" else None)
    return cost_model_for(profile.table, plan.unit, profile=profile.path, parameters=params, **prices)


def plan_grader(plan: Plan, taskset: TaskSet, allow_code_execution: bool) -> TaskGrader:
    """The profile's grader grades (a fixed-N plan only extracts answers: the tasks' own graders grade)."""
    profiled = plan.prompt.grader if plan.prompt else "mixed"
    name = None if profiled == "mixed" or profiled.startswith("extract:") else profiled
    return TaskGrader(taskset, name, allow_code_execution=allow_code_execution)


def answered_right(task, r: QueryResult, grader: TaskGrader) -> bool:
    """The returned answer is right if a sample giving that answer was graded right; under a
    verifier the answer is the sample it accepted (the last drawn), right if that sample is —
    code has no vote key to match (its extracted answer is often none at all)."""
    if r.stop_reason == "accepted":
        return grader.grade(task, (r.answer_texts or r.texts)[-1]).correct
    return answer_right(task, r.answer, r.answers, r.answer_texts or r.texts, grader)


def answer_right(task, answer: str | None, answers, texts, grader: TaskGrader) -> bool:
    """``answer`` (a vote's winner) is right if a sample that gave it (``answers`` read from
    ``texts``) was graded right; no answer is never right."""
    return answer is not None and any(a == answer and grader.grade(task, text).correct
                                      for a, text in zip(answers, texts))


def plan_verifier(plan: Plan, taskset: TaskSet, grader: TaskGrader):
    """A first-pass plan's verifier on graded tasks (the grader accepts a right sample): verify(position,
    text) → accepted; None for a plan that votes."""
    return (lambda pos, text: grader.grade(taskset.tasks[pos], text).correct) if plan.aggregation.first_pass else None


def _answer(plan: Plan, taskset: TaskSet, grader: TaskGrader, backend: Backend, seed: int,
            max_samples: int | None, on_result: Callable[[QueryResult, bool], None] | None):
    """Run the plan on the graded problems; each result and whether its answer was right."""
    by_pos, verify = taskset.tasks, plan_verifier(plan, taskset, grader)
    queries = [Query(id=t.id, prompt=t.text, messages=t.messages) for t in taskset.tasks]
    results, correct = [], []
    for pos, r in enumerate(run_plan(queries, backend, plan, PlanOverrides(max_samples=max_samples, seed=seed),
                                     verify=verify)):
        ok = answered_right(by_pos[pos], r, grader)
        results.append(r)
        correct.append(ok)
        if on_result is not None:
            on_result(r, ok)
    return results, correct


def realised_of(results: list[QueryResult], correct: list[bool], cost: CostModel | Callable[[QueryResult], float],
                wall: float) -> Realised:
    per_query = [cost(r) if callable(cost) else query_cost(r, cost) for r in results]
    k, m = sum(correct), len(correct)
    low, high = beta_interval(k, m, LEVEL)
    return Realised(
        accuracy=Estimate(k / m, (float(low), float(high)), m), cost=Estimate(float(np.mean(per_query)), None, m),
        samples=float(np.mean([r.samples for r in results])),
        completion_tokens_per_query=float(np.mean([r.completion_tokens + r.wasted_tokens for r in results])),
        prompt_tokens_per_query=float(np.mean([r.prompt_tokens for r in results])), seconds=wall,
        censored=censored_of(results),
    )


def censored_of(results: list[QueryResult]) -> float:
    """Share of the samples the token cap left with no answer: cut ("length"), or made to answer
    with nothing readable ("forced", no answer)."""
    pairs = [(a, f) for r in results for a, f in zip(r.answers, r.finishes)]
    cut = sum(f == "length" or (f == "forced" and a is None) for a, f in pairs)
    return cut / len(pairs) if pairs else 0.0


def evaluate_plan(
    plan: Plan,
    *,
    tasks: str | None = None,
    limit: int | None = None,
    model: ModelChoice = ModelChoice(DEFAULT_MODEL, DEFAULT_MODEL),
    settings: BackendSettings | None = None,
    seed: int = 0,
    max_samples: int | None = None,
    allow_code_execution: bool = False,
    backend: Backend | None = None,
    on_result: Callable[[QueryResult, bool], None] | None = None,
) -> EvaluationResult:
    """Run the plan on graded problems; realised accuracy and cost beside prediction and baseline."""
    profile = Profile.open(plan.profile) if plan.profile and Path(plan.profile).exists() else None
    taskset, source = tasks_for(plan, profile, tasks, limit)
    grader = plan_grader(plan, taskset, allow_code_execution)
    own = backend is None
    backend = backend or open_backend(model.spec, settings)
    start = time.monotonic()
    try:
        results, correct = _answer(plan, taskset, grader, backend, seed, max_samples, on_result)
    finally:
        if own:
            backend.close()
    table = profile.table if profile is not None else None
    cost = plan_cost(plan, profile)
    realised = realised_of(results, correct, cost, time.monotonic() - start)
    baseline = promise = None
    if table is not None:
        ids = [t.id for t in taskset.tasks]
        baseline = fixed_n_at_cost(table, plan, cost, ids, realised.cost.point, seed=seed)
        promise = promised(table, plan, ids, seed=seed)
    return EvaluationResult(plan, plan.unit, plan.prediction, realised, baseline, source, tuple(results),
                            tuple(correct), check(plan.prediction, realised, baseline, promise), promise,
                            model.label, model.warning)
