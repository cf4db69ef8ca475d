"""Replay stopping rules on recorded samples, vectorised over problems × permutations.

For each problem we draw R random orders of its recorded samples (per
configuration; a mix interleaves the configurations on a fixed schedule), run
the answer tally once over every prefix, and then any number of rules is a
cheap array operation on that :class:`Trace`: find the first step where the rule
stops, read the answer it would return there, charge the cost of the samples
actually consumed. Intervals bootstrap over problems (samples of one problem are
correlated, so resampling samples would be too narrow).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from inferplan.errors import InputError
from inferplan.policy.aggregate import Aggregation, score, step_outcomes
from inferplan.policy.stopping import StoppingRule, Tally
from inferplan.policy.termination import Termination
from inferplan.profiles.store import SampleTable
from inferplan.replay.budgets import DenseProbes, dense_probes
from inferplan.replay.cost import CostModel
from inferplan.replay.tally import tally_prefixes
from inferplan.replay.termination import padded_lows, terminated
from inferplan.stats.estimate import LEVEL, Estimate, PerQuery
from inferplan.stats.intervals import bootstrap_mean, widen_to_binomial


@dataclass(frozen=True)
class Dense:
    """Samples of chosen problems as padded ``(problem, config, slot)`` arrays."""

    problem_index: np.ndarray  # (P,) rows of table.problems
    answer: np.ndarray  # (P, C, N) int32, −1 = no answer
    correct: np.ndarray  # (P, C, N) bool
    cost: np.ndarray  # (P, C, N) float
    tokens: np.ndarray  # (P, C, N) completion tokens (nan unknown)
    score: np.ndarray  # (P, C, N) mean token logprob (nan unknown)
    count: np.ndarray  # (P, C) samples recorded
    answer_correct: np.ndarray  # (P, K) the answer id is a correct answer
    overhead: np.ndarray  # (P,) per-query cost paid once
    confidence: np.ndarray | None = None  # (P, C, N) lowest-window mean logprob (nan unknown)
    # Adaptive profile: a problem with fewer samples than a draw sequence needs is continued
    # by a Pólya urn over its own samples (see ``draw``) instead of ending the sequence.
    extend: bool = False
    # Each sample's recorded window-mean lows, padded (P, C, N, R): tokens (0) and means (+inf).
    lows_n: np.ndarray | None = None
    lows_v: np.ndarray | None = None
    # Forced answers per depth (profile --probes): what each sample answers at a thinking budget.
    probes: DenseProbes | None = None

    @property
    def n_problems(self) -> int:
        return int(self.count.shape[0])

    def reach(self, configs: np.ndarray) -> np.ndarray:
        """(len(configs),) draws of each configuration every problem's sequence can supply:
        the smallest count, or with ``extend`` the largest (short problems are continued)."""
        counts = self.count[:, configs]
        return counts.max(axis=0) if self.extend else counts.min(axis=0)


def densify(table: SampleTable, cost: CostModel, problems: np.ndarray | None = None) -> Dense:
    """Pack the samples of ``problems`` (indices into ``table.problems``; default all)."""
    if table.n_samples == 0:
        raise InputError("profile has no samples")
    p_all = np.arange(len(table.problems)) if problems is None else np.asarray(problems, dtype=np.int64)
    remap = np.full(len(table.problems), -1)
    remap[p_all] = np.arange(len(p_all))
    keep = remap[table.problem] >= 0
    pp, cc = remap[table.problem[keep]], table.config[keep]
    P, C = len(p_all), len(table.configs)
    count = np.zeros((P, C), dtype=np.int64)
    np.add.at(count, (pp, cc), 1)
    N = int(count.max()) if count.size else 0
    # Slot of each sample within its (problem, config): rank in table order.
    order = np.lexsort((np.arange(len(pp)), cc, pp))
    key = pp[order] * C + cc[order]
    starts = np.r_[0, np.flatnonzero(np.diff(key)) + 1]
    slot_sorted = np.arange(len(key)) - np.repeat(starts, np.diff(np.r_[starts, len(key)]))
    slot = np.empty_like(slot_sorted)
    slot[order] = slot_sorted
    idx = (pp, cc, slot)
    answer = np.full((P, C, N), -1, dtype=np.int32)
    correct = np.zeros((P, C, N), dtype=bool)
    costs = np.zeros((P, C, N))
    toks = np.full((P, C, N), np.nan)
    toks[idx] = table.completion_tokens[keep]
    sc = np.full((P, C, N), np.nan)
    answer[idx] = table.answer[keep]
    correct[idx] = table.correct[keep]
    costs[idx] = cost.sample_costs(table)[keep]
    with np.errstate(divide="ignore", invalid="ignore"):
        sc[idx] = (table.logprob / np.maximum(table.completion_tokens, 1))[keep]
    K = max(1, max((len(a) for a in table.answer_names), default=1))
    answer_correct = np.zeros((P, K), dtype=bool)
    ok = keep & (table.answer >= 0) & table.correct
    answer_correct[remap[table.problem[ok]], table.answer[ok]] = True
    conf = np.full((P, C, N), np.nan)
    if table.conf_low is not None:
        conf[idx] = table.conf_low[keep]
    lows_n, lows_v = padded_lows(table, keep, idx, (P, C, N))
    probes = dense_probes(table, keep, idx, (P, C, N))
    if probes is not None:  # a forced answer may be right where no sample's own answer was
        ok = probes.correct & (probes.answer >= 0)
        answer_correct[np.nonzero(ok)[0], probes.answer[ok]] = True
    return Dense(p_all, answer, correct, costs, toks, sc, count, answer_correct, cost.query_overhead(table, p_all),
                 conf, extend=table.adaptive, lows_n=lows_n, lows_v=lows_v, probes=probes)


def schedule(counts: dict[int, int] | np.ndarray, length: int) -> np.ndarray:
    """Config of each draw: smooth weighted round robin over the mix ``counts`` (shares)."""
    w = np.asarray(counts, dtype=np.float64)
    w = w / w.sum()
    used = np.zeros_like(w)
    out = np.empty(length, dtype=np.int64)
    for t in range(length):
        c = int(np.argmax(w * (t + 1) - used + 1e-12 * w))
        out[t] = c
        used[c] += 1
    return out


@dataclass(frozen=True)
class Trace:
    """Every prefix of every replayed sequence: tallies, outcomes and cumulative cost."""

    problem: np.ndarray  # (rows,) index into the Dense problems
    length: np.ndarray  # (rows,) samples available in this sequence
    tally: Tally  # fields shaped (rows, L)
    score: np.ndarray  # (rows, L) accuracy score if stopped after this step
    accepted: np.ndarray  # (rows, L) verifier accepted a sample (oracle)
    cumcost: np.ndarray  # (rows, L) cost of samples consumed so far (plus overhead)
    n_problems: int
    reps: int
    first_pass: bool


@dataclass(frozen=True)
class Draws:
    """The recorded samples each replayed row draws, in draw order (arrays ``(rows, length)``)."""

    problem: np.ndarray  # (rows,) index into the Dense problems
    length: np.ndarray  # (rows,) draws the row's data can supply
    valid: np.ndarray  # draw exists
    answer: np.ndarray
    correct: np.ndarray
    cost: np.ndarray
    score: np.ndarray
    tokens: np.ndarray
    conf: np.ndarray
    lows_n: np.ndarray | None = None  # (rows, length, R) as Dense's
    lows_v: np.ndarray | None = None


def draw(dense: Dense, mix: np.ndarray, length: int, reps: int, rng: np.random.Generator) -> Draws:
    """``reps`` random orders per problem of draws following the config ``mix``."""
    P, C, N = dense.answer.shape
    sched = schedule(mix, length)
    pos = np.zeros(length, dtype=np.int64)  # j-th use of its config
    seen = np.zeros(C, dtype=np.int64)
    for t, c in enumerate(sched):
        pos[t], seen[c] = seen[c], seen[c] + 1
    rows = P * reps
    prob = np.repeat(np.arange(P), reps)
    # A random order of each (row, config)'s recorded samples, only as deep as the draws
    # reach and only for configs in the mix (padding sorts last).
    used = np.flatnonzero(seen > 0)
    depth = int(min(N, seen.max()))
    keys = rng.random((rows, len(used), N))
    keys[~(np.arange(N)[None, None, :] < dense.count[prob][:, used][:, :, None])] = np.inf
    perm = np.argpartition(keys, depth - 1, axis=2)[:, :, :depth] if depth < N else np.argsort(keys, axis=2)
    if depth < N:  # argpartition leaves the first `depth` unordered: order them
        perm = np.take_along_axis(perm, np.argsort(np.take_along_axis(keys, perm, axis=2), axis=2), axis=2)
    local = np.full(C, -1)
    local[used] = np.arange(len(used))
    slot = perm[np.arange(rows)[:, None], local[sched][None, :], np.minimum(pos, depth - 1)[None, :]]
    avail = pos[None, :] < dense.count[prob][:, sched]
    if dense.extend:
        slot, avail = _polya(slot, avail, sched, pos, dense.count[prob][:, sched] > 0, rng)
    # The sequence ends at the first draw whose configuration has run out.
    seq_len = np.where(avail.all(axis=1), length, np.argmin(avail, axis=1))
    valid = np.arange(length)[None, :] < seq_len[:, None]
    pi, ci = prob[:, None], sched[None, :]
    return Draws(prob, seq_len, valid, np.where(valid, dense.answer[pi, ci, slot], -1),
                 valid & dense.correct[pi, ci, slot], np.where(valid, dense.cost[pi, ci, slot], 0.0),
                 dense.score[pi, ci, slot], np.where(valid, dense.tokens[pi, ci, slot], np.nan),
                 np.full(valid.shape, np.nan) if dense.confidence is None else dense.confidence[pi, ci, slot],
                 None if dense.lows_n is None else dense.lows_n[pi, ci, slot],
                 None if dense.lows_v is None else dense.lows_v[pi, ci, slot])


def _polya(slot: np.ndarray, avail: np.ndarray, sched: np.ndarray, pos: np.ndarray, has: np.ndarray,
           rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Continue each row past its configuration's recorded samples by a Pólya urn: the j-th
    draw of a configuration repeats one of that configuration's earlier j draws in the row,
    chosen uniformly. That is the posterior predictive of a Dirichlet over the problem's
    answers with no mass on unseen ones: an adaptive profile stopped sampling a problem
    because its answers had settled, and the urn keeps them as they were."""
    slot = slot.copy()
    columns = {c: np.flatnonzero(sched == c) for c in np.unique(sched)}
    for t in range(len(sched)):
        short = ~avail[:, t] & has[:, t]
        if pos[t] == 0 or not short.any():
            continue
        earlier = columns[sched[t]][rng.integers(0, pos[t], size=int(short.sum()))]
        slot[short, t] = slot[np.flatnonzero(short), earlier]
    return slot, avail | has


