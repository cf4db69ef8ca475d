"""Where an adaptive profile spends its next samples.

A uniform profile gives every (problem, configuration) pair the same N, and most of
those samples say nothing new: a problem whose every sample so far gives the same
answer will almost surely keep doing so. After a uniform first pass, the adaptive
profile ranks pairs by how unsettled what the planner and ``fit`` read from them is:

- **the vote** — the chance that the current leader is NOT the answer the model gives
  most often: 1 − P(p₁ > p₂) with p₁, p₂ ~ Beta(v₁ + 1, v₂ + 1) for the top two vote
  counts, Adaptive-Consistency's beta criterion (what every majority plan rests on);
- **the hard tail** — a pair with no correct sample yet: pass@k at large k rests on the
  problems whose success rate is small but not zero, and sampling them more is what
  Kazdan et al. (2025) found improves pass@k extrapolation.

and configurations that are worse than the best one on both majority accuracy and
pass@1, with a paired z above ``DOMINATED_Z`` over problems, get nothing more. The
ledger reads only graded records, so the allocation is a function of what is on disk:
a resumed run recomputes it from there.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
from scipy import special

FIRST = 4  # uniform first pass: samples per pair (fewer when that would spend over half the budget)
STEP = 2  # samples a chosen pair gets per round
SETTLED = 0.05  # a pair scoring below this is settled; when all are, more samples would not change the plan
TAIL = 0.5  # score of a pair with no correct sample yet (the hard tail)
DOMINATED_Z = 3.0
MIN_PROBLEMS_TO_DROP = 20  # never call a configuration dominated on fewer problems


@dataclass
class Ledger:
    """What a profile holds so far, per (problem, configuration): samples, correct ones, votes."""

    problems: tuple[str, ...]
    configs: tuple[str, ...]
    n: np.ndarray = field(init=False)  # (P, C) samples recorded
    correct: np.ndarray = field(init=False)  # (P, C) correct samples
    next_index: np.ndarray = field(init=False)  # (P, C) first sample index neither recorded nor reserved
    pending: np.ndarray = field(init=False)  # (P, C) samples reserved and not yet recorded (in flight)
    votes: list[list[Counter]] = field(init=False)
    correct_answers: list[set] = field(init=False)
    tokens: float = 0.0

    def __post_init__(self) -> None:
        P, C = len(self.problems), len(self.configs)
        self.n = np.zeros((P, C), dtype=np.int64)
        self.correct = np.zeros((P, C), dtype=np.int64)
        self.next_index = np.zeros((P, C), dtype=np.int64)
        self.pending = np.zeros((P, C), dtype=np.int64)
        self.votes = [[Counter() for _ in range(C)] for _ in range(P)]
        self.correct_answers = [set() for _ in range(P)]
        self._p = {pid: i for i, pid in enumerate(self.problems)}
        self._c = {name: i for i, name in enumerate(self.configs)}

    def add(self, rec: dict) -> None:
        p, c = self._p.get(str(rec["problem"])), self._c.get(str(rec["config"]))
        if p is None or c is None:
            return  # a problem or configuration this run does not schedule
        self.n[p, c] += 1
        self.pending[p, c] = max(0, self.pending[p, c] - 1)
        self.correct[p, c] += bool(rec.get("correct"))
        self.next_index[p, c] = max(self.next_index[p, c], int(rec["index"]) + 1)
        self.tokens += float(rec.get("completion_tokens") or 0)
        answer = rec.get("answer")
        if answer is not None:
            self.votes[p][c][str(answer)] += 1
            if rec.get("correct"):
                self.correct_answers[p].add(str(answer))

    def reserve(self, chosen: dict[tuple[int, int], int], label: str) -> list[tuple[int, int, int, str]]:
        """The next sample indices of each chosen pair, held until their records arrive."""
        out = []
        for (p, c), k in chosen.items():
            start = int(self.next_index[p, c])
            out += [(p, c, start + j, label) for j in range(k)]
            self.next_index[p, c] += k
            self.pending[p, c] += k
        return out

    def release(self) -> None:
        """Forget reservations whose samples never came (cancelled when the budget ran out)."""
        self.pending[:] = 0

    @property
    def samples(self) -> int:
        return int(self.n.sum())

    def top_two(self) -> tuple[np.ndarray, np.ndarray]:
        """(P, C) vote counts of the leading and the runner-up answer."""
        v1, v2 = np.zeros(self.n.shape), np.zeros(self.n.shape)
        for p, row in enumerate(self.votes):
            for c, votes in enumerate(row):
                top = [v for _, v in votes.most_common(2)] + [0, 0]
                v1[p, c], v2[p, c] = top[0], top[1]
        return v1, v2

    def leader_correct(self) -> np.ndarray:
        """(P, C) share of the leading answers (ties split) that are correct."""
        out = np.zeros(self.n.shape)
        for p, row in enumerate(self.votes):
            for c, votes in enumerate(row):
                if votes:
                    best = max(votes.values())
                    lead = [a for a, v in votes.items() if v == best]
                    out[p, c] = sum(a in self.correct_answers[p] for a in lead) / len(lead)
        return out


def first_pass_size(budget_samples: float, pairs: int) -> int:
    """Samples per pair in the uniform first pass: ``FIRST``, or fewer when that would
    spend more than half the budget (the rest is what adaptivity has to work with)."""
    return int(max(1, min(FIRST, budget_samples * 0.5 // max(pairs, 1))))


def unsettled(ledger: Ledger) -> np.ndarray:
    """(P, C) score of each pair: the larger of the vote's and the hard tail's uncertainty."""
    v1, v2 = ledger.top_two()
    vote = special.betainc(v1 + 1, v2 + 1, 0.5)  # P(p₁ < p₂): the leader is not the mode
    tail = np.where(ledger.correct == 0, TAIL, 0.0)
    return np.where(ledger.n > 0, np.maximum(vote, tail), 1.0)


def dominated(ledger: Ledger) -> np.ndarray:
    """(C,) configurations worse than the best on majority accuracy AND pass@1, with confidence."""
    P, C = ledger.n.shape
    out = np.zeros(C, dtype=bool)
    has = (ledger.n > 0).all(axis=1)
    if C < 2 or has.sum() < MIN_PROBLEMS_TO_DROP:
        return out
    maj = ledger.leader_correct()[has]
    pass1 = (ledger.correct / np.maximum(ledger.n, 1))[has]
    best = int(np.argmax(maj.mean(axis=0)))
    for c in range(C):
        out[c] = c != best and _z(maj[:, best] - maj[:, c]) > DOMINATED_Z and _z(pass1[:, best] - pass1[:, c]) > DOMINATED_Z
    return out


def _z(diff: np.ndarray) -> float:
    sd = diff.std(ddof=1)
    return float(diff.mean() / (sd / np.sqrt(diff.size))) if sd > 0 else (np.inf if diff.mean() > 0 else 0.0)


def next_round(ledger: Ledger, samples: int, cap: int, rng: np.random.Generator) -> dict[tuple[int, int], int]:
    """Up to ``samples`` more samples, ``STEP`` per pair, to the most unsettled pairs below ``cap``.

    Empty when every open pair is settled (or at its cap). Ties go to the pair with fewer
    samples, then at random, so no problem is starved by the order of the task file.
    """
    score = unsettled(ledger)
    score[:, dominated(ledger)] = 0.0
    score[ledger.n + ledger.pending >= cap] = 0.0
    score[ledger.pending > 0] = 0.0  # its samples in flight will say more than a guess now
    open_pairs = np.argwhere(score >= SETTLED)
    if open_pairs.size == 0 or samples < 1:
        return {}
    s = score[open_pairs[:, 0], open_pairs[:, 1]]
    n = ledger.n[open_pairs[:, 0], open_pairs[:, 1]]
    order = np.lexsort((rng.random(len(s)), n, -s))
    out: dict[tuple[int, int], int] = {}
    for p, c in open_pairs[order]:
        if samples <= 0:
            break
        k = int(min(STEP, samples, cap - ledger.n[p, c] - ledger.pending[p, c]))
        out[(int(p), int(c))] = k
        samples -= k
    return out
