"""The run engine: execute a plan on a list of queries in one backend stream.

A fixed-N run is the plan ``fixed:N`` (:mod:`inferplan.runner.fixed`). How one
query moves (rounds, the rule, stop and cancel) is :mod:`inferplan.runner.live_query`;
this driver keeps a window of queries in flight and yields results in input order.
All queries share one backend stream, so a file of queries keeps the engine's
batch full instead of being answered one at a time.
"""

from __future__ import annotations

from typing import Iterator, Sequence

from inferplan.backends import prepare
from inferplan.backends.base import Backend
from inferplan.errors import InputError
from inferplan.planner.plan_file import Plan
from inferplan.runner.live_query import (
    DEFAULT_MAX_TOKENS,
    PlanCore,
    PlanOverrides,
    Verifier,
    effective_max_tokens,
    effective_rule,
)
from inferplan.runner.queries import Query
from inferplan.runner.results import QueryResult

__all__ = ["DEFAULT_MAX_TOKENS", "PlanExecution", "PlanOverrides", "Verifier", "effective_max_tokens",
           "effective_rule", "run_plan"]

# Queries in flight at once, per parallel slot of the backend. One per slot keeps
# the slots ~80% busy while rounds wait on each other, and every active query's
# prompt stays cached in llama.cpp (it has one prompt holder per slot). Two per
# slot kept more slots busy but evicted prompts between rounds and re-evaluated
# them: 72 ms per step against 60 (bench_run_plan, 40 queries).
ACTIVE_PER_SLOT = 1


class PlanExecution:
    """One run of a plan over a list of queries, checked when made; ``results(backend)`` runs it.

    Everything that can be wrong with the queries, the plan or the limits is found
    here, so a caller can build it before paying for a model load.
    """

    def __init__(self, queries: Sequence[Query], plan: Plan, overrides: PlanOverrides = PlanOverrides(),
                 verify: Verifier | None = None, entropy: Sequence[tuple[int, ...]] | None = None) -> None:
        """``entropy``: what seeds each query's samples (default: the run's seed and its position here)."""
        if not queries:
            raise InputError("no prompts to run")
        self.entropy = None if entropy is None else list(entropy)
        self.core = PlanCore(plan, overrides, verify)
        self.queries = queries
        self.base_requests = [self.core.base_request(q) for q in queries]

    def results(self, backend: Backend) -> Iterator[QueryResult]:
        """Results in input order, each as soon as it and all before it are done."""
        core = self.core
        qs = [core.new_query(i, query, base, None if self.entropy is None else self.entropy[i])
              for i, (query, base) in enumerate(zip(self.queries, self.base_requests))]
        window = max(1, ACTIVE_PER_SLOT * backend.info.parallel_slots)
        if core.rule.name == "fixed":  # one round per query: nothing waits, so queue them all
            window = len(qs)
        started = min(window, len(qs))
        prepare(backend, self.base_requests)  # llama.cpp --ctx auto: sized for every query, not the first few
        stream = backend.sample([core.first_round(q) for q in qs[:started]])
        for number, q in enumerate(qs[:started]):
            core.own(q, number)
        next_out = 0
        for c in stream:
            q = core.receive(c, stream)
            if q is not None and q.stopped and started < len(qs):  # a slot's worth of work freed: start the next query
                core.own(qs[started], stream.submit([core.first_round(qs[started])])[0])
                started += 1
            while next_out < len(qs) and qs[next_out].stopped:
                yield core.result(qs[next_out])
                next_out += 1


def run_plan(queries: Sequence[Query], backend: Backend, plan: Plan,
             overrides: PlanOverrides = PlanOverrides(), verify: Verifier | None = None) -> Iterator[QueryResult]:
    """Validate, then iterate the plan's results in input order (sampling starts on first use)."""
    return PlanExecution(queries, plan, overrides, verify).results(backend)
