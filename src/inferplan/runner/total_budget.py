"""Run a plan over a file of queries under one hard total (issue 33).

The backend's slots are kept full, one sample per request: each freed slot goes to the query
whose next sample is worth most per expected unit (:class:`~inferplan.policy.batch_allocation.
BatchAllocator`, PETS's knowledge gradient); the plan's stopping rule and sample cap still end a
query. A plan's ``batch_allocation`` (``plan --batch``) says how: within the rule, plain (only a
sample cap ends a query) or hybrid (within the rule until it has ended every query, then plainly up
to its cap — the switch waits until no sample is in flight, as the replay switches once every
query is ended), and how many first samples every query gets in turn before the allocation starts;
a plan without one runs within its rule after one first sample each. The allocator is built by
``planner.batch_policy.allocator_for``, as the replay builds it.

The total is a hard limit in its unit (completion tokens, samples, or what the plan's cost model
makes of tokens: seconds, usd — planner/total_units.py): a sample starts only if the spend so far,
plus the cap (``max_tokens`` in the unit, or one sample) for every sample in flight and for itself,
fits in it — a sample never generates more than ``max_tokens``, so the spend can never pass the
total whatever finishes when. A cancelled sample is charged the tokens the stream reports for it,
or the cap when it reports none (tokens it may have generated are never left uncounted).

With a journal (:mod:`inferplan.runner.total_journal`) every sample is recorded as it starts and
as it finishes, and a rerun resumes: the finished samples are fed back, the unfinished ones are
charged the cap, and the run goes on from there.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Sequence

from inferplan.backends import prepare
from inferplan.backends.base import Backend, Completion
from inferplan.errors import InputError, InvalidValue
from inferplan.planner.batch_policy import BatchPolicy, allocator_for
from inferplan.planner.plan_file import Plan
from inferplan.planner.total_units import TOTAL_UNITS, sample_cap, sample_cost, total_cost_model
from inferplan.policy.vote import vote_counts
from inferplan.runner.live_query import PlanCore, PlanOverrides, effective_rule
from inferplan.runner.queries import Query
from inferplan.runner.total_journal import TotalJournal, journal_header


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
    total: float
    spent: float  # in ``unit``: every token generated (or sample started), cancelled ones included (≤ total)
    cancelled: int  # samples cancelled
    unit: str = "tokens"
    resumed: int = 0  # finished samples read back from the journal
    orphans: int = 0  # samples a killed run started and never recorded: charged the cap

    @property
    def unsettled(self) -> int:
        return sum(not a.settled for a in self.answers)


def _allocated_plan(plan: Plan, policy: BatchPolicy) -> Plan:
    """The plan whose queries the run drives: a plain or hybrid allocation's cap replaces the rule's
    guards (its rule then only sizes the seeds and the mix schedule; the allocator is given the
    plan's own rule where it uses one)."""
    if policy.within_rule or policy.max_samples is None:
        return plan
    cap = policy.max_samples if policy.allocator == "plain" else max(policy.max_samples, plan.rule.max_samples)
    return replace(plan, rule=replace(plan.rule, max_samples=cap, min_samples=1))


class _TotalRun:
    """The state of one run under a total: the allocator, the spend, what is in flight."""

    def __init__(self, queries: Sequence[Query], plan: Plan, total: float, unit: str, overrides: PlanOverrides,
                 draws: int) -> None:
        policy = plan.batch_allocation or BatchPolicy()
        self.queries, self.total, self.unit = queries, total, unit
        self.core = core = PlanCore(_allocated_plan(plan, policy), overrides)
        self.cost_model = total_cost_model(plan, unit)
        self.cap = sample_cap(self.cost_model, core.max_tokens)
        self.live = [core.new_query(i, q, core.base_request(q)) for i, q in enumerate(queries)]
        self.alloc = allocator_for(policy, len(queries), effective_rule(plan, overrides), core.rule.max_samples,
                                   draws=draws, random_state=overrides.seed)
        # First samples in turn (round by round, as replay_batch's warm-up) before the allocation.
        self.warm = deque((r, q) for r in range(policy.warmup) for q in range(len(queries)))
        self.answers: list[list[str | None]] = [[] for _ in queries]
        self.tokens = [0] * len(queries)
        self.flying: dict[int, tuple[int, int]] = {}  # stream request → (query, sample index)
        self.spent, self.cancelled, self.resumed, self.orphans = 0.0, 0, 0, 0
        self.journal: TotalJournal | None = None

    def resume(self, journal: TotalJournal) -> None:
        self.journal, r = journal, journal.resumed
        for q, drawn in r.drawn.items():
            self.live[q].drawn = drawn
        for rec in r.samples:
            q = rec["sample"][0]
            self.tokens[q] += int(rec["tokens"])
            if rec["finish"] != "cancelled":
                self._observe(q, rec["answer"], float(rec["cost"]))
            else:
                self.cancelled += 1
        self.spent, self.resumed, self.orphans = r.spent, len(r.samples), r.orphans
        for q, live in enumerate(self.live):
            if live.drawn >= self.core.rule.max_samples:
                self.alloc.close(q)
        finished: dict[int, int] = {}
        for rec in r.samples:
            finished[rec["sample"][0]] = finished.get(rec["sample"][0], 0) + 1
        for q, n in r.drawn.items():  # an orphan may have generated up to max_tokens: its query is charged them
            self.tokens[q] += (n - finished.get(q, 0)) * self.core.max_tokens

    def _observe(self, q: int, answer: str | None, cost: float) -> None:
        self.answers[q].append(answer)
        self.alloc.observe(q, answer, cost)

    def fits(self) -> bool:
        return self.spent + self.cap * (len(self.flying) + 1) <= self.total

    def next_samples(self, room: int) -> list[tuple[int, int]]:
        """Up to ``room`` (query, index) pairs to start now, best first, while the total allows."""
        out: list[tuple[int, int]] = []
        busy = {q for q, _ in self.flying.values()}
        while len(out) < room and self.spent + self.cap * (len(self.flying) + len(out) + 1) <= self.total:
            q = self._warm_up(busy)
            q = self.alloc.choose(exclude=busy) if q is None else q
            if q is None or self.core.rule.max_samples <= self.live[q].drawn:
                break
            busy.add(q)
            out.append((q, self.live[q].drawn))
        if out and self.journal is not None:
            self.journal.started(out)
        return out

    def _warm_up(self, busy: set[int]) -> int | None:
        """The next query still short of its first samples, or None once every one has had them.
        A query with a sample in flight waits its turn (its entries stay at the front)."""
        waiting: list[tuple[int, int]] = []
        found = None
        while self.warm and found is None:
            r, q = self.warm.popleft()
            drawn = self.live[q].drawn
            if not self.alloc.is_open(q) or drawn > r or drawn >= self.core.rule.max_samples:
                continue  # closed, or it has this first sample already
            if q in busy or drawn < r:
                waiting.append((r, q))
            else:
                found = q
        self.warm.extendleft(reversed(waiting))
        return found

    def request(self, q: int):
        return self.core._round(self.live[q], 1)

    def receive(self, c: Completion) -> None:
        q, index = self.flying.pop(c.request)
        cancelled = c.finish == "cancelled"
        tokens = c.completion_tokens or self.core.max_tokens if cancelled else c.completion_tokens
        cost = sample_cost(self.cost_model, tokens)
        self.spent += cost
        self.tokens[q] += c.completion_tokens
        answer = None if cancelled else self.core.spec.read_answer(c.answer_text, c.finish)
        if self.journal is not None:
            self.journal.finished((q, index), self.queries[q].id, answer, c.completion_tokens, c.finish, cost)
        if cancelled:
            self.cancelled += 1
        else:
            self._observe(q, answer, cost)

    def result(self) -> BudgetedRun:
        out = []
        for i, q in enumerate(self.queries):
            votes = vote_counts(self.answers[i])
            top = max(votes.values(), default=0)
            leader = next((a for a in self.answers[i] if a is not None and votes[a] == top), None)
            out.append(BudgetedAnswer(q.id, leader, votes, len(self.answers[i]), self.tokens[i],
                                      self.alloc.settled(i)))
        return BudgetedRun(tuple(out), self.total, self.spent, self.cancelled, self.unit, self.resumed, self.orphans)


def run_total_budget(queries: Sequence[Query], backend: Backend, plan: Plan, total: float, *,
                     overrides: PlanOverrides = PlanOverrides(), unit: str = "tokens",
                     draws: int = 500, journal: TotalJournal | None = None) -> BudgetedRun:
    """Run ``plan`` on ``queries`` spending at most ``total`` in all (in ``unit``: planner/total_units.py)."""
    check_total(queries, total, unit)
    run = _TotalRun(queries, plan, total, unit, overrides, draws)
    if journal is not None:
        run.resume(journal)
    slots = max(1, backend.info.parallel_slots)
    first = run.next_samples(slots)
    if not first:
        return run.result()
    prepare(backend, [q.base for q in run.live])
    stream = backend.sample([run.request(q) for q, _ in first])
    for number, key in enumerate(first):
        run.flying[number] = key
    for c in stream:
        run.receive(c)
        for key in run.next_samples(slots - len(run.flying)):
            run.flying[stream.submit([run.request(key[0])])[0]] = key
    return run.result()


def check_total(queries: Sequence[Query], total: float, unit: str) -> None:
    if not queries:
        raise InputError("no prompts to run")
    if unit not in TOTAL_UNITS:
        raise InvalidValue("unit", f"{{name}} must be one of {', '.join(TOTAL_UNITS)} (got {unit!r})")
    if not total > 0 or total != total or total == float("inf"):
        raise InvalidValue("total_budget", f"{{name}} must be a positive number of {unit} (got {total})")


def run_total(plan: Plan, queries: Sequence[Query], *, model, settings, total: float, unit: str | None,
              overrides: PlanOverrides, model_mismatch: str, journal: Path | str | None, force: bool) -> BudgetedRun:
    """``ip.run_total``: checks everything, opens the journal (when given), then the model, and runs."""
    from inferplan.backends import open_backend
    from inferplan.runner.plan_model import model_for

    cost = total_cost_model(plan, unit)  # refuses a unit no total can be kept hard in
    check_total(queries, total, cost.unit)
    the_unit = cost.unit
    core = PlanCore(_allocated_plan(plan, plan.batch_allocation or BatchPolicy()), overrides)  # checks it first
    choice, given = model_for(plan, model, model_mismatch)
    cap = sample_cap(cost, core.max_tokens)
    record = None if journal is None else TotalJournal(
        journal, journal_header(plan, queries, unit=the_unit, cap=cap, seed=overrides.seed,
                                max_samples=core.rule.max_samples, system=overrides.system), force=force)
    try:
        backend = given or open_backend(choice.spec, settings)
        try:
            return run_total_budget(queries, backend, plan, total, overrides=overrides, unit=the_unit,
                                    journal=record)
        finally:
            if given is None:
                backend.close()
    finally:
        if record is not None:
            record.close()
