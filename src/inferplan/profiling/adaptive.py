"""The adaptive profile's rounds: a uniform first pass, then samples where they settle most.

The same loop drives a live profile (samples from a backend, graded and appended to
the profile file) and a replayed one (samples served from a recorded set, to compare
strategies without a model): both hand it a ``Sampler``. Every record it asks for
carries ``alloc``: ``"pilot"``, ``"uniform"`` or ``"adaptive:R"`` (round R), so a
profile says how each sample was chosen.

The budget counts what earlier runs into the same profile spent, and a round never
asks for more samples than the budget left is expected to buy; the sampler is told
to stop the moment the budget is spent (samples in flight are cancelled), so a
profile ends within a sample of its budget.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from inferplan.profiling import adaptive_allocation as allocation
from inferplan.profiling.adaptive_allocation import Ledger
from inferplan.profiling.budget import ProfileBudget

ROUND_SHARE = 0.1  # a round spends about this share of the whole budget (adaptivity vs batching)
MIN_ROUND = 16  # … and at least this many samples (one decode batch)


class Sampler(Protocol):
    """Draws the wanted samples (problem, config, index, alloc label), yielding their records.

    It calls ``over()`` after each record and, once it is true, stops: cancels what is in
    flight and returns. A sampler with a batch to keep full may call ``more(free)`` for
    further samples while it runs (the adaptive rounds then overlap); one that draws one
    at a time never needs to.
    """

    def __call__(self, wanted: list[tuple[int, int, int, str]], over: Callable[[], bool],
                 more: Callable[[int], list[tuple[int, int, int, str]]] | None = None) -> Iterator[dict]: ...


@dataclass(frozen=True)
class AdaptiveResult:
    rounds: int
    stopped: str  # "budget", "settled" (more samples would not change the plan) or "cap"
    samples: int  # recorded in the profile, earlier runs included
    spent: float  # in the budget's unit, earlier runs included
    budget: float
    unit: str  # the budget's: "tokens" or "seconds"
    strategy: str = "adaptive"  # "uniform" fills level by level and has no rounds (rounds stays 0)


def run_adaptive(ledger: Ledger, budget: ProfileBudget, sample: Sampler, *, cap: int,
                 spent: Callable[[], float], seed: int = 0) -> AdaptiveResult:
    """Sample into ``ledger`` until ``budget`` is spent, every pair is settled, or all reach ``cap``.

    ``spent()`` is what the profile has spent so far in the budget's unit (earlier runs
    included); ``ledger`` already holds the profile's records.
    """
    rng = np.random.default_rng(seed)

    def over() -> bool:
        return spent() >= budget.amount

    def take(wanted: list[tuple[int, int, int, str]], more=None) -> int:
        return _take(ledger, sample, wanted, over, more)

    def per_sample() -> float:  # what one sample has cost so far, in the budget's unit
        return max(spent() / max(ledger.samples, 1), 1e-9)

    pairs = ledger.n.size
    if (ledger.n == 0).any() and not over():  # one sample each: what a sample costs here
        take(_top_up(ledger, 1, "pilot"))
    rounds = 0

    def budget_left() -> int:
        """Samples the rest of the budget buys at the rate so far, less those in flight."""
        return int((budget.amount - spent()) // per_sample()) - int(ledger.pending.sum())

    def refill(free: int) -> list[tuple[int, int, int, str]]:
        """More samples for slots the batch has free (a live engine asks while a round runs)."""
        nonlocal rounds
        chosen = {} if over() else allocation.next_round(ledger, min(free, budget_left()), cap, rng)
        rounds += bool(chosen)
        return ledger.reserve(chosen, f"adaptive:{rounds}")

    while not over():
        affordable = budget.amount / per_sample()  # samples the whole budget buys at this rate
        first = min(allocation.first_pass_size(affordable, pairs), cap)
        if (ledger.n < first).any():
            if take(_top_up(ledger, first, "uniform")) == 0:
                break  # the sampler has nothing more to give (a recorded set ran out)
            continue
        if budget_left() < 1:
            break
        size = min(budget_left(), max(MIN_ROUND, int(ROUND_SHARE * affordable)))
        chosen = allocation.next_round(ledger, size, cap, rng)
        if not chosen:
            stopped = "cap" if (ledger.n >= cap).all() else "settled"
            return AdaptiveResult(rounds, stopped, ledger.samples, spent(), budget.amount, budget.unit)
        rounds += 1
        got = take(ledger.reserve(chosen, f"adaptive:{rounds}"), refill)
        ledger.release()
        if got == 0:
            break
    return AdaptiveResult(rounds, "budget", ledger.samples, spent(), budget.amount, budget.unit)


def _take(ledger: Ledger, sample: Sampler, wanted: list[tuple[int, int, int, str]], over: Callable[[], bool],
          more: Callable[[int], list] | None = None) -> int:
    """Draw ``wanted`` into the ledger, each record as it comes (so ``over()`` sees it); how many came."""
    got = 0
    for rec in sample(wanted, over, more):
        ledger.add(rec)
        got += 1
    return got


def _top_up(ledger: Ledger, n: int, label: str) -> list[tuple[int, int, int, str]]:
    """Samples that bring every pair to ``n``."""
    return [(int(p), int(c), int(ledger.next_index[p, c]) + j, label)
            for p, c in np.argwhere(ledger.n < n) for j in range(n - int(ledger.n[p, c]))]


def run_uniform(ledger: Ledger, budget: ProfileBudget, sample: Sampler, *, cap: int,
                spent: Callable[[], float]) -> AdaptiveResult:
    """The uniform strategy under a budget: every pair one more sample, level by level, to ``cap``."""
    for level in range(1, cap + 1):
        if spent() >= budget.amount:
            return AdaptiveResult(0, "budget", ledger.samples, spent(), budget.amount, budget.unit, "uniform")
        wanted = _top_up(ledger, level, "uniform")
        if wanted and not _take(ledger, sample, wanted, lambda: spent() >= budget.amount):
            break
    stopped = "budget" if spent() >= budget.amount else "cap"
    return AdaptiveResult(0, stopped, ledger.samples, spent(), budget.amount, budget.unit, "uniform")