def tally_trace(dense: Dense, d: Draws, cumcost: np.ndarray, agg: Aggregation, reps: int,
                rng: np.random.Generator) -> Trace:
    """The trace of draws read in their given order, charged ``cumcost`` per prefix."""
    t, lead_ok, lead_has = tally_prefixes(d.answer, dense.answer_correct[d.problem], rng, d.conf)
    out = step_outcomes(agg, leader_correct=lead_ok, leader_exists=lead_has, seq_correct=d.correct,
                        seq_score=d.score, valid=d.valid, rng=rng, seq_answer=d.answer, seq_conf=d.conf,
                        answer_correct=dense.answer_correct[d.problem])
    return Trace(d.problem, d.length, t, score(out.right, out.wrong, agg), out.accepted, cumcost,
                 dense.n_problems, reps, agg.first_pass)


def trace(dense: Dense, mix: np.ndarray, length: int, agg: Aggregation, *, reps: int = 16, seed: int = 0,
          term: Termination | None = None) -> Trace:
    """Replay ``reps`` random orders per problem of draws following the config ``mix``
    (with online low-confidence termination ``term``)."""
    rng = np.random.default_rng(seed)
    d = draw(dense, mix, length, reps, rng)
    if term is not None:
        d = terminated(d, term)
    cum = np.cumsum(d.cost, axis=1) + dense.overhead[d.problem][:, None]
    return tally_trace(dense, d, cum, agg, reps, rng)


