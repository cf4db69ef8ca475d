"""A plan served to many callers: queries arrive from any thread, one worker runs them all.

``inferplan serve`` answers each HTTP request by executing the plan on one query.
The backend's stream is single-threaded and batches everything it is given, so
one worker thread owns it: callers put work on an inbox and wait on a
:class:`~concurrent.futures.Future`; the worker drains the inbox between decode
steps (the stream's ``tick``), so a request that arrives mid-stream joins the
running batch at once — continuous batching across HTTP requests, as
``run --plan`` does across the queries of a file. A caller who leaves cancels
its query, which frees its slots in the engine.
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
import time
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass, field

from inferplan.backends import prepare
from inferplan.backends.base import Backend
from inferplan.errors import InferplanError
from inferplan.planner.plan_file import Plan
from inferplan.runner.live_query import LiveQuery, PlanCore, PlanOverrides
from inferplan.runner.queries import Query
from inferplan.runner.results import QueryResult
from inferplan.runner.serve_budget import ServeBudget

log = logging.getLogger(__name__)

# Queries decoding at once, per parallel slot: as in ``run --plan`` (runner.plan_runner),
# one per slot keeps the batch full and every active query's prompt cached.
ACTIVE_PER_SLOT = 1
# --ctx auto on llama.cpp: room for a request's prompt beside the plan's max_tokens. Modest, because a
# sample's start copies its prompt's whole KV stream (ctx 512 → 1024 cost 13% of tok/s); longer
# prompts are refused with a 400 that says to pass --ctx.
SERVE_PROMPT_TOKENS = 512


@dataclass
class Ticket:
    """A caller's handle on one query: wait on ``future``; cancel with ``service.cancel``."""

    number: int
    future: Future = field(default_factory=Future)


@dataclass
class ServiceStats:
    """Counters for ``/health``: what came in and how it ended."""

    received: int = 0
    answered: int = 0
    cancelled: int = 0
    failed: int = 0
    active: int = 0  # decoding now
    waiting: int = 0  # queued behind the active ones
    peak_active: int = 0  # most queries decoding at once so far (concurrent requests share the batch)

    def to_json(self) -> dict:
        return dict(self.__dict__)


@dataclass
class _Work:
    ticket: Ticket
    query: LiveQuery


