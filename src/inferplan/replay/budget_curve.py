"""Accuracy per sample against the thinking budget: a plain cap beside a forced answer.

From a profile with answer-now probes (``profile --probes``): at each probed depth, how
many samples were still thinking there, what one sample scores when a sample still
thinking abstains (a plain cap) and when it is made to answer (its probe), how many are
censored (no answer: cut under a plain cap; forced but nothing extractable), how often a
forced answer ran on to ``answer_tokens`` (the *escape rate*), and the tokens a sample
costs. Intervals are Jeffreys intervals with the number of problems as the sample size,
as for pass@1 (samples of one problem are correlated).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from inferplan.profiles.probes import NOT_PROBED
from inferplan.profiles.store import SampleTable
from inferplan.stats.intervals import beta_interval

LEVEL = 0.95


@dataclass(frozen=True)
class BudgetRow:
    budget: int  # thinking tokens a sample may spend
    thinking: float  # share of samples still thinking at the budget
    plain: float  # accuracy per sample, a sample still thinking abstains
    plain_ci: tuple[float, float]
    forced: float  # accuracy per sample, a sample still thinking is made to answer
    forced_ci: tuple[float, float]
    censored_plain: float  # share with no answer because of the budget, plain cap
    censored_forced: float  # share made to answer with nothing extractable
    escaped: float  # of the forced answers, share that did not end by answer_tokens
    tokens_plain: float  # mean tokens per sample
    tokens_forced: float


def _per_problem(problem: np.ndarray, values: np.ndarray, P: int) -> tuple[float, tuple[float, float]]:
    """Mean over problems of the per-sample mean, and its Jeffreys interval (n = problems)."""
    n = np.bincount(problem, minlength=P)
    has = n > 0
    frac = np.bincount(problem, weights=values.astype(float), minlength=P)[has] / n[has]
    m = float(frac.mean())
    low, high = beta_interval(m * has.sum(), has.sum(), LEVEL)
    return m, (float(low), float(high))


def _rows(table: SampleTable, problems: np.ndarray | None) -> np.ndarray:
    """The samples of ``problems`` (indices; None: all), as a mask."""
    return np.ones(table.n_samples, bool) if problems is None else np.isin(table.problem, problems)


def _cut(tokens: np.ndarray, truncated: np.ndarray, budget: int | None) -> np.ndarray:
    """Samples still thinking at ``budget`` (None: the profile's own cap): longer than it, or cut
    at the cap exactly there."""
    return truncated.copy() if budget is None else (tokens > budget) | (truncated & (tokens >= budget))


def budget_curve(table: SampleTable, problems: np.ndarray | None = None) -> tuple[BudgetRow, ...]:
    """One row per probed depth (the last is the cap), over ``problems`` (indices; default all);
    () for a profile without forced answers."""
    cols = table.probes
    rows = _rows(table, problems)
    if cols is None or not rows.any():
        return ()
    problem, correct = table.problem[rows], table.correct[rows]
    tokens, truncated = np.nan_to_num(table.completion_tokens[rows]), table.truncated[rows]
    out = []
    for j, d in enumerate(cols.depths):
        answer = cols.answer[rows, j]
        asked = answer != NOT_PROBED
        cut = asked | _cut(tokens, truncated, d)
        plain_ok = correct & ~cut
        forced_ok = np.where(asked, cols.correct[rows, j], plain_ok)
        spent = np.where(asked, d + np.nan_to_num(cols.tokens[rows, j]), np.minimum(tokens, d))
        plain, plain_ci = _per_problem(problem, plain_ok, len(table.problems))
        forced, forced_ci = _per_problem(problem, forced_ok, len(table.problems))
        out.append(BudgetRow(
            d, float(cut.mean()), plain, plain_ci, forced, forced_ci, float(cut.mean()),
            float(((cut & ~asked) | (asked & (answer == -1))).mean()),
            float((~cols.ended[rows, j][asked]).mean()) if asked.any() else 0.0,
            float(np.minimum(tokens, d).mean()), float(spent.mean())))
    return tuple(out)


def probe_overhead(table: SampleTable) -> float | None:
    """Tokens the profile spent with its forced answers and probes over what its samples alone
    spent (completion tokens up to the cap): the price of recording the budgets."""
    cols = table.probes
    if cols is None:
        return None
    plain = float(np.nansum(table.completion_tokens))
    return (plain + float(np.nansum(cols.tokens))) / plain if plain else None


def censored_share(table: SampleTable, problems: np.ndarray | None = None, cap: int | None = None,
                   forced: bool = False) -> float:
    """Share of the samples of ``problems`` left with no answer by the token cap — cut (a plain cap;
    ``cap`` None: the profile's own), or made to answer with nothing readable (``forced``)."""
    rows = _rows(table, problems)
    if not rows.any():
        return 0.0
    cut = _cut(np.nan_to_num(table.completion_tokens), table.truncated, cap)
    cols = table.probes
    if forced and cols is not None and cap in cols.depths:
        answer = cols.answer[:, cols.depths.index(cap)]
        cut = np.where(answer != NOT_PROBED, answer == -1, cut)
    return float(cut[rows].mean())


def censored_line(share: float) -> str | None:
    """The line every command that reports accuracy prints when samples were censored."""
    if share <= 0:
        return None
    return (f"censored: {100 * share:.1f}% of samples ended at the token cap with no answer — abstentions, "
            "not counted as wrong answers, and no vote (profile show: the thinking-budgets table, where recorded)")
