"""An aggregation with its settings: how a query's samples become one answer, and how a wrong one scores.

``vote``: plurality answer (random tie-break); ``conf-vote``: DeepConf's vote among
the ``keep`` most confident samples, weighted by confidence
(:mod:`inferplan.policy.confidence_vote`); ``logprob``: best-of-n by mean token
logprob; ``oracle``: a verifier checks each sample and the first one it accepts
is returned (pass@k semantics when the verifier is perfect). A verifier with
false-positive rate ``fp`` also accepts wrong samples; each wrong answer returned
costs ``penalty`` accuracy points, and a query whose samples are all rejected
abstains (scores 0, not −penalty). Each is one class in :mod:`inferplan.policy.aggregations`,
which answers for the run and for replay alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from inferplan.errors import InputError, InvalidValue
from inferplan.policy.aggregations import METHODS, Method, StepOutcomes, Steps

KINDS = tuple(METHODS)


@dataclass(frozen=True)
class Aggregation:
    """How samples become one answer, and how a wrong answer is scored."""

    kind: str = "vote"
    false_positive: float = 0.0  # verifier accepts a wrong sample with this probability
    penalty: float = 0.0  # score of a wrong answer is −penalty (abstaining scores 0)
    keep: float = 0.9  # conf-vote: share of the most confident samples that vote (DeepConf's η)

    def __post_init__(self) -> None:
        if self.kind not in METHODS:
            raise InputError(f"unknown aggregation {self.kind!r} (choose from {', '.join(KINDS)})")
        if not 0 <= self.false_positive < 1:
            raise InputError("verifier false-positive rate must be in [0, 1)")
        if self.penalty < 0:
            raise InputError("wrong-answer penalty must be ≥ 0")
        if not 0 < self.keep <= 1:
            raise InputError("conf-vote's kept share must be in (0, 1]")

    @property
    def method(self) -> type[Method]:
        """The aggregation's class in the registry (:mod:`inferplan.policy.aggregations`)."""
        return METHODS[self.kind]

    @property
    def first_pass(self) -> bool:
        """The query stops at the first sample the verifier accepts."""
        return self.method.first_pass

    @property
    def majority(self) -> bool:
        """The plurality answer (the fitted maj@k curve predicts it)."""
        return self.method.majority

    @property
    def votes(self) -> bool:
        """The answers vote (a low-confidence cut takes votes away)."""
        return self.method.votes

    def describe(self) -> str:
        """How the answer is chosen, in plain words."""
        return self.method.words(self) + (f"; a wrong answer scores −{self.penalty:g}, abstaining 0" if self.penalty
                                          else "")

    def answer(self, answers: Sequence[str | None], *, mean_logprobs: Sequence[float | None],
               confidences: Sequence[float | None], accepted: int | None, rng: np.random.Generator) -> str | None:
        """A query's answer from its samples so far (the run's side of :func:`step_outcomes`)."""
        return self.method.choose(self, answers, mean_logprobs=mean_logprobs, confidences=confidences,
                                  accepted=accepted, rng=rng)

    def to_json(self) -> dict:
        out = {"kind": self.kind, "false_positive": self.false_positive, "penalty": self.penalty}
        return {**out, "keep": self.keep} if self.method.keeps else out

    @classmethod
    def from_json(cls, d: dict) -> Aggregation:
        return cls(kind=d.get("kind", "vote"), false_positive=float(d.get("false_positive", 0.0)),
                   penalty=float(d.get("penalty", 0.0)), keep=float(d.get("keep", 0.9)))


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
    steps = Steps(leader_correct, leader_exists, seq_correct, seq_score, valid, seq_answer, seq_conf, answer_correct)
    return agg.method.outcomes(agg, steps, rng)


def check_answers(table, agg: Aggregation, whose: str = "profile") -> None:
    """Voting needs extracted answers; a verifier-only profile (e.g. OSCA counts) has none. ``whose``
    names the profile in the message (a model's, across models)."""
    if agg.method.needs_answers and table.n_samples and (table.answer < 0).all():
        raise InvalidValue("aggregate", f"{whose} records no extracted answers (e.g. only whether each sample passed); "
                                        f"{{name}} {agg.kind} needs them (use --aggregate oracle for pass@k)")


def score(right: np.ndarray, wrong: np.ndarray, agg: Aggregation) -> np.ndarray:
    """Accuracy score: 1 per right answer, −penalty per wrong one."""
    return right.astype(np.float64) - agg.penalty * wrong.astype(np.float64)
