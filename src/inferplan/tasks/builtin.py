"""Built-in generated calibration sets, so a new user needs no data at all.

``builtin:NAME[:COUNT[:SEED]]`` — NAME is ``arith`` (one-step arithmetic) or ``word``
(one- and two-step word problems); problems cycle through difficulty levels 1–3
so the set spans easy to hard for small models (a flat set gives a flat curve).
The same COUNT and SEED always give the same problems. Few-shot examples for the
``base`` template are drawn from a disjoint seed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Callable

from inferplan.errors import InputError
from inferplan.tasks.task import Task

DEFAULT = "builtin:arith"
LEVELS = (1, 2, 3)


@dataclass(frozen=True)
class BuiltinSet:
    """A generated set and the settings that suit it."""

    tasks: tuple[Task, ...]
    shots: tuple[tuple[str, str], ...]
    grader: str = "numeric"
    # Few-shot completion: on the 135M instruct model it beats chat turns several-fold
    # (pass@1 0.25 vs 0.04–0.11 on arith, T=0.2) and answers in ~5 tokens.
    template: str = "base"
    max_tokens: int = 12  # answers are one short line


def _arith(rng: random.Random, level: int) -> tuple[str, int]:
    """Level 1: one-digit ±; level 2: two-digit ± one/two-digit, one-digit ×; level 3: two-digit ± two-digit, small two-digit ×.

    Tuned on SmolLM2-135M (T=1, 16 samples): three-digit ± and 2-digit × 6–9 were never
    solved (a flat zero adds nothing to a curve), these level-3 kinds give pass@1 ≈ 0.2–0.4
    with pass@16 ≈ 0.7.
    """
    if level == 1:
        a, b = rng.randint(2, 9), rng.randint(1, 9)
        op = rng.choice("+-")
    elif level == 2:
        op = rng.choice("+-*")
        a, b = (rng.randint(2, 9), rng.randint(2, 9)) if op == "*" else (rng.randint(10, 99), rng.randint(2, 99))
    else:
        op = rng.choice("+-*")
        a, b = (rng.randint(11, 30), rng.randint(2, 5)) if op == "*" else (rng.randint(10, 99), rng.randint(10, 99))
    if op == "-" and b > a:
        a, b = b, a
    value = a + b if op == "+" else a - b if op == "-" else a * b
    return f"What is {a} {'×' if op == '*' else op} {b}?", value


_NAMES = ("Sam", "Mia", "Leo", "Ava", "Noah", "Zoe", "Omar", "Lily", "Ben", "Nora", "Ravi", "Emma")
_THINGS = ("apples", "marbles", "stickers", "books", "coins", "pencils", "cookies", "shells")


def _word(rng: random.Random, level: int) -> tuple[str, int]:
    """Level 1: one step, small numbers; level 2: one step, larger numbers or groups; level 3: two steps."""
    name, thing = rng.choice(_NAMES), rng.choice(_THINGS)
    small = level == 1
    a = rng.randint(2, 9) if small else rng.randint(12, 60)
    b = rng.randint(1, 9) if small else rng.randint(5, 30)
    if level in (1, 2):
        kind = rng.choice(("gain", "lose", "groups") if level == 2 else ("gain", "lose"))
        if kind == "gain":
            return f"{name} has {a} {thing}. {name} gets {b} more. How many {thing} does {name} have now?", a + b
        if kind == "lose":
            a, b = max(a, b), min(a, b)
            return f"{name} has {a} {thing} and gives away {b}. How many {thing} are left?", a - b
        g, per = rng.randint(3, 9), rng.randint(2, 9)
        return f"{name} has {g} bags with {per} {thing} in each bag. How many {thing} are there in all?", g * per
    c = rng.randint(2, 9)
    return (f"{name} has {a} {thing}, buys {b} more, then gives {c} to a friend. "
            f"How many {thing} does {name} have now?", a + b - c)


_FAMILIES: dict[str, Callable[[random.Random, int], tuple[str, int]]] = {"arith": _arith, "word": _word}
DEFAULT_COUNT = 45
DEFAULT_SEED = 1234


def builtin_set(spec: str) -> BuiltinSet:
    """The set named by ``NAME[:COUNT[:SEED]]`` (the part after ``builtin:``)."""
    name, *rest = spec.split(":")
    if name not in _FAMILIES:
        raise InputError(f"unknown built-in task set {name!r}; choose one of "
                         f"{', '.join('builtin:' + f for f in _FAMILIES)}")
    try:
        count = int(rest[0]) if rest else DEFAULT_COUNT
        seed = int(rest[1]) if len(rest) > 1 else DEFAULT_SEED
    except ValueError:
        raise InputError(f"builtin:{spec}: expected builtin:NAME[:COUNT[:SEED]] with integers") from None
    if count < 1 or len(rest) > 2:
        raise InputError(f"builtin:{spec}: expected builtin:NAME[:COUNT[:SEED]] with COUNT ≥ 1")
    make = _FAMILIES[name]
    rng = random.Random(f"{name}:{seed}")
    tasks = []
    for i in range(count):
        level = LEVELS[i % len(LEVELS)]
        question, value = make(rng, level)
        tasks.append(Task(id=f"{name}-{i:04d}", text=question, answer=str(value), meta={"level": level}))
    shot_rng = random.Random(f"{name}:shots:{seed}")
    shots = tuple((q, str(v)) for q, v in (make(shot_rng, level) for level in LEVELS))
    return BuiltinSet(tasks=tuple(tasks), shots=shots)
