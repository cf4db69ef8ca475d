"""Sequential stopping rules for self-consistency, online and vectorised.

Every rule looks only at a :class:`Tally` of the answers drawn so far (counts of
the top two answers, number of distinct answers, the entropy sum, the current
streak …); each is one class in :mod:`inferplan.policy.rules` (its statistic, test,
lookahead, parameters and words). The same ``satisfied(tally)`` serves the runner one sample
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

from inferplan.errors import InputError
from inferplan.policy.confidence_vote import vote_weight
from inferplan.policy.rules import REGISTRY, Rule, rule_type
from inferplan.policy.tally import Tally


@dataclass(frozen=True)
class StoppingRule:
    """A stopping rule with its parameters and min/max guards.

    ``name`` names its class in the registry (:attr:`kind`); ``params`` its numeric
    parameters (defaults: the class's). ``statistic`` and ``satisfied`` work on
    scalars and arrays alike.
    """

    name: str
    params: tuple[float, ...] = ()
    min_samples: int = 1
    max_samples: int = 40

    @property
    def kind(self) -> type[Rule]:
        """The rule's class in the registry (:mod:`inferplan.policy.rules`)."""
        return rule_type(self.name)

    def statistic(self, t: Tally) -> Any:
        """The number the rule thresholds."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.kind.statistic(t, self.params)

    def satisfied(self, t: Tally) -> Any:
        """The rule alone (no min/max guard)."""
        return self.kind.satisfied(self.statistic(t), t, self.params)

    def done(self, t: Tally) -> Any:
        """Stop now: the max guard is reached, or the rule holds past the min guard."""
        n = np.asarray(t.n)
        return (n >= self.max_samples) | ((n >= self.min_samples) & self.satisfied(t))

    def lookahead(self, t: Tally) -> int:
        """ConSol batch size: fewest new samples that could stop us if all agreed with the leader."""
        room = int(self.max_samples - int(t.n))
        streak = self.kind.streak  # ESC's window can also fill with the latest answer, not only the leader's
        for extra in range(1, max(room, 0) + 1):
            if bool(self.done(t.project(extra))) or (streak and bool(self.done(t.extend_streak(extra)))):
                return extra
        return max(room, 0)

    def start(self) -> RuleState:
        return RuleState(self)

    def describe(self) -> str:
        """The rule in plain words, its guards included (``beta:0.95,max=16`` → "stop once …, at most 16 samples")."""
        words = self.kind.words(self.params)
        if not self.kind.guarded:
            return words
        guards = f"at least {self.min_samples} and at most {self.max_samples}" if self.min_samples > 1 \
            else f"at most {self.max_samples}"
        return f"{words}; {guards} samples"

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


# name → default parameters, and the names (views of the registry, for callers that list the rules).
DEFAULTS: dict[str, tuple[float, ...]] = {name: cls.defaults for name, cls in REGISTRY.items()}
RULES = tuple(REGISTRY)


def make_rule(name: str, params: tuple | list = (), *, min_samples: int = 1, max_samples: int = 40) -> StoppingRule:
    """A validated rule; missing parameters take their defaults."""
    kind = rule_type(name)
    if len(params) > len(kind.defaults):
        raise InputError(f"rule {name!r} takes at most {len(kind.defaults)} parameter(s)")
    full = tuple(float(x) for x in params) + kind.defaults[len(params):]
    min_samples, max_samples = kind.guards(full, min_samples, max_samples)
    if min_samples < 1 or max_samples < min_samples:
        raise InputError(f"need 1 ≤ min samples ≤ max samples (got {min_samples}, {max_samples})")
    kind.validate(full)
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
