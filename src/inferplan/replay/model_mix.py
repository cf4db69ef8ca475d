"""Replay a mix across models: fixed numbers of samples from several models in one majority vote.

Each model's answers are strings of its own profile; pooled in one vote they must be one
vocabulary, so every problem's answers are renumbered by their text across the models (an
answer is correct where any model's grading marks it so — they grade against the same gold).
A mix ``k`` draws k_m of model m's recorded samples without replacement, in ``reps`` random
orders per problem, and votes over all of them at once: the leader wins (ties broken at random,
abstentions never win, a query whose samples all abstain is wrong). Each sample costs what its
own model's sample cost, so the cost is exact per draw.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from inferplan.profiles.store import SampleTable
from inferplan.replay.traces import Dense, Outcome


@dataclass(frozen=True)
class Pool:
    """Several models' samples of the same problems (one configuration each), in one answer vocabulary."""

    answer: tuple[np.ndarray, ...]  # per model (P, N_m) int, joint answer id, −1 no answer
    cost: tuple[np.ndarray, ...]  # per model (P, N_m)
    count: tuple[np.ndarray, ...]  # per model (P,) recorded samples
    correct: np.ndarray  # (P, K) the joint answer id is correct

    @property
    def limit(self) -> np.ndarray:
        """The most samples of each model every problem can supply."""
        return np.array([c.min() for c in self.count], dtype=np.float64)


def pool(parts: list[tuple[SampleTable, Dense, int]]) -> Pool:
    """``parts``: each model's table, its dense samples of the shared problems (same rows in the
    same order) and the configuration to draw from."""
    P = parts[0][1].n_problems
    vocab: list[dict[str, int]] = [{} for _ in range(P)]
    answers, costs, counts, right = [], [], [], []
    for table, dense, c in parts:
        rows = dense.problem_index
        ids = np.full(dense.answer[:, c, :].shape, -1, dtype=np.int64)
        for p in range(P):
            names = table.answer_names[rows[p]]
            own = dense.answer[p, c, :]
            for a in np.unique(own[own >= 0]):
                joint = vocab[p].setdefault(names[a], len(vocab[p]))
                ids[p, own == a] = joint
                if dense.answer_correct[p, a]:
                    right.append((p, joint))
        answers.append(ids)
        costs.append(dense.cost[:, c, :])
        counts.append(dense.count[:, c])
    correct = np.zeros((P, max(1, max(len(v) for v in vocab))), dtype=bool)
    for p, joint in right:
        correct[p, joint] = True
    return Pool(tuple(answers), tuple(costs), tuple(counts), correct)


def mix_outcome(pl: Pool, k, *, reps: int = 32, seed: int = 0) -> Outcome:
    """Per-problem expected accuracy, cost and samples of the mix ``k`` (samples per model), over
    ``reps`` random draws per problem (the same draws for every ``k`` of one seed)."""
    rng = np.random.default_rng(seed)
    P, K = pl.correct.shape
    drawn, cost = [], np.zeros((reps, P))
    for m, (ans, cst, n) in enumerate(zip(pl.answer, pl.cost, pl.count)):
        keys = rng.random((reps, P, ans.shape[1]))  # drawn for every model, so k of one leaves the others alone
        if k[m] <= 0:
            continue
        keys[:, np.arange(ans.shape[1])[None, :] >= n[:, None]] = np.inf  # unrecorded slots never drawn
        take = np.argsort(keys, axis=2)[:, :, : int(k[m])]
        drawn.append(np.take_along_axis(np.broadcast_to(ans, keys.shape), take, axis=2))
        cost += np.take_along_axis(np.broadcast_to(cst, keys.shape), take, axis=2).sum(axis=2)
    ids = np.concatenate(drawn, axis=2) if drawn else np.full((reps, P, 1), -1)
    ids = np.where(ids >= 0, ids, K)  # abstentions in a column of their own
    row = (np.arange(reps)[:, None, None] * P + np.arange(P)[None, :, None]) * (K + 1)
    votes = np.bincount((row + ids).ravel(), minlength=reps * P * (K + 1)).reshape(reps, P, K + 1).astype(float)
    votes[..., K] = 0  # abstentions never win
    answered = votes.max(axis=2) > 0
    votes += rng.random(votes.shape) * 0.5  # a uniform tie-break among equal counts
    winner = votes.argmax(axis=2)
    right = np.take_along_axis(np.broadcast_to(np.c_[pl.correct, np.zeros(P, bool)], (reps, P, K + 1)),
                               winner[..., None], axis=2)[..., 0] & answered
    return Outcome(right.mean(axis=0), cost.mean(axis=0), np.full(P, float(np.sum(k))))
