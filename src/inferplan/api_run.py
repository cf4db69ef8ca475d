"""The public API's verbs that answer queries: run, run_iter, run_total, evaluate, serve.

Part of :mod:`inferplan.api` (which re-exports every name here); apart only to keep each
module short. Heavy modules load inside the functions, as in ``api``.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator, Mapping, Sequence, Union

from inferplan.backends import Backend, BackendSettings
from inferplan.errors import InvalidValue

if TYPE_CHECKING:
    from inferplan.planner.plan_file import Plan
    from inferplan.runner.evaluate import EvaluationResult
    from inferplan.runner.queries import Query
    from inferplan.runner.results import QueryResult

PlanLike = Union["Plan", Path, str]
QueriesLike = Union[str, Path, Sequence[Union[str, dict, "Query"]]]


def load_plan(plan: PlanLike) -> Plan:
    """A plan file (or a Plan, returned as it is)."""
    from inferplan.planner.plan_file import Plan
    from inferplan.planner.plan_file import load_plan as read_plan

    return plan if isinstance(plan, Plan) else read_plan(plan)


def run_iter(plan: PlanLike, queries: QueriesLike, *, model: str | Backend | Mapping | None = None,
             settings: BackendSettings | None = None, max_samples: int | None = None,
             max_tokens: int | None = None, seed: int = 0, system: str | None = None,
             model_mismatch: str = "refuse") -> Iterator[QueryResult]:
    """Answer queries under a plan; results in input order as they complete.

    ``model`` None runs the plan on the model it was made for (a fixed-N plan: the
    embedded default); another model must be the same weights, or ``model_mismatch="ok"``
    runs it with a warning in every result. Plan, model, queries and limits are checked
    before the model loads; a model given as a spec string is opened here and closed
    when the iterator is exhausted or closed.
    """
    from inferplan.backends import open_backend
    from inferplan.runner.plan_model import model_for
    from inferplan.runner.plan_runner import PlanExecution, PlanOverrides
    from inferplan.runner.queries import as_queries

    the_plan, the_queries = load_plan(plan), as_queries(queries)
    overrides = PlanOverrides(max_samples=max_samples, max_tokens=max_tokens, seed=seed, system=system)
    if the_plan.pool:  # a mix in one vote: every model draws its samples, one vote over them all
        from inferplan.runner.mix_runner import run_mix

        return iter(run_mix(the_queries, the_plan, models=_stage_models(model), settings=settings,
                            overrides=overrides, mismatch=model_mismatch))
    if the_plan.escalate is not None:  # a cascade: one model per stage, each opened only if a query reaches it
        from inferplan.runner.cascade_runner import run_cascade

        return iter(run_cascade(the_queries, the_plan, models=_stage_models(model), settings=settings,
                                overrides=overrides, mismatch=model_mismatch))
    if isinstance(model, Mapping):
        raise InvalidValue("model", "{name} NAME=SPEC names a model of a cascade or mix; this plan runs one model: "
                                    "give --model SPEC")
    execution = PlanExecution(the_queries, the_plan, overrides)  # checks everything before the model loads
    choice, given = model_for(the_plan, model, model_mismatch)
    if given is not None:
        return _results(execution, given, None, choice)
    owned = open_backend(choice.spec, settings)  # closed when the results end
    return _results(execution, owned, owned, choice)


def _stage_models(model) -> Mapping | None:
    """A cascade's or mix's ``model``: None (every model its own) or a mapping NAME → spec or backend."""
    if model is None or isinstance(model, Mapping):
        return model
    raise InvalidValue("model", "this plan runs several models: say which one {name} replaces "
                                "(--model NAME=SPEC, or a mapping in Python)")


def one_model(plan: Plan, verb: str) -> Plan:
    """Refuse a cascade or mix plan where only one model's plan can run (yet)."""
    if plan.escalate is not None or plan.pool:
        kind = "a mix of several models in one vote" if plan.pool else "a cascade across models"
        raise InvalidValue("plan", f"{verb} takes one model's plan; this plan is {kind} "
                                   "(run, evaluate and serve execute it)")
    return plan


def _results(execution, backend: Backend, owned: Backend | None, choice) -> Iterator[QueryResult]:
    try:
        for result in execution.results(backend):
            yield replace(result, model=choice.label, model_warning=choice.warning)
    finally:
        if owned is not None:
            owned.close()


def run(plan: PlanLike, queries: QueriesLike, *, model: str | Backend | Mapping | None = None,
        settings: BackendSettings | None = None, max_samples: int | None = None, max_tokens: int | None = None,
        seed: int = 0, system: str | None = None, model_mismatch: str = "refuse") -> list[QueryResult]:
    """Answer queries (strings, query dicts, Query objects or a JSONL path) under a plan (see :func:`run_iter`)."""
    return list(run_iter(plan, queries, model=model, settings=settings, max_samples=max_samples,
                         max_tokens=max_tokens, seed=seed, system=system, model_mismatch=model_mismatch))


