"""The answer tally of every prefix of many replayed sequences, built in one pass.

Replay needs, for every row (a problem in one random order) and every step, what the
stopping rules read: the leader's and runner-up's counts, the distinct answers, the
entropy sum, the streak, and the whole sorted count vector (for ``bayes``), kept as an
index into the distinct vectors seen.
"""

from __future__ import annotations

import numpy as np

from inferplan.policy.confidence_vote import vote_weight
from inferplan.policy.tally import Tally


def tally_prefixes(ans: np.ndarray, answer_correct: np.ndarray, rng: np.random.Generator,
                   conf: np.ndarray | None = None) -> tuple[Tally, np.ndarray, np.ndarray]:
    """Incremental tally of every prefix; the vote leader breaks ties uniformly at random.
    ``conf``: the samples' confidences for the weighted totals (:func:`weighted_totals`)."""
    rows, L = ans.shape
    K = answer_correct.shape[1]
    if (ans < 0).all():  # no answers recorded (e.g. verifier-only counts): nothing to tally
        z = np.zeros((rows, L))
        n = np.broadcast_to(np.arange(1, L + 1, dtype=np.float64), (rows, L))
        return Tally(n=n, k=z, v1=z, v2=z, m=z, s=z, run=z, last_lead=z.astype(bool)), z.astype(bool), z.astype(bool)
    counts = np.zeros((rows, K + 1), dtype=np.int64)  # column K collects abstentions (ignored)
    prio = rng.random((rows, K + 1))
    r = np.arange(rows)
    best = np.full(rows, K)
    v1 = np.zeros(rows, dtype=np.int64)
    v2 = np.zeros(rows, dtype=np.int64)
    m = np.zeros(rows, dtype=np.int64)
    k = np.zeros(rows, dtype=np.int64)
    s = np.zeros(rows)
    run = np.zeros(rows, dtype=np.int64)
    last = np.full(rows, -1)
    fields = {f: np.zeros((rows, L)) for f in ("k", "v1", "v2", "m", "s", "run")}
    last_lead = np.zeros((rows, L), dtype=bool)
    lead_ok = np.zeros((rows, L), dtype=bool)
    lead_has = np.zeros((rows, L), dtype=bool)
    sig = np.zeros((rows, L), dtype=np.int64)
    registry: dict[int, tuple[int, int, tuple[int, ...]]] = {}
    salt = np.random.default_rng(0x5EED).integers(1, 2**63, size=L + 2, dtype=np.uint64)
    salt[0] = 0
    code = np.zeros(rows, dtype=np.uint64)
    for t in range(L):
        a = ans[:, t]
        has = a >= 0
        col = np.where(has, a, K)
        c_old = counts[r, col]
        c = c_old + has
        counts[r, col] = np.where(has, c, 0)
        m += has & (c_old == 0)
        k += has
        s += np.where(has, c * np.log(np.maximum(c, 1)) - c_old * np.log(np.maximum(c_old, 1)), 0.0)
        run = np.where(has, np.where(a == last, run + 1, 1), 0)
        last = np.where(has, a, -1)
        takes = has & ((c > v1) | ((c == v1) & (prio[r, col] > prio[r, best])))
        was_best = col == best
        # Runner-up: the old leader's count if a new answer takes over, else the max seen.
        v2 = np.where(takes & ~was_best, v1, np.where(has & ~takes, np.maximum(v2, c), v2))
        v1 = np.where(takes, c, v1)
        best = np.where(takes, col, best)
        fields["k"][:, t], fields["v1"][:, t], fields["v2"][:, t] = k, v1, v2
        fields["m"][:, t], fields["s"][:, t], fields["run"][:, t] = m, s, run
        last_lead[:, t] = has & (a == best)
        lead_has[:, t] = best < K
        lead_ok[:, t] = (best < K) & answer_correct[r, np.minimum(best, K - 1)]
        code += np.where(has, salt[c] - salt[c_old], np.uint64(0))  # uint64 wraps: a multiset hash
        sig[:, t] = _signature_ids(code, counts[:, :K], registry)
    n = np.broadcast_to(np.arange(1, L + 1, dtype=np.float64), (rows, L))
    fields["wlead"], fields["wtotal"] = weighted_totals(ans, conf, K)
    tally = Tally(n=n, last_lead=last_lead, sig=sig, signatures=tuple(v[2] for v in registry.values()), **fields)
    return tally, lead_ok, lead_has


def weighted_totals(ans: np.ndarray, conf: np.ndarray | None, K: int) -> tuple[np.ndarray, np.ndarray]:
    """(largest confidence-weighted answer total, sum of answered weights) of every prefix.

    Each sample weighs exp(its lowest window mean logprob), 1 where unknown (or ``conf``
    None). Totals only grow, so only the answer just added can take the lead."""
    rows, L = ans.shape
    weight = np.ones((rows, L)) if conf is None else vote_weight(conf)
    totals = np.zeros((rows, K + 1))
    lead, total = np.zeros((rows, L)), np.zeros((rows, L))
    r = np.arange(rows)
    best = np.zeros(rows)
    for t in range(L):
        has = ans[:, t] >= 0
        col = np.where(has, ans[:, t], K)
        totals[r, col] += np.where(has, weight[:, t], 0.0)
        best = np.where(has, np.maximum(best, totals[r, col]), best)
        lead[:, t] = best
        total[:, t] = (total[:, t - 1] if t else 0.0) + np.where(has, weight[:, t], 0.0)
    return lead, total


def _signature_ids(code: np.ndarray, counts: np.ndarray, registry: dict) -> np.ndarray:
    """Each row's sorted nonzero answer counts as an index into the registry (grown in place).

    ``code`` is an additive hash of the row's count multiset, kept up to date step by
    step, so only rows whose multiset is new to the registry are sorted. The registry
    maps a code to (index, count total, counts); two vectors with one code (a collision,
    about 2⁻⁶⁴ per pair) raise when their totals differ, which the step structure makes
    the likely case.
    """
    uniq, first, inv = np.unique(code, return_index=True, return_inverse=True)
    ids = np.empty(uniq.size, dtype=np.int64)
    for j, (h, row) in enumerate(zip(uniq.tolist(), first.tolist())):
        entry = registry.get(h)
        if entry is None:
            counts_row = counts[row]
            sg = tuple(sorted((int(c) for c in counts_row[counts_row > 0]), reverse=True))
            entry = registry[h] = (len(registry), sum(sg), sg)
        elif entry[1] != int(counts[row].sum()):
            raise RuntimeError("answer-count hash collision in replay")
        ids[j] = entry[0]
    return ids[inv.ravel()]
