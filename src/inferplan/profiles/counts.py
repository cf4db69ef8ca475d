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
