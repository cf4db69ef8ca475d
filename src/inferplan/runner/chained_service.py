"""A plan across models served (``inferplan serve`` of a cascade or a mix): one
:class:`~inferplan.runner.service.PlanService` per model, each with its own engine and batch,
and every request routed through them as ``run --plan`` routes a query.

- A cascade: the request runs on stage 1's model; where that stage's answer does not stand
  (runner/cascade_runner.stood), it runs on the next stage's, and so on; the reply is the
  answering stage's, charged what every stage spent (as ``run --json`` reports it).
- A mix: the request runs on every member's model at once; the reply is the one vote over all
  their samples (runner/mix_runner.pooled).

Each stage is a service of its own, so requests at stage 2 share stage 2's batch while new ones
fill stage 1's. A cascade's later stage loads its model at the first request that escalates to it
(runner/lazy_stage.py): a model no request reaches is never loaded. A caller who leaves cancels
whatever stage its request is at, or the wait for that stage's model.
"""

from __future__ import annotations

import itertools
import threading
from concurrent.futures import Future
from typing import Callable

from inferplan.backends.base import Backend
from inferplan.planner.plan_file import Plan
from inferplan.runner.cascade_runner import merged, stage_part, stood
from inferplan.runner.lazy_stage import StageService
from inferplan.runner.live_query import PlanOverrides
from inferplan.runner.mix_runner import mix_spec, pooled
from inferplan.runner.plan_model import ModelChoice
from inferplan.runner.queries import Query
from inferplan.runner.service import PlanService, ServiceStats, Ticket


