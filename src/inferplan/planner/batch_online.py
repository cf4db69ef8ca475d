"""Replay one budget over a stream of queries, one at a time (PETS online, issue 33).

After ``k0`` samples a query's budget is set by how much they agree — the self-consistency
each agreement bucket reaches per extra sample, priced on training problems — against a
running average of what the stream has spent, so the average per query holds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from inferplan.planner.batch import BatchTrace, Streams, VoteCounts


def agreement_bucket(first: np.ndarray, k0: int) -> int:
    """Difficulty from the first ``k0`` samples: how many of them the leading answer has (0…k0)."""
    a = first[first >= 0]
    return int(np.bincount(a).max()) if a.size else 0


@dataclass(frozen=True)
class OnlinePrices:
    """Per difficulty bucket (leader's count among the first ``k0``): the self-consistency rate
    after k samples (index k, k ≥ k0) and the mean cost of one sample, from training problems."""

    k0: int
    rate: np.ndarray  # (k0 + 1, N + 1), nan where unseen
    cost: np.ndarray  # (k0 + 1,) mean cost per sample
    share: np.ndarray  # (k0 + 1,) fraction of training queries in each bucket

    def targets(self, lam: float) -> np.ndarray:
        """Samples per bucket that maximise rate − λ·samples·cost on the rate's concave hull (≥ k0)."""
        out = np.full(len(self.cost), self.k0)
        for b in range(len(self.cost)):
            ks = _hull(self.rate[b], self.k0)
            if ks.size:
                out[b] = int(ks[np.argmax(self.rate[b][ks] - lam * ks * self.cost[b])])
        return out

    def spend(self, targets: np.ndarray) -> float:
        return float(self.share @ (targets * self.cost))

    def mix(self, per_query: float) -> tuple[np.ndarray, np.ndarray, float]:
        """Bucket targets spending ``per_query`` on average: (low, high, p) — the high targets
        with probability p, so the expected spend is exact though targets are whole samples."""
        lo, hi = 1e-12, 1.0
        while self.spend(self.targets(hi)) > per_query and hi < 1e9:
            hi *= 10
        for _ in range(60):
            mid = np.sqrt(lo * hi)
            lo, hi = (mid, hi) if self.spend(self.targets(mid)) > per_query else (lo, mid)
        small, big = self.targets(hi), self.targets(lo)
        s_small, s_big = self.spend(small), self.spend(big)
        p = 0.0 if s_big <= s_small else float(np.clip((per_query - s_small) / (s_big - s_small), 0, 1))
        return small, big, p


def _hull(rate: np.ndarray, k0: int) -> np.ndarray:
    """Sample counts (≥ k0) on the upper concave hull of a rate curve."""
    ks = [k for k in range(k0, len(rate)) if np.isfinite(rate[k])]
    hull: list[int] = []
    for k in ks:
        while len(hull) >= 2:
            a, b = hull[-2], hull[-1]
            if (rate[b] - rate[a]) * (k - a) <= (rate[k] - rate[a]) * (b - a):
                hull.pop()
            else:
                break
        hull.append(k)
    return np.array(hull, dtype=np.int64)


def price_online(train: Streams, k0: int = 4, orders: int = 8, seed: int = 0) -> OnlinePrices:
    """Estimate :class:`OnlinePrices` on training streams read in ``orders`` random orders."""
    rng = np.random.default_rng(seed)
    N = max(len(a) for a in train.answers)
    hits = np.zeros((k0 + 1, N + 1))
    seen = np.zeros((k0 + 1, N + 1))
    cost = np.zeros(k0 + 1)
    ncost = np.zeros(k0 + 1)
    qcount = np.zeros(k0 + 1)
    for _ in range(orders):
        for q in range(train.n):
            p = rng.permutation(len(train.answers[q]))
            a, c = train.answers[q][p], train.costs[q][p]
            b = agreement_bucket(a[:k0], k0)
            qcount[b] += 1
            cost[b] += c.sum()
            ncost[b] += len(c)
            votes = _prefix_votes(a)
            ok = train.tied[q] if train.tied else {int(train.reference[q])}
            hits[b, 1: len(a) + 1] += np.isin(votes, list(ok))
            seen[b, 1: len(a) + 1] += 1
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(seen > 0, hits / np.maximum(seen, 1), np.nan)
        rate = np.fmax.accumulate(np.nan_to_num(rate, nan=-np.inf), axis=1)  # more samples never priced worse
        rate[seen == 0] = np.nan
    mean_cost = np.where(ncost > 0, cost / np.maximum(ncost, 1), np.nanmean(cost / np.maximum(ncost, 1)))
    return OnlinePrices(k0, rate, mean_cost, qcount / qcount.sum())


def _prefix_votes(a: np.ndarray) -> np.ndarray:
    """The vote after each prefix of ``a`` (ties: the answer drawn first)."""
    out = np.empty(len(a), dtype=np.int64)
    counts: dict[int, int] = {}
    vote = -1
    for i, x in enumerate(a):
        x = int(x)
        if x >= 0:
            counts[x] = counts.get(x, 0) + 1
            if vote < 0 or counts[x] > counts[vote]:
                vote = x
        out[i] = vote
    return out


def replay_online(streams: Streams, prices: OnlinePrices, per_query: float, *, window: int = 20,
                  seed: int = 0) -> BatchTrace:
    """Queries in stream order, one at a time: ``k0`` samples, then its bucket's target. The
    targets are priced for this query's allowance: ``per_query`` less the running overrun spread
    over ``window`` queries, so the average stays near ``per_query`` whatever the difficulty."""
    v = VoteCounts(streams)
    rng = np.random.default_rng(seed)
    mixes: dict[float, tuple[np.ndarray, np.ndarray, float]] = {}
    for q in range(streams.n):
        allow = float(np.clip(per_query - (v.total - q * per_query) / window, 0.25 * per_query, 4 * per_query))
        key = round(allow / per_query, 2)  # allowances within 1% share one pricing
        if key not in mixes:
            mixes[key] = prices.mix(key * per_query)
        small, big, p = mixes[key]
        for _ in range(prices.k0):
            if not v.exhausted(q):
                v.draw(q)
        b = agreement_bucket(streams.answers[q][: prices.k0], prices.k0)
        target = int(big[b] if rng.random() < p else small[b])
        while v.taken[q] < target and not v.exhausted(q):
            v.draw(q)
    return v.trace()
