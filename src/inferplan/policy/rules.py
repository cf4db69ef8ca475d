"""The stopping rules, one class each, in a registry: what each rule reads, when it stops, what it needs.

A rule class holds everything about one rule: its name, its parameters (defaults, symbols
and validation), the statistic it thresholds from a :class:`Tally`, its stopping test on
that statistic, whether its lookahead also imagines a streak, and the rule in plain words.
The classes are stateless; :class:`inferplan.policy.stopping.StoppingRule` (the rule with its
numbers and guards) looks its class up in :data:`REGISTRY` by name and silences numpy's
warnings around ``statistic``. Scalars and arrays alike.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
from scipy import special

from inferplan.errors import InputError
from inferplan.policy.rule_math import bayes_factors, msprt_log_ratio, pairwise
from inferplan.policy.tally import Tally

REGISTRY: dict[str, type[Rule]] = {}


def _pct(x: float | str) -> str:
    return x if isinstance(x, str) else f"{100 * x:.4g}%"


def _g(x: float | str) -> str:
    return x if isinstance(x, str) else f"{x:g}"


class Rule:
    """One stopping rule. Subclasses set the class variables and override what differs."""

    name: ClassVar[str]
    defaults: ClassVar[tuple[float, ...]]  # only the leading ones can be given on the command line
    symbols: ClassVar[tuple[str, ...]]  # the parameters as a legend writes them
    streak: ClassVar[bool] = False  # its lookahead also tries a streak of the latest answer (ESC)
    guarded: ClassVar[bool] = True  # min/max guards of their own (fixed N is its own guard)

    def __init_subclass__(cls, register: bool = True, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if register:
            REGISTRY[cls.name] = cls

    @staticmethod
    def statistic(t: Tally, p: tuple[float, ...]) -> Any:
        """The number the rule thresholds, from the tally and the parameters."""
        raise NotImplementedError

    @staticmethod
    def satisfied(stat: Any, t: Tally, p: tuple[float, ...]) -> Any:
        """The default test: the statistic reaches θ once some sample has answered."""
        return (stat >= p[0]) & (np.asarray(t.v1) > 0)

    @classmethod
    def validate(cls, p: tuple[float, ...]) -> None:
        """Raise InputError for parameters the rule cannot use."""

    @staticmethod
    def guards(p: tuple[float, ...], min_samples: int, max_samples: int) -> tuple[int, int]:
        """The min/max guards, given the parameters (only ``fixed`` sets its own)."""
        return min_samples, max_samples

    @staticmethod
    def words(p: tuple) -> str:
        """What the rule waits for, given its parameters (numbers, or their symbols for a legend)."""
        raise NotImplementedError


class Fixed(Rule):
    name, defaults, symbols, guarded = "fixed", (16,), ("N",), False

    @staticmethod
    def statistic(t: Tally, p: tuple[float, ...]) -> Any:
        return np.asarray(t.n, dtype=np.float64)

    @staticmethod
    def satisfied(stat: Any, t: Tally, p: tuple[float, ...]) -> Any:
        return stat >= p[0]

    @staticmethod
    def guards(p: tuple[float, ...], min_samples: int, max_samples: int) -> tuple[int, int]:
        return int(p[0]), int(p[0])

    @staticmethod
    def words(p: tuple) -> str:
        return f"always draw {_g(p[0])} sample{'' if p[0] == 1 else 's'}"


class _Share(Rule, register=False):
    """A rule whose threshold θ is a share or a probability, in (0, 1]."""

    @classmethod
    def validate(cls, p: tuple[float, ...]) -> None:
        if not 0 < p[0] <= 1:
            raise InputError(f"rule {cls.name!r}: threshold must be in (0, 1]")


class Beta(_Share):
    """P(leader's share > runner-up's) under a uniform prior (Adaptive-Consistency)."""

    name, defaults, symbols = "beta", (0.95,), ("θ",)

    @staticmethod
    def statistic(t: Tally, p: tuple[float, ...]) -> Any:
        v1, v2 = np.asarray(t.v1, dtype=np.float64), np.asarray(t.v2, dtype=np.float64)
        return pairwise(lambda a, b: special.betainc(b + 1, a + 1, 0.5), v1, v2)

    @staticmethod
    def words(p: tuple) -> str:
        return (f"stop once the leading answer beats the runner-up with probability ≥ {_pct(p[0])} "
                "(Adaptive-Consistency's Beta test)")


class Esc(Rule):
    """A window of w identical answers, looked at every w samples (ESC)."""

    name, defaults, symbols, streak = "esc", (5,), ("w",), True

    @staticmethod
    def statistic(t: Tally, p: tuple[float, ...]) -> Any:
        return np.asarray(t.run, dtype=np.float64)

    @staticmethod
    def satisfied(stat: Any, t: Tally, p: tuple[float, ...]) -> Any:
        w = int(p[0])
        return (stat >= w) & (np.asarray(t.n) % w == 0)

    @classmethod
    def validate(cls, p: tuple[float, ...]) -> None:
        if p[0] < 1:
            raise InputError("rule 'esc': window must be ≥ 1")

    @staticmethod
    def words(p: tuple) -> str:
        return (f"stop once the last {_g(p[0])} answers agree, looking every {_g(p[0])} samples "
                "(Early-Stopping Self-Consistency)")


class Ratio(_Share):
    """The leader's share v1 / n of all samples."""

    name, defaults, symbols = "ratio", (0.8,), ("θ",)

    @staticmethod
    def statistic(t: Tally, p: tuple[float, ...]) -> Any:
        n, v1 = np.asarray(t.n, dtype=np.float64), np.asarray(t.v1, dtype=np.float64)
        return np.where(n > 0, v1 / n, 0.0)

    @staticmethod
    def satisfied(stat: Any, t: Tally, p: tuple[float, ...]) -> Any:
        return (stat >= p[0]) & (np.asarray(t.n) >= 2)

    @staticmethod
    def words(p: tuple) -> str:
        return f"stop once the leading answer holds ≥ {_pct(p[0])} of the samples (from 2 on)"