class ChainedService:
    """The PlanService interface (submit, cancel, close, stats) over several models' services."""

    budget = None  # one total over the requests is planned for one model only

    def __init__(self, plan: Plan, models: list[tuple[ModelChoice, Backend | None]], overrides: PlanOverrides,
                 open_model: Callable[[str], Backend] | None = None) -> None:
        """``models``: each model's choice and its backend where the caller opened it (None: opened here
        by ``open_model``, a cascade's later stage at its first escalation; closed by :meth:`close`)."""
        self.plan, self.overrides = plan, overrides
        self.choices = [c for c, _ in models]
        parts = plan.members if plan.pool else plan.stages  # a mix's models, or a cascade's in order
        opener = open_model or _no_opener
        self.stages: list[StageService] = []
        try:
            for k, (p, (choice, given)) in enumerate(zip(parts, models)):
                self.stages.append(StageService(p, choice, given, opener, overrides, eager=bool(plan.pool) or k == 0))
        except BaseException:
            self.close()
            raise
        self._stats = ServiceStats()
        self._numbers = itertools.count()
        self._inner: dict[int, list[Ticket]] = {}  # outer ticket number → the stage tickets now running
        self._left: set[int] = set()  # outer ticket numbers whose caller cancelled, not yet settled
        # Reentrant: settling a future runs its callbacks in this thread, and one may route back in.
        self._lock = threading.RLock()

    @property
    def stats(self) -> ServiceStats:
        """Requests received and how they ended; decoding and queued summed over the models."""
        s = self._stats
        open_now = [x.service for x in self.stages if x.service is not None]
        s.active = sum(x.stats.active for x in open_now)
        s.waiting = sum(x.stats.waiting for x in open_now)
        s.peak_active = max(s.peak_active, s.active)
        return s

    def submit(self, query: Query, **ask) -> Ticket:
        outer = Ticket(next(self._numbers))
        self._stats.received += 1
        if self.plan.pool:
            self._mix(outer, query, ask)
        else:
            self._stage(outer, query, ask, 0, [])
        return outer

    def cancel(self, ticket: Ticket) -> None:
        """The caller left: whatever stage its request is at stops, and no later stage starts for it."""
        with self._lock:
            if ticket.future.done():
                return
            self._left.add(ticket.number)
            inner = list(self._inner.get(ticket.number, ()))
            if not inner:  # between stages, or waiting for a stage's model to load: nothing runs to stop
                self._settle(ticket, cancelled=True)
        for k, t in inner:
            self.stages[k].service.cancel(t)

    def close(self, timeout: float = 10.0) -> None:
        for s in self.stages:
            s.close(timeout)

    # -- routing (callbacks run on the stage services' worker threads) -----------------------

    def _started(self, outer: Ticket, running: list) -> None:
        with self._lock:
            self._inner[outer.number] = running

    def _end(self, outer: Ticket, future: Future, result=None) -> bool:
        """Settle ``outer`` from a stage's ``future`` where it failed or was cancelled, or its caller
        left (True), or with ``result`` where one is given; False: the stage answered and routing goes on."""
        if not future.cancelled() and future.exception() is not None:
            self._failed(outer, future.exception())
            return True
        with self._lock:
            if future.cancelled() or outer.number in self._left:  # a cancel that reached a finished stage too
                self._settle(outer, cancelled=True)
                return True
            if result is not None:
                self._settle(outer, result=result)
                return True
        return False

    def _failed(self, outer: Ticket, error: Exception) -> None:
        """Settle ``outer`` with ``error``: a stage's, or one raised while routing it (a done-callback's
        exception is only logged by ``concurrent.futures``: uncaught, the request would never settle)."""
        with self._lock:
            self._settle(outer, error=error)

    def _settle(self, outer: Ticket, *, result=None, error: Exception | None = None, cancelled: bool = False) -> None:
        """End ``outer`` once, counted once (under the lock: a cancel and a stage's answer may race)."""
        self._inner.pop(outer.number, None)
        self._left.discard(outer.number)
        if outer.future.done():
            return
        if cancelled:
            self._stats.cancelled += 1
            outer.future.cancel()
        elif error is not None:
            self._stats.failed += 1
            outer.future.set_exception(error)
        else:
            self._stats.answered += 1
            outer.future.set_result(result)

    def _stage(self, outer: Ticket, query: Query, ask: dict, k: int, parts: list) -> None:
        """Run ``query`` on stage ``k``: at once where its model is open (stage 1's submit raises to the
        caller, as one model's does), else once it has loaded (an error then settles the request)."""
        opening = self.stages[k].ready()
        if k == 0:
            self._submit(outer, query, ask, k, parts, opening.result())
            return

        def loaded(f: Future) -> None:
            try:
                self._submit(outer, query, ask, k, parts, f.result())
            except Exception as e:  # the model did not load, or its service refused the query
                self._failed(outer, e)

        with self._lock:  # between stages nothing runs: a cancel now settles the request itself
            self._inner.pop(outer.number, None)
        opening.add_done_callback(loaded)

    def _submit(self, outer: Ticket, query: Query, ask: dict, k: int, parts: list, service: PlanService) -> None:
        with self._lock:
            if outer.future.done():  # the caller left while the stage's model loaded
                return
            ticket = service.submit(query, **ask)
            self._inner[outer.number] = [(k, ticket)]

        def done(f: Future) -> None:
            try:
                if self._end(outer, f):
                    return
                r, stage, choice = f.result(), self.plan.stages[k], self.choices[k]
                ok = stood(stage, r)
                so_far = parts + [stage_part(choice, r, ok)]
                if ok:
                    self._end(outer, f, merged(r, choice, so_far))
                else:
                    self._stage(outer, query, ask, k + 1, so_far)
            except Exception as e:  # e.g. the next stage's service refused the query
                self._failed(outer, e)

        ticket.future.add_done_callback(done)

    def _mix(self, outer: Ticket, query: Query, ask: dict) -> None:
        tickets: list = []
        try:
            for k, s in enumerate(self.stages):
                tickets.append((k, s.service.submit(query, **ask)))
        except Exception:  # one member refused it: the others must not go on spending
            for k, t in tickets:
                self.stages[k].service.cancel(t)
            raise
        self._started(outer, tickets)
        left = [len(tickets)]

        def done(_: Future) -> None:
            with self._lock:
                left[0] -= 1
                if left[0]:
                    return
            futures = [t.future for _, t in tickets]
            failed = next((f for f in futures if f.cancelled() or f.exception() is not None), None)
            try:
                if failed is not None:
                    self._end(outer, failed)
                    return
                result = pooled([f.result() for f in futures], self.choices, mix_spec(self.plan),
                                self.overrides.seed, outer.number, at_once=True)
                self._end(outer, futures[0], result)
            except Exception as e:
                self._failed(outer, e)

        for _, t in tickets:
            t.future.add_done_callback(done)


def _no_opener(spec: str) -> Backend:
    raise ValueError(f"ChainedService: no backend given for {spec} and no open_model to open it")
