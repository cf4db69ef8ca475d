"""The planner's search space: which configuration mixes and per-sample token caps to try."""

from __future__ import annotations

import numpy as np

from inferplan.planner.candidates import Mix
from inferplan.planner.curve_predictions import Extrapolator
from inferplan.planner.mix_allocation import allocate_pass_at_k, allocate_vote
from inferplan.policy.aggregate import Aggregation
from inferplan.profiles.store import SampleTable
from inferplan.replay.traces import Dense


def mixes(table: SampleTable, dense, agg: Aggregation, unit_cost: np.ndarray, budget: float | None,
           ex: Extrapolator | None = None) -> list[Mix]:
    """Single configurations, plus allocated mixes when the profile has several.

    With an extrapolator (oracle), pass@k mixes are also allocated under the fitted
    model at sizes the recorded samples cannot reach.
    """
    C = len(table.configs)
    have = dense.count.min(axis=0) > 0
    mixes = [Mix(tuple(float(i == c) for i in range(C)), table.configs[c].name) for c in range(C) if have[c]]
    if C > 1 and have.sum() > 1:
        budgets = {4.0, 16.0, 64.0}
        if budget is not None:
            budgets.add(max(1.0, budget / float(np.mean(unit_cost))))
        for b in sorted(budgets):
            b_cost = b * float(np.mean(unit_cost))
            alloc = (allocate_pass_at_k(dense, b_cost, unit_cost) if agg.first_pass
                     else allocate_vote(dense, b_cost, unit_cost, sims=64))
            k = np.asarray(alloc.counts, dtype=float)
            if k.sum() > 0 and (k > 0).sum() > 1:
                mixes.append(Mix(tuple(k / k.sum()), "mix@" + "+".join(
                    f"{table.configs[i].name}×{int(k[i])}" for i in np.flatnonzero(k))))
        if ex is not None and agg.first_pass:
            sizes = {64.0, 256.0} | ({budget / float(np.mean(unit_cost)) * f for f in (1, 2, 4)} if budget else set())
            for b in sorted(sizes):
                if b <= float(dense.count.min()):
                    continue  # the recorded samples' own allocation covers it
                k = np.asarray(ex.allocate(b, unit_cost), dtype=float)
                if k.sum() > 0 and (k > 0).sum() > 1:
                    mixes.append(Mix(tuple(k / k.sum()), "fit-mix@" + "+".join(
                        f"{table.configs[i].name}×{int(k[i])}" for i in np.flatnonzero(k))))
    return list({m.shares: m for m in mixes}.values())


def caps(dense: Dense, unit: str) -> list[int | None]:
    """Per-sample max-token caps worth trying (only when tokens are what costs).

    Quantiles of the completion lengths of ``dense``'s problems — the training problems:
    every choice the planner makes must be blind to the held-out ones it is judged on.
    """
    tok = dense.tokens[~np.isnan(dense.tokens)]  # padding slots are nan
    if unit == "samples" or tok.size == 0:
        return [None]
    return [None] + sorted({int(np.quantile(tok, q)) for q in (0.99, 0.95, 0.9)}, reverse=True)


def budgets(dense: Dense, unit: str, thinking: bool = True) -> list[tuple[int | None, bool]]:
    """(cap, forced) pairs to try: the plain caps, then (``thinking``) every thinking budget the
    profile probed (a sample still thinking there is made to answer; ``replay.budgets.at_budget``)."""
    plain = [(cap, False) for cap in caps(dense, unit)]
    if dense.probes is None or unit == "samples":
        return plain
    # The probed depths as plain caps too: what a user could get by lowering --max-tokens alone.
    plain += [(d, False) for d in dense.probes.depths if (d, False) not in plain]
    return plain + ([(d, True) for d in dense.probes.depths] if thinking else [])
