"""Adapter: a profile's sample table → per-configuration, per-problem counts.

Estimators and curve fits never look at individual samples: pass@k needs (n_i, c_i),
maj@k the count of each distinct answer and which answers are correct, best-of-k the
per-sample scores. This module builds exactly those arrays for one configuration.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from inferplan.profiles.store import SampleTable


@dataclass(frozen=True)
class ConfigCounts:
    """Counts of one configuration over the problems that have samples for it."""

    config: str
    problems: tuple[str, ...]
    n: np.ndarray  # (P,) samples per problem
    c: np.ndarray  # (P,) correct samples per problem
    answer_counts: np.ndarray | None  # (P, A) samples per answer id; None if no answers known
    answer_correct: np.ndarray | None  # (P, A) whether that answer id is correct
    scores: tuple[np.ndarray, ...] | None  # per problem: mean token logprob per sample
    correct_flags: tuple[np.ndarray, ...] | None  # per problem: correctness per sample (with scores)

    @property
    def has_answers(self) -> bool:
        return self.answer_counts is not None


def config_counts(table: SampleTable, config: int) -> ConfigCounts:
    """Per-problem counts of configuration number ``config`` of ``table``."""
    sel = table.config == config
    prob = table.problem[sel]
    present = np.unique(prob)
    remap = np.full(len(table.problems), -1, dtype=np.int64)
    remap[present] = np.arange(present.size)
    p = remap[prob]
    n = np.bincount(p, minlength=present.size).astype(np.int64)
    c = np.bincount(p, weights=table.correct[sel], minlength=present.size).astype(np.int64)
    answer = table.answer[sel]
    counts = correct_ans = None
    if np.any(answer >= 0):
        width = int(answer.max()) + 1
        voted = answer >= 0
        counts = np.zeros((present.size, width), dtype=np.int64)
        np.add.at(counts, (p[voted], answer[voted]), 1)
        correct_ans = np.zeros((present.size, width), dtype=bool)
        ok = voted & table.correct[sel]
        correct_ans[p[ok], answer[ok]] = True
    scores = flags = None
    lp, toks = table.logprob[sel], table.completion_tokens[sel]
    if np.any(np.isfinite(lp)):
        # Mean token logprob: summed logprob favours short answers otherwise.
        mean_lp = lp / np.where(toks > 0, toks, np.nan)
        order = np.argsort(p, kind="stable")
        bounds = np.cumsum(n)[:-1]
        scores = tuple(np.split(mean_lp[order], bounds))
        flags = tuple(np.split(table.correct[sel][order], bounds))
    return ConfigCounts(
        config=table.configs[config].name,
        problems=tuple(table.problems[i] for i in present),
        n=n, c=c, answer_counts=counts, answer_correct=correct_ans, scores=scores, correct_flags=flags,
    )


def count_matrix(table: SampleTable) -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
    """(problems, N, C): samples and correct counts as (problems × configs) matrices."""
    shape = (len(table.problems), len(table.configs))
    N = np.zeros(shape, dtype=np.int64)
    C = np.zeros(shape, dtype=np.int64)
    np.add.at(N, (table.problem, table.config), 1)
    np.add.at(C, (table.problem, table.config), table.correct.astype(np.int64))
    return table.problems, N, C


COVARIATES = ("log_mean_tokens", "distinct_share", "modal_share", "abstain_share")


def problem_covariates(table: SampleTable, samples: np.ndarray | None = None) -> np.ndarray:
    """(problems, 4) per-problem covariates from the given sample rows (default: all).

    Columns as in :data:`COVARIATES`: log of the mean completion tokens, distinct answers
    per sample, the modal answer's share and the share of samples without an answer —
    what a profile knows about a problem beyond its correct count (used by
    :class:`~inferplan.fitting.curves.covariate.CovariateDifficulty`). Problems without
    samples get the column means.
    """
    rows = np.arange(table.n_samples) if samples is None else np.asarray(samples)
    P = len(table.problems)
    prob, ans = table.problem[rows], table.answer[rows]
    n = np.bincount(prob, minlength=P).astype(np.float64)
    toks = np.nan_to_num(table.completion_tokens[rows].astype(np.float64), nan=0.0)
    mean_tok = np.bincount(prob, weights=toks, minlength=P) / np.maximum(n, 1)
    voted = ans >= 0
    pairs = np.unique(np.stack([prob[voted], ans[voted]]), axis=1) if voted.any() else np.zeros((2, 0), np.int64)
    distinct = np.bincount(pairs[0], minlength=P).astype(np.float64)
    modal = np.zeros(P)
    if voted.any():
        key, cnt = np.unique(np.stack([prob[voted], ans[voted]]), axis=1, return_counts=True)
        np.maximum.at(modal, key[0], cnt)
    abstain = np.bincount(prob, weights=(~voted).astype(np.float64), minlength=P)
    X = np.column_stack([np.log1p(mean_tok), distinct / np.maximum(n, 1), modal / np.maximum(n, 1), abstain / np.maximum(n, 1)])
    empty = n == 0
    if empty.any() and (~empty).any():
        X[empty] = X[~empty].mean(0)
    return X
