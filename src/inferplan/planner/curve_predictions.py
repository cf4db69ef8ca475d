"""Fixed-N plans that need more samples than were recorded: predicted by the fitted curves.

Replay can only spend the samples a profile holds. For larger N the planner asks
the fitted models instead (issue 5 §4):

* ``oracle`` (first pass, perfect verifier): the difficulty model's posterior draws
  of each problem's per-configuration success rates p. A mix draws configurations
  on the replay's schedule, so after t draws the query is still unsolved with
  probability Π_q (1 − p_q)^{n_q(t)}; the query stops at its first pass, so the
  expected samples are Σ_{t<N} P(unsolved after t) and the cost follows the same
  sum with each draw's per-sample cost.
* ``vote`` (one configuration): :class:`MajorityCurve` gives maj@N per problem (exact
  up to the recorded n, its fitted answer model beyond); every query spends N samples.

Both give per-problem expectations, i.e. an :class:`Outcome` like a replay's, so the
held-out interval is the same bootstrap over problems. Every such candidate is
marked ``extrapolated`` and reported as predicted by the fitted curve.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from inferplan.fitting.curves import MajorityCurve
from inferplan.fitting.model_select import DIFFICULTY_FAMILIES, make_difficulty
from inferplan.planner.mix_allocation import greedy, recorded_slots, success_rates
from inferplan.policy.aggregate import Aggregation
from inferplan.replay.traces import Dense, Outcome, estimate, schedule
from inferplan.stats.estimate import PerQuery
from inferplan.stats.intervals import bootstrap_indices, widen_to_binomial

DEFAULT_FAMILY = "beta-binomial-averaged"  # the fit's preferred family
DRAWS = 256  # posterior draws of p per problem
ALLOC_DRAWS = 48  # enough to rank allocations; predictions use all DRAWS
MAX_FACTOR = 32  # never extrapolate past this many times the recorded samples
MAX_N = 1024
NOTE = "predicted by the fitted curve, beyond the {n} recorded samples"


def supported(agg: Aggregation, mix_shares: tuple[float, ...]) -> bool:
    """Which plans the fitted models can predict: perfect-verifier first pass, or plain majority vote
    of one configuration."""
    if agg.first_pass:
        return agg.false_positive == 0
    return agg.majority and agg.penalty == 0 and sum(s > 0 for s in mix_shares) == 1


@dataclass
class Extrapolator:
    """Fitted models of one split's problems (fitted lazily, once each)."""

    dense: Dense
    agg: Aggregation
    seed: int = 0
    family: str = DEFAULT_FAMILY  # the difficulty family whose posterior predicts

    def __post_init__(self) -> None:
        n, c = success_rates(self.dense)
        self.n = n
        # Mean cost of one sample of each (problem, config), and the per-query overhead.
        total = np.where(recorded_slots(self.dense), self.dense.cost, 0.0).sum(axis=2)
        per = total / np.maximum(n, 1)
        fallback = total.sum(axis=0) / np.maximum(n.sum(axis=0), 1)  # configs a problem lacks
        self.sample_cost = np.where(n > 0, per, fallback[None, :])
        self._p: dict[str, np.ndarray] = {}
        self._c = c
        self._maj: dict[int, MajorityCurve] = {}
        self._curves: dict = {}

    def draws(self, family: str | None = None) -> np.ndarray:
        """(S, P, Q) posterior draws of per-problem success rates under a difficulty family.

        Predictions use ``self.family`` (the fit's choice); the others only widen the
        interval (see :meth:`estimate`).
        """
        family = family or self.family
        if family not in self._p:
            model = make_difficulty(family, self.seed).fit(self.n.astype(np.int64), self._c.astype(np.int64))
            self._p[family] = model.sample_p(np.random.default_rng(self.seed), size=DRAWS)
        return self._p[family]

    def recorded(self, shares: tuple[float, ...]) -> int:
        """Draws of the mix that the recorded samples cover on every problem (as replay)."""
        w = np.asarray(shares)
        used = w > 0
        return int(max(1, np.floor((self.n.min(axis=0)[used] / w[used]).min())))

    def grid(self, shares: tuple[float, ...], ns: tuple[int, ...]) -> list[int]:
        """The N of ``ns`` this mix can only reach by extrapolation (within MAX_FACTOR × recorded)."""
        rec = self.recorded(shares)
        return [n for n in ns if rec < n <= min(MAX_N, MAX_FACTOR * rec)]

    def outcomes(self, shares: tuple[float, ...], ns: list[int]) -> dict[int, Outcome]:
        """Per-problem expected accuracy, cost and samples of fixed-N plans of this mix."""
        if not ns:
            return {}
        if self.agg.first_pass:
            return self._first_pass(shares, ns)
        return self._majority(int(np.flatnonzero(np.asarray(shares) > 0)[0]), ns)

    def _unsolved(self, shares: tuple[float, ...], top: int) -> tuple[np.ndarray, np.ndarray]:
        """(P, top + 1) P(still unsolved after t draws), and the schedule of the draws."""
        key = (shares, top)
        if key not in self._curves:
            sched = schedule(np.asarray(shares), top)
            Q = len(shares)
            # Draws of each configuration made before step t (t = 0 … top).
            before = np.zeros((top + 1, Q))
            before[np.arange(1, top + 1), sched] = 1.0
            before = np.cumsum(before, axis=0)
            # The curve is smooth and decreasing in t: evaluate it exactly at every t ≤ 64,
            # then on a geometric grid, and interpolate between (keeps plan fast at N = 1024).
            grid = np.unique(np.r_[np.arange(min(top, 64) + 1), np.geomspace(64, max(top, 64), 64).round().astype(int)])
            grid = grid[grid <= top]
            log_miss = self._log_miss()
            S, P, _ = log_miss.shape
            at = np.exp(log_miss.reshape(S * P, Q) @ before[grid].T).reshape(S, P, len(grid)).mean(axis=0)
            t = np.arange(top + 1)
            unsolved = np.stack([np.interp(t, grid, row) for row in at])
            self._curves[key] = (unsolved, sched)
        return self._curves[key]

    def _log_miss(self, family: str | None = None) -> np.ndarray:
        return np.log1p(-np.minimum(self.draws(family), 1 - 1e-12))  # (S, P, Q)

    def _first_pass(self, shares: tuple[float, ...], ns: list[int]) -> dict[int, Outcome]:
        unsolved, sched = self._unsolved(shares, max(MAX_N, max(ns)))
        top = max(ns)
        # Draw t happens only if the query is still unsolved after t draws.
        step_cost = self.sample_cost[:, sched[:top]] * unsolved[:, :top]
        cum_cost = np.cumsum(step_cost, axis=1)
        cum_samples = np.cumsum(unsolved[:, :top], axis=1)
        return {n: Outcome(1.0 - unsolved[:, n], cum_cost[:, n - 1] + self.dense.overhead, cum_samples[:, n - 1])
                for n in ns}

    def estimate(self, shares: tuple[float, ...], n: int, *, boot: int = 1000) -> PerQuery:
        """Held-out prediction of fixed-``n`` with a 95% interval.

        For first pass the interval resamples problems AND posterior draws: each
        bootstrap replicate scores resampled problems under one joint draw of their
        success rates, so it carries the model's uncertainty about each problem (whose
        pass@n is near 0 or 1 at large n), not only the spread of smoothed means. A few
        samples per problem cannot tell "unsolvable" from "hard", and the families
        disagree most exactly there, so the interval spans every difficulty family's.
        """
        est = estimate(self.outcomes(shares, [n])[n], boot=boot, seed=self.seed)
        if not self.agg.first_pass:
            return est  # maj@n: MajorityCurve's posterior draws are inside each problem's value; bootstrap over problems
        sched = schedule(np.asarray(shares), n)
        k = np.bincount(sched, minlength=len(shares)).astype(np.float64)
        lo, hi = np.inf, -np.inf
        for family in DIFFICULTY_FAMILIES:
            per_draw = 1.0 - np.exp(self._log_miss(family) @ k)  # (S, P) pass@n per problem per draw
            rng = np.random.default_rng(self.seed)
            S, P = per_draw.shape
            rows = rng.integers(0, S, size=boot)
            cols = bootstrap_indices(P, boot, rng)
            f_lo, f_hi = np.quantile(per_draw[rows[:, None], cols].mean(axis=1), [0.025, 0.975])
            lo, hi = min(lo, float(f_lo)), max(hi, float(f_hi))
        lo, hi = widen_to_binomial(lo, hi, est.accuracy.point, est.problems, est.accuracy.level)
        return replace(est, accuracy=replace(est.accuracy, interval=(float(lo), float(hi))))

    def _majority(self, config: int, ns: list[int]) -> dict[int, Outcome]:
        if config not in self._maj:
            d = self.dense
            K = d.answer_correct.shape[1]
            valid = np.arange(d.answer.shape[2])[None, :] < d.count[:, config][:, None]
            ans = d.answer[:, config, :]
            counts = np.zeros((d.n_problems, K))
            pi, si = np.nonzero(valid & (ans >= 0))
            np.add.at(counts, (pi, ans[pi, si]), 1.0)
            self._maj[config] = MajorityCurve(random_state=self.seed).fit(counts, d.answer_correct, self.n[:, config])
        acc = self._maj[config].problem_maj_at_k(np.asarray(ns))
        unit = self.sample_cost[:, config]
        return {n: Outcome(acc[:, j], n * unit + self.dense.overhead, np.full(len(unit), float(n)))
                for j, n in enumerate(ns)}

    def allocate(self, budget_samples: float, unit_cost: np.ndarray) -> tuple[int, ...]:
        """A pass@k mix for ``budget_samples`` draws under the fitted model (no recorded-sample limit)."""
        log_miss = self._log_miss()[:ALLOC_DRAWS]

        def coverage(k: np.ndarray) -> float:
            return float(1.0 - np.exp(log_miss @ k).mean())

        cost = unit_cost / float(np.mean(unit_cost))
        return greedy(coverage, cost, budget_samples).counts


def extrapolation_family(fit_family: str | None) -> tuple[str, str | None]:
    """The difficulty family the planner extrapolates with, given the fit's chosen family,
    and a note when it cannot be the same one.

    Plans need per-problem predictions (for mixes, first-pass stopping and held-out
    intervals); the power law models only the population curve, so when the fit
    chose it the planner keeps the preferred difficulty family and says so.
    """
    if fit_family is None or fit_family in DIFFICULTY_FAMILIES:
        return fit_family or DEFAULT_FAMILY, None
    return DEFAULT_FAMILY, (f"the fit chose {fit_family}, which predicts the population curve only; "
                            f"per-problem extrapolation uses {DEFAULT_FAMILY}")