class Entropy(Rule):
    """The answers' entropy normalised by ln(answered samples): 0 = unanimous; stops at or below θ."""

    name, defaults, symbols = "entropy", (0.75,), ("θ",)

    @staticmethod
    def statistic(t: Tally, p: tuple[float, ...]) -> Any:
        k = np.asarray(t.k, dtype=np.float64)
        h = np.where(k > 0, np.log(np.maximum(k, 1)) - np.asarray(t.s) / np.maximum(k, 1), 0.0)
        return np.where(k >= 2, h / np.log(np.maximum(k, 2)), 1.0)

    @staticmethod
    def satisfied(stat: Any, t: Tally, p: tuple[float, ...]) -> Any:
        return (stat <= p[0]) & (np.asarray(t.v1) > 0)

    @staticmethod
    def words(p: tuple) -> str:
        return f"stop once the answers' spread (normalised entropy, 0 = all agree) is ≤ {_g(p[0])}"


class _Sequential(Rule, register=False):
    """Wald's bounds, as ConSol uses them: stop when the log ratio reaches log((1 − β)/α) (the
    leader is real) or falls to log(β/(1 − α)) (the top two are alike; only with β > 0 —
    inferplan's default β = 0 never stops that way). Parameters (α, ·, β)."""

    @staticmethod
    def satisfied(stat: Any, t: Tally, p: tuple[float, ...]) -> Any:
        alpha, beta = p[0], p[-1]
        upper = stat >= math.log((1 - beta) / alpha)
        lower = stat <= (math.log(beta / (1 - alpha)) if beta > 0 else -math.inf)
        return (upper | lower) & (np.asarray(t.v1) > 0)

    @classmethod
    def validate(cls, p: tuple[float, ...]) -> None:
        if not 0 < p[0] < 1:
            raise InputError(f"rule {cls.name!r}: α must be in (0, 1)")

    @staticmethod
    def alike(p: tuple) -> str:
        """The lower bound, said only where it can stop a query (β > 0)."""
        return "" if isinstance(p[2], str) or p[2] <= 0 else f", or that the top two are alike (miss rate {p[2]:g})"


