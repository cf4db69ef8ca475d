"""Replay at a per-sample token budget: a plain cap, or a thinking budget with forced answers.

Under a plain cap (``capped``) a sample longer than the cap abstains. At a thinking budget
(``at_budget``) it answers as it would have when made to answer there.

A profile with answer-now probes (``profile --probes``) holds, per sample, the answer it
gave when made to answer after ``d`` thinking tokens, at every probe depth and at the cap
(:mod:`inferplan.profiles.probes`). At a budget ``d`` a sample that ended before ``d``
tokens is unchanged; one still thinking at ``d`` answers its probe there and costs ``d``
plus the forced answer's tokens (the answer prompt and the answer). Its answer is exactly
what the same sample would have answered with ``max_tokens = d`` and the same answer
prompt: the probe is decoded on the sample's own sequence, greedily, and the thinking
goes on unchanged after it. A forced answer with nothing extractable is censored — an
abstention, never a wrong vote.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from inferplan.profiles.probes import NOT_PROBED


@dataclass(frozen=True)
class DenseProbes:
    """Forced answers of a Dense's samples per depth: arrays ``(P, C, N, D)``."""

    depths: tuple[int, ...]
    answer: np.ndarray  # int32, −1 censored, NOT_PROBED none asked (or padding)
    correct: np.ndarray  # bool
    tokens: np.ndarray  # float, nan where none


def dense_probes(table, keep: np.ndarray, idx: tuple, shape: tuple[int, int, int]) -> DenseProbes | None:
    """The table's forced answers packed like the Dense's samples (None when it has none)."""
    cols = table.probes
    if cols is None:
        return None
    D = len(cols.depths)
    answer = np.full((*shape, D), NOT_PROBED, np.int32)
    correct = np.zeros((*shape, D), bool)
    tokens = np.full((*shape, D), np.nan)
    answer[idx] = cols.answer[keep]
    correct[idx] = cols.correct[keep]
    tokens[idx] = cols.tokens[keep]
    return DenseProbes(cols.depths, answer, correct, tokens)


def capped(dense, cap: int | None):
    """The samples as a per-sample max-token cap would have left them.

    A sample longer than the cap would have been cut before its answer, so it
    abstains (we cannot know what a truncated sample would have answered) and
    costs only ``cap`` tokens' worth.
    """
    if cap is None:
        return dense
    over = dense.tokens > cap
    scale = np.where(over, cap / np.where(over, dense.tokens, 1.0), 1.0)
    return replace(dense, answer=np.where(over, -1, dense.answer), correct=dense.correct & ~over,
                   cost=dense.cost * scale)


def at_budget(dense, budget: int):
    """The samples of ``dense`` with thinking budget ``budget`` (one of its probe depths), each
    made to answer there if it had not ended (see the module doc).

    A sample that thought past ``budget`` with no forced answer recorded there (a depth not
    probed) abstains and costs ``budget`` tokens, as under a plain cap."""
    probes = dense.probes
    j = probes.depths.index(budget)
    answered = probes.answer[..., j] != NOT_PROBED
    cut = answered | (dense.tokens > budget)  # still thinking at the budget
    spent = np.where(answered, budget + np.nan_to_num(probes.tokens[..., j]), budget)
    scale = np.where(cut, spent / np.where(cut & (dense.tokens > 0), dense.tokens, 1.0), 1.0)
    answer = np.where(answered, probes.answer[..., j], np.where(cut, -1, dense.answer))
    correct = np.where(answered, probes.correct[..., j], dense.correct & ~cut)
    nan = np.full_like(dense.score, np.nan)
    # The thinking's confidence after the budget is unknown: a forced sample has none.
    conf = None if dense.confidence is None else np.where(cut, nan, dense.confidence)
    return replace(dense, answer=answer.astype(np.int32), correct=correct, cost=dense.cost * scale,
                   tokens=np.where(cut, spent, dense.tokens), score=np.where(cut, nan, dense.score),
                   confidence=conf, lows_n=None, lows_v=None)
