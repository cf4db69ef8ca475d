"""Strategies as results name them, said in plain words for someone new to them.

A result names a strategy by a short text: a stopping rule's spec (``beta:0.97,min=1,max=40``),
a parallel round (``majority@8``, ``first@4``, ``short-2@4``, ``beta:0.9@8``) or a fixed-N
baseline (``fixed-4``, ``fixed-2.7 (interpolated)``). Each rule says itself in words
(:meth:`StoppingRule.describe`, over its class in :mod:`inferplan.policy.rules`); this module
reads the texts around it.
"""

from __future__ import annotations

import math
import re
from typing import Iterable

from inferplan.policy.rules import rule_type
from inferplan.policy.stopping import RULES, parse_rule

_ROUND = re.compile(r"^(majority|first|short-(\d+)|(.+))@(\d+)$")
_FIXED = re.compile(r"^fixed-(\d+(?:\.\d+)?)( \(interpolated\))?$")


def _samples(n: float) -> str:
    return f"{n:g} sample{'' if n == 1 else 's'}"


def describe_fixed(n: float) -> str:
    """Fixed N in words; a fractional N (fixed-N interpolated to a cost) says which two it lies between."""
    if float(n).is_integer():
        return f"always draw {_samples(n)}"
    return f"between always {math.floor(n)} and always {math.ceil(n)} samples ({n:.1f} on average, interpolated)"


def describe_policy(text: str) -> str:
    """A strategy's short name in words: a rule spec, a parallel round, or a fixed-N baseline."""
    text = text.strip()
    if m := _FIXED.match(text):
        return describe_fixed(float(m.group(1)))
    if m := _ROUND.match(text):
        k = int(m.group(4))
        launch = f"launch {_samples(k)} at once and "
        if m.group(1) == "majority":
            return launch + "wait for all of them"
        if m.group(1) == "first":
            return launch + "keep the first to finish"
        if m.group(2):
            return launch + f"keep the first {m.group(2)} to finish"
        return launch + "read them as they finish: " + parse_rule(m.group(3), max_samples=k).describe()
    return parse_rule(text).describe()


def describe_family(name: str) -> str:
    """A rule family in words with its parameters as symbols, for a legend: ``beta:θ  stop once …``."""
    kind = rule_type(name)
    return f"{name}:{','.join(kind.symbols)}  {kind.words(kind.symbols)}"


def describe_batch(batch: str) -> str:
    """A plan's batch policy in words: ``lookahead`` or ``parallel:K``."""
    kind, _, k = batch.partition(":")
    if kind == "parallel":
        return f"launch {_samples(int(k))} at once and read the answers as they finish"
    return "each step draws the fewest samples that could end the query (ConSol's lookahead)"


_ROUND_WORDS = {"majority": "majority@K  launch K samples at once and wait for all of them",
                "first": "first@K  launch K samples at once and keep the first to finish",
                "short": "short-m@K  launch K samples at once and keep the first m to finish",
                "rule": "RULE@K  launch K samples at once and read them as they finish, stopping by RULE"}


def rule_legend(names: Iterable[str]) -> tuple[str, ...]:
    """One line per rule family the named strategies use (``beta:θ  stop once …``), in order of first use."""
    seen: list[str] = []

    def add(line: str) -> None:
        if line not in seen:
            seen.append(line)

    for text in names:
        rule = text.strip()
        if m := _ROUND.match(rule):
            add(_ROUND_WORDS["short" if m.group(2) else "rule" if m.group(3) else m.group(1)])
            rule = m.group(3) or ""
        family = rule.partition(":")[0].strip().lower()
        if family in RULES:
            add(describe_family(family))
    return tuple(seen)

