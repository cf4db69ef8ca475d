"""Closed-loop check of a plan across models: run a cascade (stage by stage) or a mix in one vote
(model by model) for real on graded problems.

As ``evaluate`` does for one model (runner/evaluate.py), on the plan's held-out problems: the
realised accuracy against the predicted interval, the realised cost — each stage's or member's
samples charged in its own model's cost (its seconds per token, its price, its parameters) —
against the predicted cost, and for a cascade the share of queries that escalated against the
share replay predicted.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable, Mapping

from inferplan.backends import BackendSettings
from inferplan.errors import InputError
from inferplan.planner.plan_file import Plan
from inferplan.profiles.profile import Profile
from inferplan.replay.cost import CostModel
from inferplan.runner.cascade_runner import run_cascade, stage_names
from inferplan.runner.evaluate import (
    Checks,
    EvaluationResult,
    answered_right,
    charge,
    check,
    plan_cost,
    plan_grader,
    plan_verifier,
    realised_of,
    tasks_for,
)
from inferplan.runner.live_query import PlanOverrides
from inferplan.runner.mix_runner import run_mix
from inferplan.runner.queries import Query
from inferplan.runner.results import QueryResult

ESCALATION_TOLERANCE = 0.10  # realised share of queries escalated within ±10 points of the predicted


def _parts(r: QueryResult):
    return r.pool or r.stages


def _stage_cost(stage: Plan) -> CostModel:
    if not stage.profile or not Path(stage.profile).exists():
        raise InputError(f"the profile of the cascade's stage on {stage.model.label if stage.model else '?'} is gone "
                         f"({stage.profile}); evaluate needs it for that model's costs")
    return plan_cost(stage, Profile.open(stage.profile))


def _cost_of(costs: list[CostModel]) -> Callable[[QueryResult], float]:
    """A query's realised cost: every stage it reached (every model of a mix), each in its own model's cost."""
    def cost(r: QueryResult) -> float:
        return sum(charge(model, part.samples, part.completion_tokens, part.prompt_tokens)
                   for model, part in zip(costs, _parts(r)))
    return cost


def _by_model(plan: Plan, costs: list[CostModel], results) -> tuple[tuple[str, float], ...]:
    """Each model's realised cost per query (over every query, reached or not), in its own cost."""
    spent = [0.0] * len(costs)
    for r in results:
        for k, (model, part) in enumerate(zip(costs, _parts(r))):
            spent[k] += charge(model, part.samples, part.completion_tokens, part.prompt_tokens)
    return tuple((name, total / len(results)) for name, total in zip(stage_names(plan), spent))


def evaluate_cascade(plan: Plan, *, tasks: str | None = None, limit: int | None = None,
                     models: Mapping | None = None, settings: BackendSettings | None = None, seed: int = 0,
                     max_samples: int | None = None, allow_code_execution: bool = False,
                     on_result: Callable[[QueryResult, bool], None] | None = None,
                     mismatch: str = "refuse") -> EvaluationResult:
    """Run the cascade (or the mix) on graded problems; realised accuracy, cost and escalation beside the prediction."""
    profile = Profile.open(plan.profile) if plan.profile and Path(plan.profile).exists() else None
    taskset, source = tasks_for(plan, profile, tasks, limit)
    grader = plan_grader(plan, taskset, allow_code_execution)
    costs = [_stage_cost(stage) for stage in (plan.members if plan.pool else plan.stages)]
    queries = [Query(id=t.id, prompt=t.text, messages=t.messages) for t in taskset.tasks]
    start = time.monotonic()
    verify = plan_verifier(plan, taskset, grader)  # a verifier's cascade: its stages stand on accepted samples
    how = dict(models=models, settings=settings, overrides=PlanOverrides(max_samples=max_samples, seed=seed),
               mismatch=mismatch)
    results = run_mix(queries, plan, **how) if plan.pool else run_cascade(queries, plan, verify=verify, **how)
    wall = time.monotonic() - start
    correct = []
    for task, r in zip(taskset.tasks, results):
        ok = answered_right(task, r, grader)
        correct.append(ok)
        if on_result is not None:
            on_result(r, ok)
    realised = realised_of(results, correct, _cost_of(costs), wall)
    escalated = None if plan.pool else sum(len(r.stages) > 1 for r in results) / len(results)
    checks = check(plan.prediction, realised, None)
    predicted = plan.prediction.escalation if plan.prediction and escalated is not None else None
    if predicted is not None:
        checks = Checks(checks.accuracy_in_predicted_interval, checks.cost_within_tolerance, None, None, None,
                        bool(abs(escalated - predicted) <= ESCALATION_TOLERANCE))
    warnings = sorted({r.model_warning for r in results if r.model_warning})
    return EvaluationResult(plan, plan.unit, plan.prediction, realised, None, source, tuple(results), tuple(correct),
                            checks, None, (" + " if plan.pool else " → ").join(stage_names(plan)),
                            "; ".join(warnings) or None, escalated, _by_model(plan, costs, results))
