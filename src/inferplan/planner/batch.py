"""Replay one budget over a batch of queries on recorded samples (issue 33).

Each query's recorded samples are read in a seeded random order (its *stream*); an allocation
decides which query draws its next sample. The replay records, after every sample, the total
cost so far, how many queries' votes agree with a reference answer (the vote of all recorded
samples: the self-consistency rate) and how many are correct — so one run answers both "what
does it cost to reach 99% self-consistency" and "what accuracy at this total".

- :func:`replay_batch`: the knowledge-gradient allocator (offline, every query known).
- :func:`replay_uniform`: round robin, every query one more sample in turn.
- :func:`inferplan.planner.batch_online.replay_online`: queries one at a time (PETS online).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from inferplan.policy.batch_allocation import BatchAllocator


@dataclass(frozen=True)
class Streams:
    """The samples of a batch, each query's in the order it would draw them."""

    answers: tuple[np.ndarray, ...]  # per query: answer ids in draw order (−1: no answer)
    costs: tuple[np.ndarray, ...]  # per query: each sample's cost (tokens, or 1)
    reference: np.ndarray  # (Q,) the answer of the vote over every recorded sample (−1: none)
    correct: tuple[frozenset[int], ...]  # per query: the answer ids graded correct
    tied: tuple[frozenset[int], ...] = ()  # per query: every answer tied for the most recorded samples

    @property
    def n(self) -> int:
        return len(self.answers)


def reference_answer(answers: np.ndarray) -> int:
    """The plurality answer of all recorded samples; ties go to the one recorded first."""
    a = answers[answers >= 0]
    if a.size == 0:
        return -1
    ids, first, counts = np.unique(a, return_index=True, return_counts=True)
    best = np.flatnonzero(counts == counts.max())
    return int(ids[best[np.argmin(first[best])]])


def make_streams(answers: Sequence[np.ndarray], costs: Sequence[np.ndarray], correct: Sequence[frozenset[int]],
                 seed: int) -> Streams:
    """Streams in a seeded random order; the reference is the vote over every recorded sample."""
    rng = np.random.default_rng(seed)
    perms = [rng.permutation(len(a)) for a in answers]
    return Streams(tuple(np.asarray(a)[p] for a, p in zip(answers, perms)),
                   tuple(np.asarray(c, dtype=np.float64)[p] for c, p in zip(costs, perms)),
                   np.array([reference_answer(np.asarray(a)) for a in answers]), tuple(correct),
                   tuple(top_answers(np.asarray(a)) for a in answers))


def top_answers(answers: np.ndarray) -> frozenset[int]:
    """Every answer with the most recorded samples: with a tie, agreeing with any is agreeing
    with the infinite-sample majority as far as the recorded samples can tell."""
    a = answers[answers >= 0]
    if a.size == 0:
        return frozenset()
    ids, counts = np.unique(a, return_counts=True)
    return frozenset(int(i) for i in ids[counts == counts.max()])


@dataclass(frozen=True)
class BatchTrace:
    """After each drawn sample: the total cost, and queries agreeing / correct (index 0: nothing drawn)."""

    cost: np.ndarray  # (T + 1,) cumulative cost
    agree: np.ndarray  # (T + 1,) queries whose vote is the reference answer
    correct: np.ndarray  # (T + 1,) queries whose vote is correct
    samples: np.ndarray  # (Q,) samples each query got in the end
    n: int
    final_agree: np.ndarray | None = None  # (Q,) bool: the query's vote in the end agrees with the reference
    final_correct: np.ndarray | None = None  # (Q,) bool: … is correct

    def at(self, total: float) -> tuple[float, float]:
        """(self-consistency rate, accuracy) when the total first would pass ``total``."""
        i = int(np.searchsorted(self.cost, total, side="right")) - 1
        return self.agree[i] / self.n, self.correct[i] / self.n

    def cost_to_reach(self, rate: float) -> float:
        """The total cost at which the self-consistency rate first reaches ``rate`` (nan: never)."""
        hit = np.flatnonzero(self.agree >= rate * self.n - 1e-9)
        return float(self.cost[hit[0]]) if hit.size else float("nan")