class Sprt(_Sequential):
    """Wald's SPRT: H0 share 1/2 vs H1 share p1 of the leader among the top two."""

    name, defaults, symbols = "sprt", (0.05, 0.8, 0.0), ("α", "p1", "β")

    @staticmethod
    def statistic(t: Tally, p: tuple[float, ...]) -> Any:
        v1, v2 = np.asarray(t.v1, dtype=np.float64), np.asarray(t.v2, dtype=np.float64)
        return v1 * math.log(2 * p[1]) + v2 * math.log(2 * (1 - p[1]))

    @classmethod
    def validate(cls, p: tuple[float, ...]) -> None:
        super().validate(p)
        if not 0.5 < p[1] < 1:
            raise InputError("rule 'sprt': p1 must be in (0.5, 1)")
        if not 0 <= p[2] < 1 - p[0]:
            raise InputError(f"rule {cls.name!r}: β must be in [0, 1 − α)")

    @staticmethod
    def words(p: tuple) -> str:
        return (f"stop once Wald's sequential test says the leading answer is real (false-alarm rate "
                f"{_g(p[0])}, against the leader winning {_pct(p[1])} of the top two's votes){Sprt.alike(p)}")


class Msprt(_Sequential):
    """Mixture SPRT: a Beta(c, c) prior on the leader's share, cut to (½, 1)."""

    name, defaults, symbols = "msprt", (0.05, 1.0, 0.0), ("α", "c", "β")

    @staticmethod
    def statistic(t: Tally, p: tuple[float, ...]) -> Any:
        v1, v2 = np.asarray(t.v1, dtype=np.float64), np.asarray(t.v2, dtype=np.float64)
        return pairwise(lambda a, b: msprt_log_ratio(a, b, p[1]), v1, v2)

    @classmethod
    def validate(cls, p: tuple[float, ...]) -> None:
        super().validate(p)
        if not 0 <= p[2] < 1 - p[0]:
            raise InputError(f"rule {cls.name!r}: β must be in [0, 1 − α)")
        if not p[1] > 0:
            raise InputError("rule 'msprt': the prior concentration must be positive")

    @staticmethod
    def words(p: tuple) -> str:
        return (f"stop once a mixture sequential test says the leading answer is real (false-alarm rate "
                f"{_g(p[0])}, Beta({_g(p[1])}, {_g(p[1])}) prior){Msprt.alike(p)}")


class Bayes(Rule):
    """Best-of-∞: the Bayes factor from every answer's count, plus the unseen bucket (B, pseudo-votes)."""

    name, defaults, symbols = "bayes", (10.0, 0.3), ("B", "u")

    @staticmethod
    def statistic(t: Tally, p: tuple[float, ...]) -> Any:
        return bayes_factors(t.signatures, p[1])[np.asarray(t.sig, dtype=np.int64)]

    @staticmethod
    def satisfied(stat: Any, t: Tally, p: tuple[float, ...]) -> Any:
        return stat >= p[0]

    @staticmethod
    def words(p: tuple) -> str:
        return (f"stop once the Bayes factor that the leading answer is the most likely reaches {_g(p[0])} "
                f"(an unseen answer counts {_g(p[1])} votes; Best-of-∞)")


class Wshare(_Share):
    """DeepConf-online's consensus: the leader's confidence-weighted share of the answered samples."""

    name, defaults, symbols = "wshare", (0.9,), ("θ",)

    @staticmethod
    def statistic(t: Tally, p: tuple[float, ...]) -> Any:
        total = np.asarray(t.wtotal, dtype=np.float64)
        return np.where(total > 0, np.asarray(t.wlead, dtype=np.float64) / np.where(total > 0, total, 1.0), 0.0)

    @staticmethod
    def satisfied(stat: Any, t: Tally, p: tuple[float, ...]) -> Any:
        return (stat >= p[0]) & (np.asarray(t.k) >= 2)

    @staticmethod
    def words(p: tuple) -> str:
        return (f"stop once the leading answer holds ≥ {_pct(p[0])} of the confidence-weighted votes "
                "(from 2 answers on; DeepConf-online)")


def rule_type(name: str) -> type[Rule]:
    """The class of the rule called ``name``."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise InputError(f"unknown stopping rule {name!r} (choose from {', '.join(REGISTRY)})") from None