def run_total(plan: PlanLike, queries: QueriesLike, *, total_budget: float, model: str | Backend | None = None,
              settings: BackendSettings | None = None, seed: int = 0, model_mismatch: str = "refuse",
              unit: str | None = None, journal: Path | str | None = None, force: bool = False,
              max_samples: int | None = None, max_tokens: int | None = None, system: str | None = None):
    """Answer queries under a plan within ``total_budget`` in all (a hard limit; freed slots go to the queries
    whose next sample is worth most): a ``BudgetedRun``. ``unit``: tokens or samples (default: the plan's; a
    fixed-N plan's: tokens). ``journal``: a file that records every sample, so that a rerun resumes."""
    from inferplan.runner.live_query import PlanOverrides
    from inferplan.runner.queries import as_queries
    from inferplan.runner.total_budget import run_total as run_it

    return run_it(one_model(load_plan(plan), "a total budget"), as_queries(queries), model=model, settings=settings, total=total_budget,
                  unit=unit, overrides=PlanOverrides(max_samples, max_tokens, seed, system),
                  model_mismatch=model_mismatch, journal=journal, force=force)


def evaluate(plan: PlanLike, *, model: str | Backend | Mapping | None = None, settings: BackendSettings | None = None,
             tasks: str | None = None, limit: int | None = None, seed: int = 0, max_samples: int | None = None,
             allow_code_execution: bool = False, on_result: Callable | None = None,
             model_mismatch: str = "refuse") -> EvaluationResult:
    """Run a plan on graded problems (by default its held-out ones): realised vs predicted vs fixed-N.

    ``model`` as in :func:`run_iter`: by default the model the plan was made for."""
    from inferplan.runner.evaluate import evaluate_plan
    from inferplan.runner.plan_model import model_for

    the_plan = load_plan(plan)
    if the_plan.escalate is not None or the_plan.pool:  # several models, each charged in its own cost
        from inferplan.runner.evaluate_cascade import evaluate_cascade

        return evaluate_cascade(the_plan, tasks=tasks, limit=limit, models=_stage_models(model), settings=settings,
                                seed=seed, max_samples=max_samples, allow_code_execution=allow_code_execution,
                                on_result=on_result, mismatch=model_mismatch)
    choice, backend = model_for(the_plan, model, model_mismatch)  # an open backend is used as is
    return evaluate_plan(the_plan, tasks=tasks, limit=limit, model=choice, settings=settings, seed=seed,
                         max_samples=max_samples, allow_code_execution=allow_code_execution, backend=backend,
                         on_result=on_result)


def serve(plan: PlanLike, *, model: str | Backend | None = None, settings: BackendSettings | None = None,
          host: str = "127.0.0.1", port: int = 8080, api_key: str | None = None, as_profiled: bool | None = None,
          timeout: float = 600.0, seed: int = 0, plan_source: str | None = None,
          on_ready: Callable[[str, str], None] | None = None, model_mismatch: str = "refuse",
          total_budget: float | None = None, per: str | None = None) -> None:
    """Serve a plan as an OpenAI-compatible endpoint until interrupted (``inferplan serve``).

    ``model`` as in :func:`run_iter`: by default the model the plan was made for.
    ``as_profiled`` None: questions are asked with the plan's template when that template
    is not a chat template (a base-template plan's prediction holds only for prompts asked
    its way), else as sent. ``on_ready(url, model_id)`` hears the base URL once the socket
    listens (``port`` 0: any free port). For a server in-process, build one with
    :func:`inferplan.server.app.build_app` around a :class:`inferplan.runner.service.PlanService`.
    ``total_budget`` holds one budget over the requests, in the plan's unit: per ``per`` window of
    wall clock ("60", "5m") or on average per request ("query", the default); each request's share
    adapts to how much its first samples agree (runner/serve_budget.py). ``per`` without
    ``total_budget`` is refused: it would be ignored. A cascade or mix runs every model of the plan
    (``model``: None, or a mapping NAME → spec or backend), each request routed as ``run`` routes a query.
    """
    from inferplan.runner.plan_model import model_for
    from inferplan.server.run import serve as run_server

    if per is not None and total_budget is None:
        raise InvalidValue(("per", "total_budget"), "{0} is the window of {1}: give {1} too, or leave {0} out")
    source = plan_source or (str(plan) if isinstance(plan, (str, Path)) else None)
    the_plan = load_plan(plan)
    common = dict(settings=settings, host=host, port=port, api_key=api_key, as_profiled=as_profiled, timeout=timeout,
                  seed=seed, plan_source=source, on_ready=on_ready or (lambda url, model_id: None))
    if the_plan.escalate is not None or the_plan.pool:  # several models: each resolved before any loads
        from inferplan.runner.cascade_runner import resolve_models

        if total_budget is not None:
            raise InvalidValue("total_budget", "{name} is planned for one model's plan; this plan runs several")
        return run_server(the_plan, model=None, models=resolve_models(the_plan, _stage_models(model), model_mismatch),
                          **common)
    choice, given = model_for(the_plan, model, model_mismatch)
    run_server(the_plan, model=given or choice.spec, total_budget=total_budget, per=per or "query", **common)
