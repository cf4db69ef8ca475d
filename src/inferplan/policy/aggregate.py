"""Aggregation of a query's samples into one answer, scored step by step for replay.

``vote``: plurality answer (random tie-break); ``conf-vote``: DeepConf's vote among
the ``keep`` most confident samples, weighted by confidence
(:mod:`inferplan.policy.confidence_vote`); ``logprob``: best-of-n by mean token
logprob; ``oracle``: a verifier checks each sample and the first one it accepts
is returned (pass@k semantics when the verifier is perfect). A verifier with
false-positive rate ``fp`` also accepts wrong samples; each wrong answer returned
costs ``penalty`` accuracy points, and a query whose samples are all rejected
abstains (scores 0, not −penalty).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from inferplan.errors import InputError, InvalidValue
from inferplan.policy.confidence_vote import prefix_leaders

KINDS = ("vote", "conf-vote", "logprob", "oracle")


@dataclass(frozen=True)
class Aggregation:
    """How samples become one answer, and how a wrong answer is scored."""

    kind: str = "vote"
    false_positive: float = 0.0  # verifier accepts a wrong sample with this probability
    penalty: float = 0.0  # score of a wrong answer is −penalty (abstaining scores 0)
    keep: float = 0.9  # conf-vote: share of the most confident samples that vote (DeepConf's η)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise InputError(f"unknown aggregation {self.kind!r} (choose from {', '.join(KINDS)})")
        if not 0 <= self.false_positive < 1:
            raise InputError("verifier false-positive rate must be in [0, 1)")
        if self.penalty < 0:
            raise InputError("wrong-answer penalty must be ≥ 0")
        if not 0 < self.keep <= 1:
            raise InputError("conf-vote's kept share must be in (0, 1]")

    @property
    def first_pass(self) -> bool:
        """The query stops at the first sample the verifier accepts."""
        return self.kind == "oracle"

    def describe(self) -> str:
        """How the answer is chosen, in plain words."""
        words = {
            "vote": "majority vote (ties broken at random)",
            "conf-vote": f"confidence-weighted vote among the {100 * self.keep:.3g}% most confident samples (DeepConf)",
            "logprob": "the sample with the best mean token log-probability",
            "oracle": "the first sample a verifier accepts"
                      + (f" (it also accepts {100 * self.false_positive:.3g}% of wrong ones)" if self.false_positive
                         else ""),
        }[self.kind]
        return words + (f"; a wrong answer scores −{self.penalty:g}, abstaining 0" if self.penalty else "")

    def to_json(self) -> dict:
        out = {"kind": self.kind, "false_positive": self.false_positive, "penalty": self.penalty}
        return {**out, "keep": self.keep} if self.kind == "conf-vote" else out

    @classmethod
    def from_json(cls, d: dict) -> Aggregation:
        return cls(kind=d.get("kind", "vote"), false_positive=float(d.get("false_positive", 0.0)),
                   penalty=float(d.get("penalty", 0.0)), keep=float(d.get("keep", 0.9)))


@dataclass(frozen=True)
class StepOutcomes:
    """Per (row, step): the answer returned if the query stopped after this step."""

    right: np.ndarray  # bool: the returned answer is correct
    wrong: np.ndarray  # bool: an answer was returned and it is wrong (abstain = neither)
    accepted: np.ndarray  # bool: a verifier has accepted a sample by this step (oracle only)


def step_outcomes(
    agg: Aggregation,
    *,
    leader_correct: np.ndarray,
    leader_exists: np.ndarray,
    seq_correct: np.ndarray,
    seq_score: np.ndarray,
    valid: np.ndarray,
    rng: np.random.Generator,
    seq_answer: np.ndarray | None = None,
    seq_conf: np.ndarray | None = None,
    answer_correct: np.ndarray | None = None,
) -> StepOutcomes:
    """Outcomes for every prefix of every replayed sequence (arrays shaped ``(rows, steps)``).

    conf-vote also needs each draw's answer id and confidence, and which ids are right."""
    none = np.zeros_like(seq_correct, dtype=bool)
    if agg.kind == "vote":
        return StepOutcomes(leader_correct, leader_exists & ~leader_correct, none)
    if agg.kind == "conf-vote":
        if seq_conf is None or np.isnan(seq_conf[valid & (seq_answer >= 0)]).all():
            raise InvalidValue("aggregate", "profile records no windowed confidences; {name} conf-vote needs a "
                                            "profile recorded with token logprobs by this version")
        ok, has = prefix_leaders(seq_answer, seq_conf, answer_correct, agg.keep, rng)
        return StepOutcomes(ok, has & ~ok, none)
    if agg.kind == "logprob":
        score = np.where(valid & ~np.isnan(seq_score), seq_score, -np.inf)
        # Running argmax: position of the best-scored sample so far (first on ties).
        best = np.maximum.accumulate(score, axis=1)
        is_best = (score == best) & np.isfinite(score)
        steps = np.arange(score.shape[1])
        pos = np.maximum.accumulate(np.where(is_best & (score > np.concatenate(
            [np.full((score.shape[0], 1), -np.inf), best[:, :-1]], axis=1)), steps, -1), axis=1)
        has = pos >= 0
        right = has & np.take_along_axis(seq_correct, np.maximum(pos, 0), axis=1)
        if np.isnan(seq_score[valid]).all():
            raise InvalidValue("aggregate", "profile records no logprobs; {name} logprob needs them")
        return StepOutcomes(right, has & ~right, none)
    # oracle / first pass
    accept = seq_correct | (rng.random(seq_correct.shape) < agg.false_positive)
    accept &= valid
    steps = np.arange(accept.shape[1])
    first = np.where(accept.any(axis=1), np.argmax(accept, axis=1), accept.shape[1])
    after = steps[None, :] >= first[:, None]
    first_ok = np.take_along_axis(seq_correct, np.minimum(first, accept.shape[1] - 1)[:, None], axis=1)[:, 0]
    return StepOutcomes(after & first_ok[:, None], after & ~first_ok[:, None], after)


def check_answers(table, agg: Aggregation) -> None:
    """Voting needs extracted answers; a verifier-only profile (e.g. OSCA counts) has none."""
    if agg.kind != "oracle" and table.n_samples and (table.answer < 0).all():
        raise InvalidValue("aggregate", f"profile records no extracted answers; {{name}} {agg.kind} needs them "
                         "(use --aggregate oracle for pass@k)")


def score(right: np.ndarray, wrong: np.ndarray, agg: Aggregation) -> np.ndarray:
    """Accuracy score: 1 per right answer, −penalty per wrong one."""
    return right.astype(np.float64) - agg.penalty * wrong.astype(np.float64)