class VoteCounts:
    """Incremental plurality votes (ties: the answer drawn first) with agreement bookkeeping."""

    def __init__(self, streams: Streams) -> None:
        self.s = streams
        self.counts: list[dict[int, int]] = [{} for _ in range(streams.n)]
        self.first: list[dict[int, int]] = [{} for _ in range(streams.n)]
        self.vote = np.full(streams.n, -1)
        self.taken = np.zeros(streams.n, dtype=np.int64)
        self.agree = 0
        self.correct = 0
        self.total = 0.0
        self.log_cost, self.log_agree, self.log_correct = [0.0], [0], [0]

    def exhausted(self, q: int) -> bool:
        return self.taken[q] >= len(self.s.answers[q])

    def passes(self, q: int, budget: float) -> bool:
        """Whether ``q``'s next sample would take the total past ``budget`` (a hard total stops before it)."""
        return self.total + float(self.s.costs[q][int(self.taken[q])]) > budget

    def draw(self, q: int) -> tuple[int, float]:
        i = int(self.taken[q])
        a, c = int(self.s.answers[q][i]), float(self.s.costs[q][i])
        self.taken[q] += 1
        self.total += c
        if a >= 0:
            cnt, first = self.counts[q], self.first[q]
            cnt[a] = cnt.get(a, 0) + 1
            first.setdefault(a, i)
            old = self.vote[q]
            if old < 0 or cnt[a] > cnt[old]:  # a tie keeps the earlier answer
                self._set(q, a)
        self.log_cost.append(self.total)
        self.log_agree.append(self.agree)
        self.log_correct.append(self.correct)
        return a, c

    def _set(self, q: int, a: int) -> None:
        old = self.vote[q]
        if old >= 0:
            self.agree -= int(self._agrees(q, old))
            self.correct -= int(old in self.s.correct[q])
        self.vote[q] = a
        self.agree += int(self._agrees(q, a))
        self.correct += int(a in self.s.correct[q])

    def _agrees(self, q: int, a: int) -> bool:
        return a in self.s.tied[q] if self.s.tied else a == self.s.reference[q]

    def trace(self) -> BatchTrace:
        agree = np.array([v >= 0 and self._agrees(q, int(v)) for q, v in enumerate(self.vote)], dtype=bool)
        correct = np.array([v >= 0 and int(v) in self.s.correct[q] for q, v in enumerate(self.vote)], dtype=bool)
        return BatchTrace(np.array(self.log_cost), np.array(self.log_agree), np.array(self.log_correct),
                          self.taken.copy(), self.s.n, agree, correct)


def replay_uniform(streams: Streams, budget: float | None = None, *, hard: bool = False) -> BatchTrace:
    """Round robin over the queries (each gets one more sample in turn) until ``budget`` or exhaustion;
    ``hard``: the first sample that would pass ``budget`` is not drawn, and nothing after it."""
    v = VoteCounts(streams)
    budget = np.inf if budget is None else budget
    while v.total < budget:
        open_q = [q for q in range(streams.n) if not v.exhausted(q)]
        if not open_q:
            break
        for q in open_q:
            if v.total >= budget or (hard and v.passes(q, budget)):
                return v.trace()
            v.draw(q)
    return v.trace()


def replay_batch(streams: Streams, budget: float | None = None, *, make: Callable[[int], BatchAllocator] | None = None,
                 warmup: int = 1, stop_at_full: bool = True, hard: bool = False) -> BatchTrace:
    """``warmup`` samples per query in turn (PETS's warm-up: every query gets an answer), then the
    knowledge-gradient allocation until ``budget`` is spent, every stream is exhausted or
    (``stop_at_full``, a measuring shortcut that changes no decision) every vote agrees; ``hard``: as
    :func:`replay_uniform`."""
    alloc = (make or (lambda n: BatchAllocator(n)))(streams.n)
    v = VoteCounts(streams)
    budget = np.inf if budget is None else budget
    for _ in range(warmup):
        for q in range(streams.n):
            if v.total < budget and not v.exhausted(q) and alloc.is_open(q):
                if hard and v.passes(q, budget):
                    return v.trace()
                a, c = v.draw(q)
                alloc.observe(q, None if a < 0 else a, c)
    while v.total < budget and not (stop_at_full and v.agree == streams.n):
        q = alloc.choose()
        if q is None or (hard and v.passes(q, budget)):
            break
        a, c = v.draw(q)
        alloc.observe(q, None if a < 0 else a, c)
        if v.exhausted(q):
            alloc.close(q)
    return v.trace()
