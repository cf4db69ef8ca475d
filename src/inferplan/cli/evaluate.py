"""`inferplan evaluate`: run a plan for real on graded problems and check its prediction."""

from __future__ import annotations

from typing import Optional

import typer

from inferplan.api import BackendSettings
from inferplan.cli import options as opt
from inferplan.errors import InputError


@opt.backend_options()
def evaluate(
    plan: str = typer.Option(..., "--plan", help="Plan file made by `inferplan plan`."),
    tasks: Optional[str] = typer.Option(
        None, "--tasks", help="Graded tasks to run (default: the plan's held-out problems of its profile's task set)."),
    field: Optional[str] = opt.FIELD,
    limit: Optional[int] = typer.Option(None, "--limit", help="Evaluate at most this many problems."),
    max_samples: Optional[int] = typer.Option(None, "--max-samples", help="At most this many samples per problem."),
    seed: int = typer.Option(0, "--seed", help="Seed of the fresh samples."),
    allow_code_execution: bool = typer.Option(
        False, "--allow-code-execution", help="Allow grading by running model-written code (sandboxed)."),
    json_out: bool = typer.Option(False, "--json", help="Print {predicted, realised, baseline} as JSON."),
    model: Optional[list[str]] = opt.PLAN_MODELS,
    model_mismatch: str = opt.MODEL_MISMATCH,
    settings: BackendSettings = None,  # the shared backend options (cli.options.backend_options)
) -> None:
    """Run PLAN on graded problems: realised accuracy and cost beside the plan's prediction.

    Also shows fixed-N majority vote at the same realised cost, replayed on the
    profile's recorded samples of the same problems.
    """
    from inferplan import api
    from inferplan.cli.render.evaluate import EvalProgress, render_evaluation

    if field and tasks is None:
        raise InputError("--field goes with --tasks (the plan's own task source already carries its options)")
    the_plan = api.load_plan(plan)
    model = opt.plan_models(model, the_plan.escalate is not None or bool(the_plan.pool))
    with EvalProgress(enabled=not json_out) as progress:
        result = api.evaluate(
            the_plan, tasks=tasks and opt.task_spec(tasks, field), limit=limit, model=model, seed=seed, max_samples=max_samples,
            settings=settings,
            allow_code_execution=allow_code_execution, on_result=progress.update, model_mismatch=model_mismatch,
        )
    render_evaluation(result, json_out)