class PlanService:
    """Execute a plan for queries submitted from any thread (see the module docstring)."""

    def __init__(self, plan: Plan, backend: Backend, overrides: PlanOverrides = PlanOverrides(),
                 budget: ServeBudget | None = None) -> None:
        """``overrides.seed`` seeds queries submitted without a seed of their own (with the arrival number);
        ``budget`` (serve --total-budget) sizes every round and holds the total (runner/serve_budget.py)."""
        self.core = PlanCore(plan, overrides)  # an oracle plan or a bad mix is refused here
        self.budget = budget
        if budget is not None:
            self.core.limit = lambda q, k: budget.limit(q.position, q.drawn, q.answers, k)
        self.backend = backend
        self.window = max(1, ACTIVE_PER_SLOT * backend.info.parallel_slots)
        # llama.cpp --ctx auto: room for prompts nobody has sent yet
        prepare(backend, tokens=self.core.max_tokens + SERVE_PROMPT_TOKENS)
        self.stats = ServiceStats()
        self._inbox: queue.Queue = queue.Queue()
        self._numbers = itertools.count()
        self._waiting: deque[_Work] = deque()
        self._active: dict[int, _Work] = {}  # ticket number → work
        self._closed = False  # no more submissions (set by the caller's close)
        self._stopping = False  # the worker saw the close (worker thread only)
        self._thread = threading.Thread(target=self._work, name="inferplan-plan-service", daemon=True)
        self._thread.start()

    # -- callers (any thread) ----------------------------------------------------------

    def submit(self, query: Query, *, as_profiled: bool = True, max_tokens: int | None = None,
               stop: tuple[str, ...] = (), seed: int | None = None) -> Ticket:
        """Queue a query; a bad prompt raises here, an engine failure lands in the future."""
        if self._closed:
            raise InferplanError("the plan service is closed")
        base = self.core.base_request(query, as_profiled=as_profiled, max_tokens=max_tokens, stop=stop)
        ticket = Ticket(next(self._numbers))
        self._inbox.put(("add", ticket, query, base, seed))
        return ticket

    def cancel(self, ticket: Ticket) -> None:
        """The caller left: stop the query's samples (a finished query is left as it is)."""
        self._inbox.put(("cancel", ticket))

    def close(self, timeout: float = 10.0) -> None:
        """Cancel everything still queued or running and stop the worker."""
        self._closed = True
        self._inbox.put(("close",))
        self._thread.join(timeout)

    # -- the worker ----------------------------------------------------------------

    def _work(self) -> None:
        while not self._stopping:
            self._handle(self._inbox.get(), None)
            while self._waiting and not self._stopping:
                self._run_stream()

    def _run_stream(self) -> None:
        """One backend stream, open while any query is waiting or running."""
        try:
            stream = self.backend.sample([])
        except InferplanError as e:
            self._fail_all(e)
            return
        stream.tick = lambda: self._drain(stream)
        try:
            self._drain(stream)
            for c in stream:
                owner = self.core.owner.get(c.request)
                if self.budget is not None and owner is not None:
                    self.budget.done(owner.position, c.completion_tokens)
                q = self.core.receive(c, stream)
                if q is not None and q.stopped:
                    self._answer(q)
                self._drain(stream)
            if self.budget is not None and self._waiting and not self._active:
                time.sleep(0.05)  # nothing may start until a request arrives or a window opens
        except Exception as e:  # the engine or the server failed: every running query fails with it
            log.error("plan service: %s", e)
            for work in list(self._active.values()):
                self._end(work, error=e)

    def _drain(self, stream) -> None:
        """Take what arrived on the inbox, then start waiting queries while the window has room."""
        while True:
            try:
                item = self._inbox.get_nowait()
            except queue.Empty:
                break
            self._handle(item, stream)
        while self._waiting and len(self._active) < self.window and not self._stopping:
            work = self._waiting[0]
            try:
                first = self.core.first_round(work.query)
                if first is None:  # the budget has no room for it yet: it waits, first in line
                    break
                self._waiting.popleft()
                number = stream.submit([first])[0]
            except InferplanError as e:  # e.g. a prompt longer than the context: this query only
                if self._waiting and self._waiting[0] is work:
                    self._waiting.popleft()
                self._end(work, error=e)
                continue
            self.core.own(work.query, number)
            self._active[work.ticket.number] = work
        self.stats.active, self.stats.waiting = len(self._active), len(self._waiting)
        self.stats.peak_active = max(self.stats.peak_active, self.stats.active)

    def _handle(self, item: tuple, stream) -> None:
        """Apply one inbox item: add a query, cancel one, or close (cancel everything)."""
        kind = item[0]
        if kind == "add":
            _, ticket, query, base, seed = item
            self.stats.received += 1
            if self.budget is not None:
                self.budget.arrive()
            # A caller's own seed makes its samples reproducible whatever else is running.
            entropy = (self.core.overrides.seed, ticket.number) if seed is None else (seed,)
            self._waiting.append(_Work(ticket, self.core.new_query(ticket.number, query, base, entropy)))
        elif kind == "cancel":
            self._cancel(item[1], stream)
        else:
            self._stopping = True
            for work in list(self._waiting) + list(self._active.values()):
                self._end(work, cancelled=True, stream=stream)
            self._waiting.clear()
            self.stats.waiting = 0

    def _cancel(self, ticket: Ticket, stream) -> None:
        for work in self._waiting:
            if work.ticket is ticket:
                self._waiting.remove(work)
                self._end(work, cancelled=True)
                return
        work = self._active.get(ticket.number)
        if work is not None:
            self._end(work, cancelled=True, stream=stream)

    def _answer(self, q: LiveQuery) -> None:
        work = self._active.get(q.position)
        if work is not None:
            self._end(work, result=self.core.result(q))

    def _end(self, work: _Work, *, result: QueryResult | None = None, error: Exception | None = None,
             cancelled: bool = False, stream=None) -> None:
        self._active.pop(work.ticket.number, None)
        if stream is not None and not work.query.stopped:
            self.core.stop(work.query, stream)
        if self.budget is not None:
            self.budget.settle(work.query.position)
        for number in work.query.requests:
            self.core.owner.pop(number, None)
        # Counts first: the future wakes the caller, who may read /health before this thread goes on.
        self.stats.active, self.stats.waiting = len(self._active), len(self._waiting)
        future = work.ticket.future
        if result is not None:
            self.stats.answered += 1
            future.set_result(result)
        elif cancelled:
            self.stats.cancelled += 1
            future.cancel()
        else:
            self.stats.failed += 1
            future.set_exception(error)

    def _fail_all(self, error: Exception) -> None:
        for work in list(self._waiting):
            self._end(work, error=error)
        self._waiting.clear()
        self.stats.waiting = 0

