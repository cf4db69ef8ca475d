"""Confidence-weighted voting (DeepConf's offline vote), online and in replay.

DeepConf (Fu et al. 2025) keeps only the most confident share η of a query's traces
and votes among them with each vote weighted by its confidence. Here a sample's
confidence is its lowest window mean token logprob (:mod:`inferplan.backends.confidence`),
its weight exp(that) — the geometric-mean probability of its least sure stretch, in
(0, 1]. Samples without an answer cast no vote; ties are broken at random.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np


def vote_weight(confidence):
    """A sample's vote weight, exp(its lowest window mean logprob) in (0, 1]; 1 where unknown
    (None or nan). Scalars and arrays alike: the runner, replay and the weighted stop share it."""
    c = np.nan_to_num(np.asarray(np.nan if confidence is None else confidence, dtype=np.float64), nan=0.0)
    return np.exp(np.minimum(c, 0.0))


def kept_count(n: int, keep: float) -> int:
    """How many of n samples the top-η filter keeps (at least one)."""
    return max(1, math.ceil(keep * n - 1e-9))


def confidence_vote(answers: Sequence[str | None], confidence: Sequence[float | None], keep: float,
                    rng: np.random.Generator) -> str | None:
    """The answer of the weighted vote among the ``keep`` most confident answered samples."""
    voters = [(c if c is not None else 0.0, a) for a, c in zip(answers, confidence) if a is not None]
    if not voters:
        return None
    threshold = sorted((c for c, _ in voters), reverse=True)[kept_count(len(voters), keep) - 1]
    weight: dict[str, float] = {}
    for conf, answer in voters:
        if conf >= threshold:  # ties at the threshold are all kept, as in replay
            weight[answer] = weight.get(answer, 0.0) + float(vote_weight(conf))
    top = max(weight.values())
    leaders = sorted(a for a, w in weight.items() if w >= top * (1 - 1e-12))
    return leaders[int(rng.integers(len(leaders)))] if len(leaders) > 1 else leaders[0]


def prefix_leaders(answer: np.ndarray, conf: np.ndarray, answer_correct: np.ndarray, keep: float,
                   rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(leader correct, leader exists) of the confidence vote over every prefix, ``(rows, L)``.

    ``answer`` (rows, L) holds answer ids (−1: none), ``conf`` the samples' confidences,
    ``answer_correct`` (rows, K) whether each id is right. One pass per prefix length:
    the top-η threshold by partition, the weighted tally by one bincount.
    """
    rows, L = answer.shape
    K = answer_correct.shape[1]
    has = answer >= 0
    c = np.where(has, np.nan_to_num(conf, nan=0.0), -np.inf)  # abstentions are never kept
    jitter = rng.random((rows, K + 1)) * 1e-9  # random tie-break among equal weights
    ok = np.column_stack([answer_correct, np.zeros(rows, bool)])
    lead_ok = np.zeros((rows, L), bool)
    lead_has = np.zeros((rows, L), bool)
    base = (np.arange(rows) * (K + 1))[:, None]
    for t in range(1, L + 1):
        answered = has[:, :t].sum(1)
        k = np.maximum(1, np.ceil(keep * answered - 1e-9)).astype(np.int64)
        srt = -np.sort(-c[:, :t], axis=1)  # descending
        thr = np.take_along_axis(srt, np.minimum(k, t)[:, None] - 1, axis=1)
        kept = has[:, :t] & (c[:, :t] >= thr)
        w = np.where(kept, vote_weight(c[:, :t]), 0.0)
        idx = base + np.where(has[:, :t], answer[:, :t], K)
        tally = np.bincount(idx.ravel(), weights=w.ravel(), minlength=rows * (K + 1)).reshape(rows, K + 1)
        win = (tally + jitter * (tally > 0)).argmax(1)
        exists = tally.max(1) > 0
        lead_has[:, t - 1] = exists
        lead_ok[:, t - 1] = exists & ok[np.arange(rows), win]
    return lead_ok, lead_has
