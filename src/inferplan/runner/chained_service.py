"""A plan across models served (``inferplan serve`` of a cascade or a mix): one
:class:`~inferplan.runner.service.PlanService` per model, each with its own engine and batch,
and every request routed through them as ``run --plan`` routes a query.

- A cascade: the request runs on stage 1's model; where that stage's answer does not stand
  (runner/cascade_runner.stood), it runs on the next stage's, and so on; the reply is the
  answering stage's, charged what every stage spent (as ``run --json`` reports it).
- A mix: the request runs on every member's model at once; the reply is the one vote over all
  their samples (runner/mix_runner.pooled).

Each stage is a service of its own, so requests at stage 2 share stage 2's batch while new ones
fill stage 1's. A caller who leaves cancels whatever stage its request is at.
"""

from __future__ import annotations

import itertools
import threading
from concurrent.futures import Future

from inferplan.backends.base import Backend
from inferplan.planner.plan_file import Plan
from inferplan.runner.cascade_runner import merged, stage_part, stood
from inferplan.runner.live_query import PlanOverrides
from inferplan.runner.mix_runner import mix_spec, pooled
from inferplan.runner.plan_model import ModelChoice
from inferplan.runner.queries import Query
from inferplan.runner.service import PlanService, ServiceStats, Ticket


class ChainedService:
    """The PlanService interface (submit, cancel, close, stats) over several models' services."""

    budget = None  # one total over the requests is planned for one model only

    def __init__(self, plan: Plan, models: list[tuple[ModelChoice, Backend]], overrides: PlanOverrides) -> None:
        self.plan, self.overrides = plan, overrides
        self.choices = [c for c, _ in models]
        parts = plan.members if plan.pool else plan.stages  # a mix's models, or a cascade's in order
        self.services = [PlanService(p, b, overrides) for p, (_, b) in zip(parts, models)]
        self._stats = ServiceStats()
        self._numbers = itertools.count()
        self._inner: dict[int, list[Ticket]] = {}  # outer ticket number → the stage tickets now running
        self._lock = threading.Lock()

    @property
    def stats(self) -> ServiceStats:
        """Requests received and how they ended; decoding and queued summed over the models."""
        s = self._stats
        s.active = sum(x.stats.active for x in self.services)
        s.waiting = sum(x.stats.waiting for x in self.services)
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
        with self._lock:
            inner = list(self._inner.get(ticket.number, ()))
        for k, t in inner:
            self.services[k].cancel(t)

    def close(self, timeout: float = 10.0) -> None:
        for s in self.services:
            s.close(timeout)

    # -- routing (callbacks run on the stage services' worker threads) -----------------------

    def _started(self, outer: Ticket, running: list) -> None:
        with self._lock:
            self._inner[outer.number] = running

    def _end(self, outer: Ticket, future: Future, result=None) -> bool:
        """Settle ``outer`` from a stage's ``future`` where it failed or was cancelled (True), or
        with ``result`` where one is given; False: the stage answered and routing goes on."""
        if not future.cancelled() and future.exception() is not None:
            self._failed(outer, future.exception())
            return True
        if future.cancelled() or result is not None:
            with self._lock:
                self._inner.pop(outer.number, None)
            if future.cancelled():
                self._stats.cancelled += 1
                outer.future.cancel()
            else:
                self._stats.answered += 1
                outer.future.set_result(result)
            return True
        return False

    def _failed(self, outer: Ticket, error: Exception) -> None:
        """Settle ``outer`` with ``error``: a stage's, or one raised while routing it (a done-callback's
        exception is only logged by ``concurrent.futures``: uncaught, the request would never settle)."""
        with self._lock:
            self._inner.pop(outer.number, None)
        if not outer.future.done():
            self._stats.failed += 1
            outer.future.set_exception(error)

    def _stage(self, outer: Ticket, query: Query, ask: dict, k: int, parts: list) -> None:
        ticket = self.services[k].submit(query, **ask)
        self._started(outer, [(k, ticket)])

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
            for k, s in enumerate(self.services):
                tickets.append((k, s.submit(query, **ask)))
        except Exception:  # one member refused it: the others must not go on spending
            for k, t in tickets:
                self.services[k].cancel(t)
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
