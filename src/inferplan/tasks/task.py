"""One calibration problem: the record every task source (files, HumanEval, built-in sets) yields."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Task:
    """One calibration problem."""

    id: str
    text: str | None  # the question / prompt text (None when ``messages`` is given)
    answer: str | None  # gold answer (None for code tasks graded by tests)
    messages: tuple[dict, ...] | None = None
    grader: str | None = None  # per-task grader, overrides the set's default
    tests: str | None = None  # code tasks: test code defining check(candidate)
    entry_point: str | None = None
    meta: dict = field(default_factory=dict)
