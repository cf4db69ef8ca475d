"""Run a cascade plan: each stage on its own model, the next stage only for the queries that escalate.

Stage by stage over the whole list of queries, so each model's batch stays full and a model
is opened only when some query reaches it (one that no query escalates to is never loaded).
Every stage's model is resolved and checked before the first one loads: a missing model is
one line (exit 4) before any work starts. A stage's answer stands by the same test replay
used (:func:`inferplan.policy.cascade.answer_stands`), so what runs is what was planned.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Callable, Mapping, Sequence

from inferplan.backends import Backend, BackendSettings, open_backend
from inferplan.errors import InvalidValue
from inferplan.planner.plan_file import Plan
from inferplan.policy.cascade import answer_stands
from inferplan.runner.live_query import PlanOverrides, Verifier
from inferplan.runner.plan_model import ModelChoice, model_for
from inferplan.runner.plan_runner import PlanExecution
from inferplan.runner.queries import Query
from inferplan.runner.results import QueryResult, StageResult

ModelOverrides = Mapping[str, "str | Backend"]


def stage_names(plan: Plan) -> list[str]:
    """How each model of a cascade (or a mix) is named (its label: a GGUF's file name, "smollm2",
    a server's model)."""
    return [s.model.label if s.model else "?" for s in _models_of(plan)[0]]


def _models_of(plan: Plan) -> tuple[tuple[Plan, ...], str, str]:
    """The plans that each run one model (a mix's members or a cascade's stages), what they are
    together and what each one is called in messages."""
    return (plan.members, "mix", "model") if plan.pool else (plan.stages, "cascade", "stage")


def _override(stage: Plan, models: ModelOverrides) -> str | Backend | None:
    if stage.model is None:
        return None
    for key in (stage.model.label, stage.model.name, stage.model.spec):
        if key and key in models:
            return models[key]
    return None


def resolve_models(plan: Plan, models: ModelOverrides | None, mismatch: str) -> list[tuple[ModelChoice, Backend | None]]:
    """Each stage's (or mix member's) model, checked now (before anything loads); ``models``
    overrides where one lives."""
    models = dict(models or {})
    plans, what, part = _models_of(plan)
    names = stage_names(plan)
    known = set(names) | {s.model.name for s in plans if s.model and s.model.name}
    unknown = [k for k in models if k not in known and k not in {s.model.spec for s in plans if s.model}]
    if unknown:
        raise InvalidValue("model", f"{{name}} {unknown[0]!r}: the plan's {what} has no such model "
                                    f"(it runs {', '.join(names)}); say --model NAME=SPEC with one of those")
    return [model_for(stage, _override(stage, models), mismatch, source=f"{part} {k} of the {what}",
                      flag=f"--model {name}=PATH")
            for k, (stage, name) in enumerate(zip(plans, names), start=1)]


def stood(plan: Plan, r: QueryResult) -> bool:
    """Whether this stage's answer is the query's (the last stage's always is)."""
    if plan.escalate is None:
        return True
    if plan.escalate.accept_share is None:  # a verifier's stage: it stands on an accepted sample
        return r.stop_reason == "accepted"
    leader = max(r.votes.values(), default=0)
    return answer_stands(plan.escalate.accept_share, leader, r.samples, r.stop_reason in ("rule", "fixed", "accepted"))


def run_cascade(queries: Sequence[Query], plan: Plan, *, models: ModelOverrides | None = None,
                settings: BackendSettings | None = None, overrides: PlanOverrides = PlanOverrides(),
                mismatch: str = "refuse", verify: Verifier | None = None,
                open_model: Callable[[str, BackendSettings | None], Backend] = open_backend) -> list[QueryResult]:
    """Answer every query through the cascade; results in input order, each with its stages."""
    stages = plan.stages
    chosen = resolve_models(plan, models, mismatch)
    for stage in stages:  # plan, queries and limits checked for every stage before a model loads
        PlanExecution(queries, stage, overrides, verify)
    pending = list(range(len(queries)))
    final: dict[int, QueryResult] = {}
    parts: dict[int, list[StageResult]] = {i: [] for i in pending}
    for number, (stage, (choice, given)) in enumerate(zip(stages, chosen), start=1):
        if not pending:
            break  # no query reached this stage: its model is never opened
        subset = [queries[i] for i in pending]
        sub_verify = None if verify is None else (lambda pos, text, ids=tuple(pending): verify(ids[pos], text))
        # A later stage seeds each query by its own position and the stage, not by where it falls among
        # the queries that escalated: its draws do not hang on which others escalated, nor repeat stage 1's.
        entropy = None if number == 1 else [(overrides.seed, i, number) for i in pending]
        execution = PlanExecution(subset, stage, overrides, sub_verify, entropy)
        backend = given or open_model(choice.spec, settings)
        try:
            results = list(execution.results(backend))
        finally:
            if given is None:
                backend.close()
        escalated = []
        for i, r in zip(pending, results):
            ok = stood(stage, r)
            parts[i].append(stage_part(choice, r, ok))
            if ok:
                final[i] = merged(r, choice, parts[i])
            else:
                escalated.append(i)
        pending = escalated
    return [final[i] for i in range(len(queries))]


def stage_part(choice: ModelChoice, r: QueryResult, kept: bool) -> StageResult:
    """What one stage did for a query, as the result's ``stages`` lists it (``kept``: its answer stood)."""
    return StageResult(choice.label, r.answer, r.votes, r.samples, r.completion_tokens + r.wasted_tokens,
                       r.prompt_tokens, r.seconds, kept, r.wasted_tokens)


def merged(r: QueryResult, choice: ModelChoice, parts: list[StageResult]) -> QueryResult:
    """The answering stage's result ``r``, charged what every stage spent: completion and wasted
    tokens each summed over the stages, as a one-model result splits them."""
    answered, earlier = replace(r, model=choice.label, model_warning=choice.warning), parts[:-1]
    return replace(answered, stages=tuple(parts),
                   samples=answered.samples + sum(p.samples for p in earlier),
                   completion_tokens=answered.completion_tokens + sum(p.completion_tokens - p.wasted_tokens
                                                                      for p in earlier),
                   wasted_tokens=answered.wasted_tokens + sum(p.wasted_tokens for p in earlier),
                   seconds=round(answered.seconds + sum(p.seconds for p in earlier), 4))
