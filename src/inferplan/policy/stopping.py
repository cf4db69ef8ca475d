"""Sequential stopping rules for self-consistency, online and vectorised.

Every rule looks only at a :class:`Tally` of the answers drawn so far (counts of
the top two answers, number of distinct answers, the entropy sum, the current
streak …). The same ``satisfied(tally)`` function serves the runner one sample
at a time (:meth:`StoppingRule.start` → :class:`RuleState`) and the replay
engine on whole ``(rows, steps)`` arrays, so online and replayed decisions agree
by construction.

Rule syntax on the command line: ``name[:param[,param]]``, e.g. ``beta:0.95``,
``esc:5``, ``ratio:0.8``, ``entropy:0.75``, ``sprt:0.05``, ``msprt:0.05``,
``sprt:0.05,0.5001,0.949976`` / ``msprt:0.05,1e6,0.94994`` (ConSol's own defaults),
``bayes:10``, ``wshare:0.9`` (confidence-weighted consensus), ``fixed:16``; min/max guards come from ``--min-samples`` /
``--max-samples`` (or ``min=``/``max=`` items, e.g. ``beta:0.9,max=40``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import special

from inferplan.errors import InputError
from inferplan.policy.confidence_vote import vote_weight
from inferplan.policy.rule_math import bayes_factors, msprt_log_ratio, pairwise
from inferplan.policy.rule_words import rule_words
from inferplan.policy.tally import Tally


@dataclass(frozen=True)
class StoppingRule:
    """A stopping rule with its parameters and min/max guards.

    ``name`` is one of :data:`RULES`; ``params`` its numeric parameters (see
    :data:`DEFAULTS`). ``statistic`` and ``satisfied`` work on scalars and
    arrays alike.
    """

    name: str
    params: tuple[float, ...] = ()
    min_samples: int = 1
    max_samples: int = 40

    # -- the statistic each rule thresholds -------------------------------------------
    def statistic(self, t: Tally) -> Any:
        n = np.asarray(t.n, dtype=np.float64)
        v1 = np.asarray(t.v1, dtype=np.float64)
        v2 = np.asarray(t.v2, dtype=np.float64)
        p = self.params
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.name == "fixed":
                return n
            if self.name == "beta":  # P(leader's share > runner-up's) under a uniform prior
                return pairwise(lambda a, b: special.betainc(b + 1, a + 1, 0.5), v1, v2)
            if self.name == "esc":
                return np.asarray(t.run, dtype=np.float64)
            if self.name == "ratio":
                return np.where(n > 0, v1 / n, 0.0)
            if self.name == "entropy":  # normalised by ln(answered samples): 0 = unanimous
                k = np.asarray(t.k, dtype=np.float64)
                h = np.where(k > 0, np.log(np.maximum(k, 1)) - np.asarray(t.s) / np.maximum(k, 1), 0.0)
                return np.where(k >= 2, h / np.log(np.maximum(k, 2)), 1.0)
            if self.name == "sprt":  # Wald: H0 share 1/2 vs H1 share p1 among the top two
                p1 = p[1]
                return v1 * math.log(2 * p1) + v2 * math.log(2 * (1 - p1))
            if self.name == "msprt":  # mixture SPRT: Beta(c, c) prior on the leader's share, cut to (½, 1)
                return pairwise(lambda a, b: msprt_log_ratio(a, b, p[1]), v1, v2)
            if self.name == "bayes":  # Best-of-∞: every answer's count, plus the unseen bucket
                return bayes_factors(t.signatures, p[1])[np.asarray(t.sig, dtype=np.int64)]
            if self.name == "wshare":  # DeepConf-online's consensus: the leader's confidence-weighted share
                total = np.asarray(t.wtotal, dtype=np.float64)
                return np.where(total > 0, np.asarray(t.wlead, dtype=np.float64) / np.where(total > 0, total, 1.0), 0.0)
        raise InputError(f"unknown stopping rule {self.name!r}")

    def satisfied(self, t: Tally) -> Any:
        """The rule alone (no min/max guard)."""
        stat = self.statistic(t)
        v1 = np.asarray(t.v1)
        p = self.params
        if self.name == "fixed":
            return stat >= p[0]
        if self.name == "esc":
            w = int(p[0])
            return (stat >= w) & (np.asarray(t.n) % w == 0)
        if self.name == "entropy":
            return (stat <= p[0]) & (v1 > 0)
        if self.name == "ratio":
            return (stat >= p[0]) & (np.asarray(t.n) >= 2)
        if self.name == "wshare":
            return (stat >= p[0]) & (np.asarray(t.k) >= 2)
        if self.name in ("sprt", "msprt"):
            # Wald's bounds, as ConSol uses them: stop when the ratio reaches log((1 − β)/α)
            # (the leader is real) or falls to log(β/(1 − α)) (the top two are alike; only
            # with β > 0 — inferplan's default β = 0 never stops that way).
            alpha, beta = p[0], p[-1]
            upper = stat >= math.log((1 - beta) / alpha)
            lower = stat <= (math.log(beta / (1 - alpha)) if beta > 0 else -math.inf)
            return (upper | lower) & (v1 > 0)
        if self.name == "bayes":
            return stat >= p[0]
        return (stat >= p[0]) & (v1 > 0)  # beta

    def done(self, t: Tally) -> Any:
        """Stop now: the max guard is reached, or the rule holds past the min guard."""
        n = np.asarray(t.n)
        return (n >= self.max_samples) | ((n >= self.min_samples) & self.satisfied(t))

    def lookahead(self, t: Tally) -> int:
        """ConSol batch size: fewest new samples that could stop us if all agreed with the leader."""
        room = int(self.max_samples - int(t.n))
        streak = self.name == "esc"  # ESC's window can also fill with the latest answer, not only the leader's
        for extra in range(1, max(room, 0) + 1):
            if bool(self.done(t.project(extra))) or (streak and bool(self.done(t.extend_streak(extra)))):
                return extra
        return max(room, 0)

    def start(self) -> RuleState:
        return RuleState(self)

    def describe(self) -> str:
        """The rule in plain words, its guards included (``beta:0.95,max=16`` → "stop once …, at most 16 samples")."""
        if self.name == "fixed":
            n = self.max_samples
            return f"always draw {n} sample{'s' if n != 1 else ''}"
        guards = f"at least {self.min_samples} and at most {self.max_samples}" if self.min_samples > 1 \
            else f"at most {self.max_samples}"
        return f"{rule_words(self.name, self.params)}; {guards} samples"

    @property
    def spec(self) -> str:
        """Round-trippable text form, e.g. ``beta:0.95,min=1,max=40``."""
        body = ",".join(_fmt(x) for x in self.params)
        return f"{self.name}:{body},min={self.min_samples},max={self.max_samples}"

    def to_json(self) -> dict:
        return {"name": self.name, "params": list(self.params), "min_samples": self.min_samples,
                "max_samples": self.max_samples}

    @classmethod
    def from_json(cls, d: dict) -> StoppingRule:
        return make_rule(d["name"], d.get("params", ()), min_samples=int(d.get("min_samples", 1)),
                         max_samples=int(d.get("max_samples", 40)))


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


# name → default parameters (only the leading ones can be given on the command line).
DEFAULTS: dict[str, tuple[float, ...]] = {
    "fixed": (16,),
    "beta": (0.95,),  # θ on P(leader beats runner-up)
    "esc": (5,),  # window w
    "ratio": (0.8,),  # θ on v1 / n
    "entropy": (0.75,),  # θ on normalised entropy (stop at or below)
    "sprt": (0.05, 0.8, 0.0),  # α, alternative share p1 of the leader among the top two, β
    "msprt": (0.05, 1.0, 0.0),  # α, prior concentration c (Beta(c, c); 1 = uniform), β
    "bayes": (10.0, 0.3),  # Bayes-factor threshold B, pseudo-votes of the unseen-answer bucket
    "wshare": (0.9,),  # θ on the leader's confidence-weighted share of the answered samples (k ≥ 2)
}
RULES = tuple(DEFAULTS)


def make_rule(name: str, params: tuple | list = (), *, min_samples: int = 1, max_samples: int = 40) -> StoppingRule:
    """A validated rule; missing parameters take their defaults."""
    if name not in DEFAULTS:
        raise InputError(f"unknown stopping rule {name!r} (choose from {', '.join(RULES)})")
    defaults = DEFAULTS[name]
    if len(params) > len(defaults):
        raise InputError(f"rule {name!r} takes at most {len(defaults)} parameter(s)")
    full = tuple(float(x) for x in params) + defaults[len(params):]
    if name == "fixed":
        max_samples = int(full[0])
        min_samples = int(full[0])
    if min_samples < 1 or max_samples < min_samples:
        raise InputError(f"need 1 ≤ min samples ≤ max samples (got {min_samples}, {max_samples})")
    if name in ("beta", "ratio", "wshare") and not 0 < full[0] <= 1:
        raise InputError(f"rule {name!r}: threshold must be in (0, 1]")
    if name in ("sprt", "msprt") and not 0 < full[0] < 1:
        raise InputError(f"rule {name!r}: α must be in (0, 1)")
    if name == "sprt" and not 0.5 < full[1] < 1:
        raise InputError("rule 'sprt': p1 must be in (0.5, 1)")
    if name in ("sprt", "msprt") and not 0 <= full[2] < 1 - full[0]:
        raise InputError(f"rule {name!r}: β must be in [0, 1 − α)")
    if name == "msprt" and not full[1] > 0:
        raise InputError("rule 'msprt': the prior concentration must be positive")
    if name == "esc" and full[0] < 1:
        raise InputError("rule 'esc': window must be ≥ 1")
    return StoppingRule(name, full, min_samples=int(min_samples), max_samples=int(max_samples))


def parse_rule(text: str, *, min_samples: int | None = None, max_samples: int | None = None) -> StoppingRule:
    """Parse ``name[:p1[,p2]][,min=A][,max=B]``; explicit min/max arguments win."""
    name, _, body = text.strip().partition(":")
    params: list[float] = []
    guards: dict[str, int] = {}
    for item in filter(None, (x.strip() for x in body.split(","))):
        key, eq, val = item.partition("=")
        try:
            if eq:
                if key not in ("min", "max"):
                    raise InputError(f"rule {text!r}: unknown option {key!r} (min=, max=)")
                guards[key] = int(val)
            else:
                params.append(float(item))
        except ValueError:
            raise InputError(f"rule {text!r}: {item!r} is not a number") from None
    lo = min_samples if min_samples is not None else guards.get("min", 1)
    hi = max_samples if max_samples is not None else guards.get("max", 40)
    return make_rule(name.strip().lower(), params, min_samples=lo, max_samples=hi)


@dataclass
class RuleState:
    """Online use by the runner: ``add`` answers one by one, read ``done``/``lookahead()``."""

    rule: StoppingRule
    counts: dict[str, int] = field(default_factory=dict)
    n: int = 0
    run: int = 0
    last: str | None = None
    leader: str | None = None
    weights: dict[str, float] = field(default_factory=dict)  # confidence-weighted totals (wshare)

    def add(self, answer: str | None, confidence: float | None = None) -> None:
        """One more sample: its answer (None abstains) and its lowest window mean logprob, if known."""
        self.n += 1
        if answer is None:
            self.run, self.last = 0, None
            return
        self.weights[answer] = self.weights.get(answer, 0.0) + float(vote_weight(confidence))
        c = self.counts.get(answer, 0) + 1
        self.counts[answer] = c
        self.run = self.run + 1 if answer == self.last else 1
        self.last = answer
        # The leader changes only when overtaken (the replay keeps the same convention).
        if self.leader is None or c > self.counts[self.leader]:
            self.leader = answer

    @property
    def tally(self) -> Tally:
        vals = sorted(self.counts.values(), reverse=True)
        v1 = vals[0] if vals else 0
        v2 = vals[1] if len(vals) > 1 else 0
        s = float(sum(c * math.log(c) for c in vals))
        return Tally(n=self.n, k=sum(vals), v1=v1, v2=v2, m=len(vals), s=s, run=self.run,
                     last_lead=self.last is not None and self.last == self.leader, signatures=(tuple(vals),),
                     wlead=max(self.weights.values(), default=0.0), wtotal=sum(self.weights.values()))

    @property
    def statistic(self) -> float:
        return float(self.rule.statistic(self.tally))

    @property
    def done(self) -> bool:
        return bool(self.rule.done(self.tally))

    def lookahead(self) -> int:
        return self.rule.lookahead(self.tally)
