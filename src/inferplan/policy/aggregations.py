"""The aggregations, one class each, in a registry: how a query's samples become one answer.

Each class says, in one place, how it answers a query in a run (``choose``: the samples
drawn so far → the answer) and in replay (``outcomes``: every prefix of every replayed
sequence at once, arrays shaped ``(rows, steps)``), what it needs recorded, which fitted
curve predicts it, and itself in words. :class:`inferplan.policy.aggregate.Aggregation`
(the aggregation with its verifier and penalty settings) looks its class up by ``kind``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Sequence

import numpy as np

from inferplan.errors import InvalidValue
from inferplan.policy.confidence_vote import confidence_vote, prefix_leaders
from inferplan.policy.vote import majority

METHODS: dict[str, type[Method]] = {}


@dataclass(frozen=True)
class StepOutcomes:
    """Per (row, step): the answer returned if the query stopped after this step."""

    right: np.ndarray  # bool: the returned answer is correct
    wrong: np.ndarray  # bool: an answer was returned and it is wrong (abstain = neither)
    accepted: np.ndarray  # bool: a verifier has accepted a sample by this step (oracle only)


@dataclass(frozen=True)
class Steps:
    """What replay knows of every prefix of every sequence, ``(rows, steps)`` arrays: the
    plurality leader's correctness and existence, each draw's correctness, mean logprob,
    validity, answer id (−1: none) and confidence, and which answer ids are right ``(rows, K)``."""

    leader_correct: np.ndarray
    leader_exists: np.ndarray
    seq_correct: np.ndarray
    seq_score: np.ndarray
    valid: np.ndarray
    seq_answer: np.ndarray | None = None
    seq_conf: np.ndarray | None = None
    answer_correct: np.ndarray | None = None


class Method:
    """One aggregation. Subclasses set the class variables and define ``choose`` and ``outcomes``;
    ``agg`` is the :class:`Aggregation` with its settings (keep, false-positive rate)."""

    name: ClassVar[str]
    first_pass: ClassVar[bool] = False  # the query stops at the first sample a verifier accepts
    majority: ClassVar[bool] = False  # the plurality answer: maj@k's fitted curve predicts it
    votes: ClassVar[bool] = False  # the answers vote (a low-confidence cut removes votes)
    needs_answers: ClassVar[bool] = True  # it reads extracted answers (a verifier alone does not)
    keeps: ClassVar[bool] = False  # it has a kept share (written to plan files)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        METHODS[cls.name] = cls

    @staticmethod
    def words(agg: Any) -> str:
        raise NotImplementedError

    @staticmethod
    def choose(agg: Any, answers: Sequence[str | None], *, mean_logprobs: Sequence[float | None],
               confidences: Sequence[float | None], accepted: int | None, rng: np.random.Generator) -> str | None:
        """The answer of a query from its samples so far (run)."""
        raise NotImplementedError

    @staticmethod
    def outcomes(agg: Any, s: Steps, rng: np.random.Generator) -> StepOutcomes:
        """The answer after every prefix of every replayed sequence (replay)."""
        raise NotImplementedError


def _none(s: Steps) -> np.ndarray:
    return np.zeros_like(s.seq_correct, dtype=bool)


class Vote(Method):
    """Plurality answer, ties broken at random."""

    name, majority, votes = "vote", True, True

    @staticmethod
    def words(agg: Any) -> str:
        return "majority vote (ties broken at random)"

    @staticmethod
    def choose(agg, answers, *, mean_logprobs, confidences, accepted, rng):
        return majority(answers, rng)

    @staticmethod
    def outcomes(agg: Any, s: Steps, rng: np.random.Generator) -> StepOutcomes:
        return StepOutcomes(s.leader_correct, s.leader_exists & ~s.leader_correct, _none(s))


class ConfVote(Method):
    """DeepConf's vote among the ``keep`` most confident samples, weighted by confidence."""

    name, votes, keeps = "conf-vote", True, True

    @staticmethod
    def words(agg: Any) -> str:
        return f"confidence-weighted vote among the {100 * agg.keep:.3g}% most confident samples (DeepConf)"

    @staticmethod
    def choose(agg, answers, *, mean_logprobs, confidences, accepted, rng):
        return confidence_vote(answers, confidences, agg.keep, rng)

    @staticmethod
    def outcomes(agg: Any, s: Steps, rng: np.random.Generator) -> StepOutcomes:
        if s.seq_conf is None or np.isnan(s.seq_conf[s.valid & (s.seq_answer >= 0)]).all():
            raise InvalidValue("aggregate", "profile records no windowed confidences; {name} conf-vote needs a "
                                            "profile recorded with token logprobs by this version")
        ok, has = prefix_leaders(s.seq_answer, s.seq_conf, s.answer_correct, agg.keep, rng)
        return StepOutcomes(ok, has & ~ok, _none(s))


class Logprob(Method):
    """Best-of-n by mean token logprob (the first best on ties in replay, the last in a run)."""

    name = "logprob"

    @staticmethod
    def words(agg: Any) -> str:
        return "the sample with the best mean token log-probability"

    @staticmethod
    def choose(agg, answers, *, mean_logprobs, confidences, accepted, rng):
        scored = [(lp, i) for i, lp in enumerate(mean_logprobs) if lp is not None and answers[i] is not None]
        return answers[max(scored)[1]] if scored else None

    @staticmethod
    def outcomes(agg: Any, s: Steps, rng: np.random.Generator) -> StepOutcomes:
        score = np.where(s.valid & ~np.isnan(s.seq_score), s.seq_score, -np.inf)
        # Running argmax: position of the best-scored sample so far (first on ties).
        best = np.maximum.accumulate(score, axis=1)
        is_best = (score == best) & np.isfinite(score)
        steps = np.arange(score.shape[1])
        pos = np.maximum.accumulate(np.where(is_best & (score > np.concatenate(
            [np.full((score.shape[0], 1), -np.inf), best[:, :-1]], axis=1)), steps, -1), axis=1)
        has = pos >= 0
        right = has & np.take_along_axis(s.seq_correct, np.maximum(pos, 0), axis=1)
        if np.isnan(s.seq_score[s.valid]).all():
            raise InvalidValue("aggregate", "profile records no logprobs; {name} logprob needs them")
        return StepOutcomes(right, has & ~right, _none(s))


class Oracle(Method):
    """A verifier checks each sample and the first one it accepts is returned (pass@k semantics
    when the verifier is perfect); with false-positive rate ``fp`` it also accepts wrong ones."""

    name, first_pass, needs_answers = "oracle", True, False

    @staticmethod
    def words(agg: Any) -> str:
        fp = agg.false_positive
        return "the first sample a verifier accepts" + (f" (it also accepts {100 * fp:.3g}% of wrong ones)" if fp else "")

    @staticmethod
    def choose(agg, answers, *, mean_logprobs, confidences, accepted, rng):
        return answers[accepted] if accepted is not None else None

    @staticmethod
    def outcomes(agg: Any, s: Steps, rng: np.random.Generator) -> StepOutcomes:
        accept = s.seq_correct | (rng.random(s.seq_correct.shape) < agg.false_positive)
        accept &= s.valid
        steps = np.arange(accept.shape[1])
        first = np.where(accept.any(axis=1), np.argmax(accept, axis=1), accept.shape[1])
        after = steps[None, :] >= first[:, None]
        first_ok = np.take_along_axis(s.seq_correct, np.minimum(first, accept.shape[1] - 1)[:, None], axis=1)[:, 0]
        return StepOutcomes(after & first_ok[:, None], after & ~first_ok[:, None], after)
