"""Run a plan over a file of queries under one hard total of generated tokens (issue 33).

The backend's slots are kept full, one sample per request: each freed slot goes to the query
whose next sample is worth most per expected token (:class:`~inferplan.policy.batch_allocation.
BatchAllocator`, PETS's knowledge gradient); the plan's stopping rule and sample cap still end a
query. The total is a hard limit: a sample starts only if the tokens generated so far, plus
``max_tokens`` for every sample in flight and for itself, fit in it — a sample never generates
more than ``max_tokens``, so the spend can never pass the total whatever finishes when. A
cancelled sample is charged the tokens the stream reports for it, or ``max_tokens`` when it
reports none (tokens it may have generated are never left uncounted).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from inferplan.backends import prepare
from inferplan.backends.base import Backend
from inferplan.errors import InputError, InvalidValue
from inferplan.planner.plan_file import Plan
from inferplan.policy.batch_allocation import BatchAllocator
from inferplan.policy.vote import vote_counts
from inferplan.runner.live_query import PlanCore, PlanOverrides
from inferplan.runner.queries import Query


@dataclass(frozen=True)
class BudgetedAnswer:
    """What one query got under the total."""

    id: str | int
    answer: str | None  # the vote (ties: the answer seen first); None: no sample or all abstained
    votes: dict[str, int]
    samples: int
    completion_tokens: int  # generated for it, cancelled samples included
    settled: bool  # its stopping rule (or sample cap) ended it before the total ran out


@dataclass(frozen=True)
class BudgetedRun:
    """A run under one total: per query what it got, and the spend."""

    answers: tuple[BudgetedAnswer, ...]
    total: int
    spent: int  # every token generated, cancelled samples included (≤ total)
    cancelled: int  # samples cancelled

    @property
    def unsettled(self) -> int:
        return sum(not a.settled for a in self.answers)


def run_total_budget(queries: Sequence[Query], backend: Backend, plan: Plan, total: int, *,
                     overrides: PlanOverrides = PlanOverrides(), n_options: int = 4, draws: int = 500) -> BudgetedRun:
    """Run ``plan`` on ``queries`` spending at most ``total`` completion tokens in all."""
    if not queries:
        raise InputError("no prompts to run")
    if total < 1:
        raise InvalidValue("total_budget", f"{{name}} must be a positive number of tokens (got {total})")
    core = PlanCore(plan, overrides)
    cap = core.max_tokens
    live = [core.new_query(i, q, core.base_request(q)) for i, q in enumerate(queries)]
    alloc = BatchAllocator(len(live), n_options=n_options, draws=draws, rule=core.rule,
                           max_samples=core.rule.max_samples, random_state=overrides.seed)
    answers: list[list[str | None]] = [[] for _ in live]
    tokens = [0] * len(live)
    owner: dict[int, int] = {}  # stream request → query
    flying: set[int] = set()  # queries with a sample in flight
    spent = cancelled = 0
    slots = max(1, backend.info.parallel_slots)
    prepare(backend, [q.base for q in live])

    def fits() -> bool:
        return spent + cap * (len(flying) + 1) <= total

    def pick() -> int | None:
        q = alloc.choose(exclude=flying)
        return None if q is None or core.rule.max_samples <= live[q].drawn else q

    first = []
    while len(first) < slots and fits():
        q = pick()
        if q is None:
            break
        first.append(q)
        flying.add(q)
    if not first:
        return _result(queries, answers, tokens, alloc, total, spent, cancelled)
    stream = backend.sample([core._round(live[q], 1) for q in first])
    for number, q in enumerate(first):
        owner[number] = q
    for c in stream:
        q = owner.pop(c.request)
        flying.discard(q)
        spent += c.completion_tokens if c.finish != "cancelled" else (c.completion_tokens or cap)
        tokens[q] += c.completion_tokens
        if c.finish == "cancelled":
            cancelled += 1
            continue
        answer = core.spec.read_answer(c.text, c.finish)
        answers[q].append(answer)
        alloc.observe(q, answer, c.completion_tokens)
        while len(flying) < slots and fits():
            nxt = pick()
            if nxt is None:
                break
            flying.add(nxt)
            owner[stream.submit([core._round(live[nxt], 1)])[0]] = nxt
    return _result(queries, answers, tokens, alloc, total, spent, cancelled)


def _result(queries: Sequence[Query], answers: list[list[str | None]], tokens: list[int], alloc: BatchAllocator,
            total: int, spent: int, cancelled: int) -> BudgetedRun:
    out = []
    for i, q in enumerate(queries):
        votes = vote_counts(answers[i])
        top = max(votes.values(), default=0)
        leader = next((a for a in answers[i] if a is not None and votes[a] == top), None)
        out.append(BudgetedAnswer(q.id, leader, votes, len(answers[i]), tokens[i], not alloc.is_open(i)))
    return BudgetedRun(tuple(out), total, spent, cancelled)
