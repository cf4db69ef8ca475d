"""Run a mix across models in one vote: every model draws its fixed number of samples, one vote over them all.

Model by model over the whole list of queries (each model's batch stays full, and only one model
is loaded at a time); every model is resolved and checked before the first loads, so a missing
one is one line (exit 4) before any work starts. The answers are pooled by their text across the
models, as the replay pools them (replay/model_mix.py): the most common answer wins, ties broken
at random, abstentions never win, and a query whose samples all abstain has no answer.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Callable, Sequence

import numpy as np

from inferplan.backends import Backend, BackendSettings, open_backend
from inferplan.planner.plan_file import Plan
from inferplan.policy.vote import majority, vote_counts
from inferplan.runner.cascade_runner import ModelOverrides, resolve_models
from inferplan.runner.live_query import PlanOverrides
from inferplan.runner.plan_model import ModelChoice
from inferplan.runner.plan_runner import PlanExecution
from inferplan.runner.queries import Query
from inferplan.runner.results import QueryResult, StageResult

# A mix member's samples are seeded by (seed, query, MIX, member): each model draws its own, and none
# repeats another model's or a one-model run's draws (seeded by (seed, query)) or a cascade stage's.
MIX = 0


def mix_spec(plan: Plan) -> str:
    """The mix in short: samples × model, for each model."""
    return " + ".join(f"{m.max_samples}×{m.model.label if m.model else '?'}" for m in plan.members)


def run_mix(queries: Sequence[Query], plan: Plan, *, models: ModelOverrides | None = None,
            settings: BackendSettings | None = None, overrides: PlanOverrides = PlanOverrides(),
            mismatch: str = "refuse",
            open_model: Callable[[str, BackendSettings | None], Backend] = open_backend) -> list[QueryResult]:
    """Answer every query by the mix's one vote; results in input order, each with its models' parts."""
    chosen = resolve_models(plan, models, mismatch)
    executions = [PlanExecution(queries, member, overrides, None,
                                [(overrides.seed, i, MIX, k) for i in range(len(queries))])
                  for k, member in enumerate(plan.members)]  # plan, queries and limits checked before a model loads
    drawn: list[list[QueryResult]] = []
    for execution, (choice, given) in zip(executions, chosen):
        backend = given or open_model(choice.spec, settings)
        try:
            drawn.append(list(execution.results(backend)))
        finally:
            if given is None:
                backend.close()
    spec = mix_spec(plan)
    return [pooled([d[i] for d in drawn], [c for c, _ in chosen], spec, overrides.seed, i)
            for i in range(len(queries))]


def pooled(parts: list[QueryResult], choices: list[ModelChoice], spec: str, seed: int, position: int,
           at_once: bool = False) -> QueryResult:
    """One query's vote over every model's samples; its tokens and samples summed over the models, its
    seconds too where they ran one after another (``run``), the slowest's where they ran ``at_once`` (serve)."""
    answers = [a for r in parts for a in r.answers]
    rng = np.random.default_rng([seed, position, MIX, len(parts)])  # the tie-break's own stream
    first = parts[0]
    own = tuple(StageResult(c.label, r.answer, r.votes, r.samples, r.completion_tokens + r.wasted_tokens,
                            r.prompt_tokens, r.seconds, True, r.wasted_tokens) for r, c in zip(parts, choices))
    warnings = sorted({c.warning for c in choices if c.warning})
    return replace(
        first, answer=majority(answers, rng), votes=vote_counts(answers), samples=sum(r.samples for r in parts),
        completion_tokens=sum(r.completion_tokens for r in parts), wasted_tokens=sum(r.wasted_tokens for r in parts),
        prompt_tokens=sum(r.prompt_tokens for r in parts),  # each model reads the prompt itself
        seconds=round((max if at_once else sum)(r.seconds for r in parts), 4),
        stop_reason="fixed", rule=spec, statistic=float("nan"), answers=tuple(answers),
        finishes=_joined(parts, "finishes"), logprobs=_joined(parts, "logprobs"), texts=_joined(parts, "texts"),
        configs=_joined(parts, "configs"), sample_tokens=_joined(parts, "sample_tokens"),
        thinking_tokens=_joined(parts, "thinking_tokens"), answer_texts=_joined(parts, "answer_texts"),
        model=" + ".join(c.label for c in choices), model_warning="; ".join(warnings) or None, pool=own)


def _joined(parts: list[QueryResult], name: str) -> tuple:
    return tuple(x for r in parts for x in getattr(r, name))
