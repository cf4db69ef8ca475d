"""The run engine: execute a plan on queries — rounds sized by the stopping rule, the planned
mix, stop and cancel. A fixed-N run is the plan ``fixed:N`` (:mod:`inferplan.runner.fixed`).

Every query starts with the fewest samples that could satisfy its stopping rule
(ConSol's optimistic lookahead); when a round is in, the rule sees the answers in
sample order — exactly as ``plan``/``simulate`` replayed them — and either stops
the query (cancelling anything still in flight) or asks for the next round. All
queries share one backend stream, so a file of queries keeps the engine's batch
full instead of being answered one at a time.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Callable, Iterator, Sequence

import numpy as np

from inferplan.backends.base import Backend, Completion, SampleRequest
from inferplan.errors import InputError, InvalidValue
from inferplan.planner.plan_file import Plan
from inferplan.policy.stopping import RuleState, StoppingRule
from inferplan.policy.vote import majority, vote_counts
from inferplan.replay.engine import schedule
from inferplan.runner.fixed import FIXED
from inferplan.runner.queries import Query
from inferplan.runner.results import QueryResult
from inferplan.tasks.prompt_spec import PromptSpec

DEFAULT_MAX_TOKENS = 256
# Queries in flight at once, per parallel slot of the backend. One per slot keeps
# the slots ~80% busy while rounds wait on each other, and every active query's
# prompt stays cached in llama.cpp (it has one prompt holder per slot). Two per
# slot kept more slots busy but evicted prompts between rounds and re-evaluated
# them: 72 ms per step against 60 (bench_run_plan, 40 queries).
ACTIVE_PER_SLOT = 1

# verify(position, text) → accepted; needed by oracle (first-pass) plans.
Verifier = Callable[[int, str], bool]


@dataclass(frozen=True)
class PlanOverrides:
    """Limits on top of a plan (they can only tighten it), the seed and a system message."""

    max_samples: int | None = None
    max_tokens: int | None = None
    seed: int = 0
    system: str | None = None


@dataclass
class _Query:
    """Mutable bookkeeping of one query while it runs."""

    position: int
    state: RuleState
    seeds: np.ndarray
    drawn: int = 0  # samples requested so far
    requests: list[int] = field(default_factory=list)
    got: dict[int, Completion] = field(default_factory=dict)  # sample index → completion
    fed: int = 0  # samples the rule has seen, in index order
    answers: list[str | None] = field(default_factory=list)
    accepted: int | None = None  # first sample a verifier accepted (oracle)
    stopped: bool = False
    wasted: int = 0
    start: float = float("inf")  # when its first sample started decoding
    end: float = 0.0


def effective_rule(plan: Plan, overrides: PlanOverrides) -> StoppingRule:
    rule = plan.rule
    if overrides.max_samples is not None:
        if overrides.max_samples < 1:
            raise InvalidValue("max_samples", f"{{name}} must be at least 1, got {overrides.max_samples}")
        cap = min(rule.max_samples, overrides.max_samples)
        rule = replace(rule, max_samples=cap, min_samples=min(rule.min_samples, cap))
    return rule


def effective_max_tokens(plan: Plan, overrides: PlanOverrides) -> int:
    planned = plan.max_tokens or (plan.prompt and plan.prompt.max_tokens) or DEFAULT_MAX_TOKENS
    if overrides.max_tokens is not None:
        if overrides.max_tokens < 1:
            raise InvalidValue("max_tokens", f"{{name}} must be at least 1, got {overrides.max_tokens}")
        return min(int(planned), overrides.max_tokens)
    return int(planned)


class PlanExecution:
    """One run of a plan over a list of queries, checked when made; ``results(backend)`` runs it.

    Everything that can be wrong with the queries, the plan or the limits is found
    here, so a caller can build it before paying for a model load.
    """

    def __init__(self, queries: Sequence[Query], plan: Plan, overrides: PlanOverrides = PlanOverrides(),
                 verify: Verifier | None = None) -> None:
        if not queries:
            raise InputError("no prompts to run")
        if plan.aggregation.kind == "oracle" and verify is None:
            raise InputError("this plan returns the first sample a verifier accepts (oracle aggregation); "
                             "run it with `inferplan evaluate` on graded tasks")
        unknown = [n for n in plan.mix if n not in plan.configs]
        if unknown or not plan.mix:
            raise InputError(f"plan has no settings for configuration(s) {unknown or 'any'}")
        self.queries, self.plan, self.verify = queries, plan, verify
        self.rule = effective_rule(plan, overrides)
        self.max_tokens = effective_max_tokens(plan, overrides)
        self.overrides = overrides
        spec = plan.prompt or PromptSpec()  # imported sample sets: ask in chat, read numbers
        self.spec = replace(spec, system=overrides.system) if overrides.system else spec
        self.names = list(plan.mix)
        self.order = schedule(np.array([plan.mix[n] for n in self.names]), self.rule.max_samples)
        self.base_requests = [self._base_request(q) for q in queries]
        self.owner: dict[int, _Query] = {}

    def _base_request(self, query: Query) -> SampleRequest:
        if query.messages is not None:
            rendered = self.spec.render_messages(query.messages)
        elif query.prompt is None or not query.prompt.strip():
            raise InputError(f"query {query.id}: empty prompt")
        else:
            rendered = self.spec.render(query.prompt)
        return SampleRequest(prompt=rendered.prompt, messages=rendered.messages, max_tokens=self.max_tokens,
                             stop=rendered.stop)

    def _round(self, q: _Query, k: int) -> SampleRequest:
        """The next ``k`` samples of query ``q``, with their planned configurations and seeds."""
        idx = range(q.drawn, q.drawn + k)
        configs = [self.plan.configs[self.names[self.order[i]]] for i in idx]
        # A request has one top-p/top-k/min-p: a round takes its first config's (profiled
        # configs differ in temperature only, which is per sample).
        first = configs[0]
        q.drawn += k
        return replace(
            self.base_requests[q.position], n=k, first_index=idx[0],
            temperatures=tuple(float(c.temperature or 0.0) for c in configs),
            seeds=tuple(int(q.seeds[i]) for i in idx), top_p=first.top_p, top_k=first.top_k, min_p=first.min_p,
        )

    def _next_size(self, q: _Query) -> int:
        need = max(self.rule.min_samples - q.state.n, q.state.lookahead(), 1)
        return min(need, self.rule.max_samples - q.drawn)

    def results(self, backend: Backend) -> Iterator[QueryResult]:
        """Results in input order, each as soon as it and all before it are done."""
        qs = [_Query(i, self.rule.start(),
                     np.random.SeedSequence([self.overrides.seed, i]).generate_state(self.rule.max_samples))
              for i in range(len(self.queries))]
        window = max(1, ACTIVE_PER_SLOT * backend.info.parallel_slots)
        if self.rule.name == "fixed":  # one round per query: nothing waits, so queue them all
            window = len(qs)
        started = min(window, len(qs))
        stream = backend.sample([self._round(q, self._next_size(q)) for q in qs[:started]])
        for number, q in enumerate(qs[:started]):
            self._own(q, number)
        next_out = 0
        for c in stream:
            q = self.owner[c.request]
            if q.stopped:
                q.wasted += c.completion_tokens
                continue
            q.got[c.index] = c
            q.end = time.monotonic()
            q.start = min(q.start, q.end - c.seconds)
            self._feed(q, stream)
            if q.stopped and started < len(qs):  # a slot's worth of work freed: start the next query
                self._own(qs[started], stream.submit([self._round(qs[started], self._next_size(qs[started]))])[0])
                started += 1
            while next_out < len(qs) and qs[next_out].stopped:
                yield self._result(qs[next_out])
                next_out += 1

    def _own(self, q: _Query, number: int) -> None:
        q.requests.append(number)
        self.owner[number] = q

    def _feed(self, q: _Query, stream) -> None:
        """Show the rule the answers now complete in sample order; stop or ask for more."""
        while q.fed in q.got and not q.stopped:
            c = q.got[q.fed]
            answer = self.spec.read_answer(c.text, c.finish)
            q.answers.append(answer)
            q.state.add(answer)
            if self.verify is not None and q.accepted is None and self.verify(q.position, c.text):
                q.accepted = q.fed
            q.fed += 1
            first_pass = self.plan.aggregation.first_pass and q.accepted is not None
            if q.state.done or first_pass:
                self._stop(q, stream)
        if not q.stopped and q.fed == q.drawn:
            k = self._next_size(q)
            if k <= 0:
                self._stop(q, stream)
                return
            self._own(q, stream.submit([self._round(q, k)])[0])

    def _stop(self, q: _Query, stream) -> None:
        q.stopped = True
        # Cancel even when nothing is in flight: it also tells the backend that the
        # query's cached prompt will not be needed again.
        for number in q.requests:
            stream.cancel(number)
        q.wasted += sum(c.completion_tokens for i, c in q.got.items() if i >= q.fed)

    def _result(self, q: _Query) -> QueryResult:
        used = [q.got[i] for i in range(q.fed)]
        answers = tuple(q.answers)
        rng = np.random.default_rng([self.overrides.seed, q.position])
        kind = self.plan.aggregation.kind
        if kind == "logprob":
            scored = [(c.logprob / max(c.completion_tokens, 1), i) for i, c in enumerate(used)
                      if c.logprob is not None and answers[i] is not None]
            answer = answers[max(scored)[1]] if scored else None
        elif kind == "oracle":
            answer = answers[q.accepted] if q.accepted is not None else None
        else:
            answer = majority(answers, rng)
        fixed = self.plan.objective == FIXED
        if fixed:
            reason = "fixed"
        elif kind == "oracle":
            reason = "accepted" if q.accepted is not None else "max-samples"
        else:
            reason = "rule" if bool(self.rule.satisfied(q.state.tally)) and q.fed >= self.rule.min_samples \
                else "max-samples"
        query = self.queries[q.position]
        return QueryResult(
            id=query.id, answer=answer, votes=vote_counts(answers), samples=len(used),
            completion_tokens=sum(c.completion_tokens for c in used),
            prompt_tokens=used[0].prompt_tokens if used else 0,
            seconds=round(max(q.end - q.start, 0.0), 4) if used else 0.0, stop_reason=reason, answers=answers,
            finishes=tuple(c.finish for c in used), logprobs=tuple(c.logprob for c in used),
            texts=tuple(c.text for c in used), rule=None if fixed else self.rule.spec, statistic=q.state.statistic,
            wasted_tokens=q.wasted, configs=tuple(self.names[self.order[i]] for i in range(len(used))),
        )


def run_plan(queries: Sequence[Query], backend: Backend, plan: Plan,
             overrides: PlanOverrides = PlanOverrides(), verify: Verifier | None = None) -> Iterator[QueryResult]:
    """Validate, then iterate the plan's results in input order (sampling starts on first use)."""
    return PlanExecution(queries, plan, overrides, verify).results(backend)