@dataclass(frozen=True)
class Outcome:
    """Per-problem means of one rule's replay (over the permutations)."""

    accuracy: np.ndarray  # (P,)
    cost: np.ndarray  # (P,)
    samples: np.ndarray  # (P,)

    def summary(self, *, boot: int = 1000, seed: int = 0) -> PerQuery:
        return estimate(self, boot=boot, seed=seed)


def first_stop(tr: Trace, rule: StoppingRule) -> np.ndarray:
    """First step where the rule (past its min guard) or the verifier stops a row; L if never."""
    L = tr.score.shape[1]
    hit = (tr.tally.n >= rule.min_samples) & np.asarray(rule.satisfied(tr.tally), dtype=bool)
    if tr.first_pass:
        hit = hit | tr.accepted
    return np.where(hit.any(axis=1), np.argmax(hit, axis=1), L)


def stop_steps(tr: Trace, rule: StoppingRule, first: np.ndarray | None = None) -> np.ndarray:
    """Index of the step at which each row stops (0-based), max guard and data length applied."""
    first = first_stop(tr, rule) if first is None else first
    return np.minimum(first, np.minimum(tr.length, rule.max_samples) - 1)


def evaluate(tr: Trace, rule: StoppingRule, first: np.ndarray | None = None) -> Outcome:
    """Replay ``rule`` on the trace; per-problem mean accuracy, cost and samples.

    Pass ``first`` (from :func:`first_stop`) to re-use one statistic pass for
    several max guards of the same rule.
    """
    stop = stop_steps(tr, rule, first)
    r = np.arange(len(stop))
    acc = tr.score[r, stop].reshape(tr.n_problems, tr.reps).mean(axis=1)
    cost = tr.cumcost[r, stop].reshape(tr.n_problems, tr.reps).mean(axis=1)
    samples = (stop + 1.0).reshape(tr.n_problems, tr.reps).mean(axis=1)
    return Outcome(acc, cost, samples)


def estimate(o: Outcome, *, boot: int = 1000, seed: int = 0) -> PerQuery:
    """Mean accuracy/cost over problems with 95% bootstrap-over-problems intervals (the accuracy's
    never narrower than the binomial one)."""
    (lo, clo), (hi, chi) = bootstrap_mean(np.column_stack([o.accuracy, o.cost]), LEVEL, boot, seed)
    P, (lo, hi) = len(o.accuracy), widen_to_binomial(lo, hi, o.accuracy.mean(), len(o.accuracy), LEVEL)
    return PerQuery(Estimate(float(o.accuracy.mean()), (float(lo), float(hi)), P),
                    Estimate(float(o.cost.mean()), (float(clo), float(chi)), P), float(o.samples.mean()))
