"""One budget over a stream of requests (``serve --total-budget X --per WINDOW|query``, issue 33).

PETS's online idea, as replayed in planner/batch_online.py: every request gets ``k0`` first
samples; how much they agree (the leader's count among them: its bucket) sets how many samples
it gets in all, priced on the plan's training problems (the self-consistency each bucket gains per
extra sample) for an allowance that is the average per query less the running overrun spread over
20 queries — so hard requests get more and easy ones less while the average holds. The plan's
stopping rule still ends a request early.

Beside that, the budget is hard: a sample starts only if its cap (``max_tokens`` in the unit)
fits in what is left — of ``X`` × the requests so far (``--per query``), or of ``X`` in the
current wall-clock window of ``WINDOW`` seconds (``--per 60``), every sample counted in the window
it started in. A finished sample is charged what it generated, a cancelled one (the rule ended
its request, or its client left) its cap, since the engine does not say what it generated. A
request whose first sample does not fit waits (for the next request's share, or the next
window); one that already has samples is answered with them.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from inferplan.errors import InputError, InvalidValue
from inferplan.planner.batch_online import OnlinePrices, agreement_bucket, price_online
from inferplan.planner.plan_file import Plan
from inferplan.planner.total_units import sample_cap, sample_cost, total_cost_model
from inferplan.replay.cost import CostModel

K0 = 4  # first samples before a request's bucket is known (as the replay's default)
SPREAD = 20  # queries over which the running overrun is paid back (the replay's window)


@dataclass(frozen=True)
class BudgetWindow:
    """What ``--per`` means: ``seconds`` None is per query."""

    total: float
    seconds: float | None

    @classmethod
    def parse(cls, total: float, per: str) -> BudgetWindow:
        if not total > 0 or not np.isfinite(total):
            raise InvalidValue("total_budget", f"{{name}} must be a positive number (got {total})")
        if per == "query":
            return cls(total, None)
        scale = {"s": 1.0, "m": 60.0, "h": 3600.0}
        try:
            seconds = float(per[:-1]) * scale[per[-1]] if per[-1:] in scale else float(per)
        except (ValueError, IndexError):
            seconds = -1.0
        if not seconds > 0:
            raise InvalidValue("per", f"{{name}} is 'query' or a window such as 60, 60s, 5m, 1h (got {per!r})")
        return cls(total, seconds)


class ServeBudget:
    """The hard gate and the online targets; called from the service's worker thread only."""

    def __init__(self, window: BudgetWindow, cost: CostModel, max_tokens: int, prices: OnlinePrices,
                 *, seed: int = 0, clock: Callable[[], float] = time.monotonic) -> None:
        self.window, self.cost, self.prices, self.clock = window, cost, prices, clock
        self.cap = sample_cap(cost, max_tokens)
        if self.cap > window.total:
            raise InvalidValue("total_budget", f"{{name}} {window.total:g} is less than one sample's cap "
                               f"({self.cap:g} {cost.unit}: max_tokens {max_tokens})")
        self.t0 = clock()
        self.arrived = 0
        self.used: dict[int, float] = {}  # window (0 per query) → charged + reserved
        self._out: dict[int, deque[int]] = {}  # query → the windows of its samples in flight
        self._targets: dict[int, int] = {}
        self._rng = np.random.default_rng(seed)
        self._mixes: dict[tuple[float, float], tuple[np.ndarray, np.ndarray, float]] = {}
        self._arrivals: dict[int, int] = {}  # window → requests that arrived in it

    # -- the gate ---------------------------------------------------------------------
    def _now(self) -> int:
        return 0 if self.window.seconds is None else int((self.clock() - self.t0) // self.window.seconds)

    def _room(self, w: int) -> float:
        limit = self.window.total * (self.arrived if self.window.seconds is None else 1)
        return limit - self.used.get(w, 0.0)

    def arrive(self) -> None:
        self.arrived += 1
        w = self._now()
        self._arrivals[w] = self._arrivals.get(w, 0) + 1

    def allow(self, q: int, k: int) -> int:
        """How many of ``k`` samples query ``q`` may start now (reserved at their cap)."""
        w = self._now()
        k = max(0, min(k, int((self._room(w) + 1e-12) // self.cap)))
        if k:
            self.used[w] = self.used.get(w, 0.0) + k * self.cap
            self._out.setdefault(q, deque()).extend([w] * k)
        return k

    def done(self, q: int, tokens: int) -> None:
        """One sample of ``q`` finished with ``tokens``: its reservation becomes its cost."""
        out = self._out.get(q)
        if out:  # nothing held: it was settled at its cap already
            w = out.popleft()
            self.used[w] += sample_cost(self.cost, tokens) - self.cap

    def settle(self, q: int) -> None:
        """``q`` ended: its samples still in flight were cancelled, charged their cap (already held)."""
        self._out.pop(q, None)
        self._targets.pop(q, None)

    # -- the online targets -----------------------------------------------------------
    def _per_query(self) -> float:
        if self.window.seconds is None:
            return self.window.total
        w = self._now()  # the requests of the last full window, or of this one so far
        seen = self._arrivals.get(w - 1) or self._arrivals.get(w, 1)
        return self.window.total / max(seen, 1)

    def target(self, q: int, first: list[str | None]) -> int:
        """Samples in all for ``q`` once its first ``K0`` answers are in (fixed at the first call)."""
        if q not in self._targets:
            per = self._per_query()
            over = self.used.get(0, 0.0) - per * self.arrived if self.window.seconds is None else 0.0
            allow = float(np.clip(per - over / SPREAD, 0.25 * per, 4 * per))
            key = round(allow / per, 2)
            if (key, per) not in self._mixes:
                self._mixes[(key, per)] = self.prices.mix(key * per)
            small, big, p = self._mixes[(key, per)]
            ids: dict[str, int] = {}
            codes = np.array([-1 if a is None else ids.setdefault(a, len(ids)) for a in first[:self.prices.k0]])
            b = agreement_bucket(codes, self.prices.k0)
            self._targets[q] = int(big[b] if self._rng.random() < p else small[b])
        return self._targets[q]

    def limit(self, q: int, drawn: int, answers: list[str | None], k: int) -> int:
        """The next round's size for query ``q``: first samples up to ``K0``, then up to its target."""
        k0 = self.prices.k0
        k = min(k, k0 - drawn) if drawn < k0 else min(k, self.target(q, answers) - drawn)
        return self.allow(q, k) if k > 0 else 0

    def to_json(self) -> dict:
        return {"total_budget": self.window.total, "per": "query" if self.window.seconds is None
                else self.window.seconds, "unit": self.cost.unit, "sample_cap": self.cap,
                "requests": self.arrived, "used": {str(w): u for w, u in sorted(dict(self.used).items())}}


def serve_budget(plan: Plan, total: float, per: str, max_tokens: int, *, seed: int = 0) -> ServeBudget:
    """The budget of ``serve --total-budget``: the plan's unit, its training problems priced for the
    online targets (the plan's profile must be on disk: they are what the targets are priced on)."""
    from pathlib import Path

    from inferplan.planner.batch import make_streams
    from inferplan.planner.batch_simulate import streams_input, total_cost_of
    from inferplan.profiles.profile import Profile

    window = BudgetWindow.parse(total, per)
    total_cost_model(plan)  # refuses a unit no total can be kept hard in, before the profile is read
    if plan.parallel is not None:
        raise InputError("serve --total-budget sizes each request's rounds; this plan launches one parallel round")
    if not plan.profile or not Path(plan.profile).exists():
        raise InputError(f"serve --total-budget prices each request's share on the plan's training problems; "
                         f"its profile {plan.profile or '(none)'} is not on disk")
    profile = Profile.open(plan.profile)
    ids = {pid: i for i, pid in enumerate(profile.table.problems)}
    held = set(plan.heldout)
    train = np.array([i for pid, i in ids.items() if pid not in held])
    cost = total_cost_of(profile, plan)
    answers, costs, correct = streams_input(profile, plan, train, cost)
    prices = price_online(make_streams(answers, costs, correct, seed=seed), k0=K0, seed=seed)
    return ServeBudget(window, cost, max_tokens, prices, seed=seed)
