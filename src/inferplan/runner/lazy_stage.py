"""One model of a served plan across models, opened when it is first needed (issue 31).

A cascade's later stage loads its model at the first request that escalates to it, so a model no
request reaches is never loaded (as ``run --plan`` and ``evaluate`` never open it). The load runs
on a thread of its own, never on a stage's worker, whose batch would stall behind it; requests
that escalate meanwhile wait for it, and a load that fails fails them with its error. A cascade's
first stage and every member of a mix (each request needs them all) open at start, in the
caller's thread, so a model that cannot load stops ``serve`` before it listens.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future
from typing import Callable

from inferplan.backends.base import Backend
from inferplan.errors import InferplanError
from inferplan.planner.plan_file import Plan
from inferplan.runner.live_query import PlanOverrides
from inferplan.runner.plan_model import ModelChoice
from inferplan.runner.service import PlanService


class StageService:
    """A :class:`PlanService` for one model of the plan, opened at once (``eager``) or on first use."""

    def __init__(self, part: Plan, choice: ModelChoice, given: Backend | None,
                 open_model: Callable[[str], Backend], overrides: PlanOverrides, *, eager: bool) -> None:
        self.part, self.choice, self.given, self.open_model, self.overrides = part, choice, given, open_model, overrides
        self._ready: Future = Future()
        self._lock = threading.Lock()
        self._started = self._closing = self._shut_down = False
        self._owned: Backend | None = None  # the backend opened here (a given one stays the caller's)
        if eager:
            self._started = True
            self._open()
            self._ready.result()  # a model that cannot load raises here, before anything listens

    @property
    def service(self) -> PlanService | None:
        """The service, once its model is open."""
        f = self._ready
        return f.result() if f.done() and f.exception() is None else None

    def ready(self) -> Future:
        """The service's future; the first call starts the load on a thread of its own (none once
        closing: a request that escalates while the server stops fails as a closed service's does)."""
        with self._lock:
            if self._closing and not self._started:
                closed: Future = Future()
                closed.set_exception(InferplanError("the plan service is closed"))
                return closed
            start, self._started = not self._started, True
        if start:
            threading.Thread(target=self._open, name=f"inferplan-open-{self.choice.label}", daemon=True).start()
        return self._ready

    def _open(self) -> None:
        backend = None
        try:
            backend = self.given or self.open_model(self.choice.spec)
            service = PlanService(self.part, backend, self.overrides)
        except BaseException as e:  # every waiting request fails with the load's own error
            if backend is not None and self.given is None:
                backend.close()
            self._ready.set_exception(e)
            return
        with self._lock:
            self._owned = None if self.given is not None else backend
            closing = self._closing
        if closing:  # the server stopped while the model loaded: nobody may start on it
            self._shut(service)
            self._ready.set_exception(InferplanError("the plan service is closed"))
            return
        self._ready.set_result(service)

    def close(self, timeout: float = 10.0) -> None:
        """Stop the service and close the backend opened here. A load still in progress after
        ``timeout`` is not waited for: it shuts itself when it ends (_open)."""
        with self._lock:
            self._closing = True
            started = self._started
        if not started:
            return
        try:
            service = self._ready.result(timeout=timeout)
        except Exception:  # it never loaded, or is still loading
            return
        self._shut(service, timeout)

    def _shut(self, service: PlanService, timeout: float = 10.0) -> None:
        with self._lock:  # once, whether close() or a load that ended after it gets here first
            if self._shut_down:
                return
            self._shut_down = True
            owned, self._owned = self._owned, None
        service.close(timeout)
        if owned is not None:
            owned.close()
