"""Graders: a completion and its task's gold answer → (normalised answer, correct).

The normalised answer is the vote key (so "1,000" and "1000" are one vote) and
``None`` when nothing could be extracted (an abstention, never a bloc of its own).

Names: ``auto`` (numeric if the gold answer is a number, choice if it is a single
letter A–E, else exact), ``numeric`` (commas, $, units, fractions; relative
tolerance), ``exact`` (normalised string), ``choice`` (multiple-choice letter),
``regex:PATTERN`` (group 1, or the whole match, compared as exact strings),
``math`` (HuggingFace math-verify), and ``code`` (run the task's tests in
:mod:`inferplan.grading.sandbox`; needs explicit permission).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from fractions import Fraction
from typing import Callable

from inferplan.errors import DependencyError, InputError
from inferplan.grading.extract import (
    extract_answer_is,
    extract_auto,
    extract_choice,
    extract_number,
    normalize_number,
    normalize_text,
)

GRADERS = ("auto", "numeric", "exact", "choice", "regex:PATTERN", "math", "code")
NUMERIC_RTOL = 1e-6


@dataclass(frozen=True)
class Grade:
    """One graded completion."""

    answer: str | None  # normalised answer (vote key); None = nothing extracted
    correct: bool


def _as_fraction(s: str | None) -> Fraction | None:
    if s is None:
        return None
    try:
        return Fraction(s)
    except (ValueError, ZeroDivisionError):
        return None


def read_numeric(text: str) -> str | None:
    """The completion's answer as a number: boxed / "answer is" / last number (None if none)."""
    answer = extract_auto(text)
    if _as_fraction(answer) is None and answer is not None:  # "answer is forty apples" → a number inside
        answer = extract_number(answer)
    return answer if _as_fraction(answer) is not None else None


def grade_numeric(text: str, gold: object, rtol: float = NUMERIC_RTOL) -> Grade:
    """The completion's number (:func:`read_numeric`) vs the gold number, relative tolerance ``rtol``."""
    target = _as_fraction(normalize_number(str(gold)))
    if target is None:
        raise InputError(f"numeric grader: gold answer {gold!r} is not a number")
    answer = read_numeric(text)
    if answer is None:
        return Grade(None, False)
    value = _as_fraction(answer)
    return Grade(answer, abs(float(value - target)) <= rtol * max(1.0, abs(float(target))))


def read_exact(text: str) -> str | None:
    """"the answer is X" if the text says so, else the whole normalised text."""
    return extract_answer_is(text) or normalize_text(text) or None


def grade_exact(text: str, gold: object) -> Grade:
    """Normalised string equality of :func:`read_exact`'s answer with the gold answer."""
    answer = read_exact(text)
    return Grade(answer, answer is not None and answer == normalize_text(str(gold)))


def grade_choice(text: str, gold: object) -> Grade:
    """A multiple-choice letter (A–E) compared with the gold letter."""
    answer = extract_choice(text)
    return Grade(answer, answer is not None and answer == str(gold).strip().strip("()").upper())


def make_regex_reader(pattern: str) -> Callable[[str], str | None]:
    """Reader taking the last match of ``pattern`` (its group 1 if it has one), normalised."""
    try:
        rx = re.compile(pattern)
    except re.error as e:
        raise InputError(f"regex grader: bad pattern {pattern!r}: {e}") from None

    def read(text: str) -> str | None:
        found = list(rx.finditer(text))
        if not found:
            return None
        m = found[-1]
        return normalize_text(m.group(1) if rx.groups else m.group(0)) or None

    return read


def make_regex_grader(pattern: str) -> Callable[[str, object], Grade]:
    """Grader comparing :func:`make_regex_reader`'s answer with the gold answer as exact strings."""
    read = make_regex_reader(pattern)

    def grade(text: str, gold: object) -> Grade:
        answer = read(text)
        return Grade(answer, answer is not None and answer == normalize_text(str(gold)))

    return grade


def _math_verify():
    try:
        from math_verify import parse, verify
    except ImportError:
        raise DependencyError("the math grader needs math-verify: pip install math-verify") from None
    # math-verify's timeouts use signal.alarm, which works only in the main thread.
    main = threading.current_thread() is threading.main_thread()
    return parse, verify, ({} if main else {"parsing_timeout": None}), ({} if main else {"timeout_seconds": None})


def read_math(text: str) -> str | None:
    """The answer math-verify parses from the completion, as a normalised string."""
    parse, _, parse_kw, _ = _math_verify()
    pred = parse(text, **parse_kw)
    return (normalize_text(str(pred[0])) or None) if pred else None


def grade_math(text: str, gold: object) -> Grade:
    """Symbolic equivalence with math-verify; gold goes FIRST (``verify`` is not symmetric)."""
    parse, verify, parse_kw, verify_kw = _math_verify()
    gold_s = str(gold)
    gold_parsed = parse(gold_s if "$" in gold_s or "\\boxed" in gold_s else f"${gold_s}$", **parse_kw)
    pred = parse(text, **parse_kw)
    if not pred:
        return Grade(None, False)
    answer = str(pred[0])  # the parsed sympy value: equal values give one vote key
    ok = bool(verify(gold_parsed, pred, **verify_kw))
    return Grade(normalize_text(answer) or None, ok)


def auto_grader_name(gold: object) -> str:
    """The grader ``auto`` picks for a gold answer."""
    s = str(gold).strip()
    if normalize_number(s) is not None:
        return "numeric"
    if re.fullmatch(r"\(?[A-Ea-e]\)?", s):
        return "choice"
    return "exact"


_SIMPLE: dict[str, Callable[[str, object], Grade]] = {
    "numeric": grade_numeric, "exact": grade_exact, "choice": grade_choice, "math": grade_math,
}


def check_grader_name(name: str) -> str:
    """Validate a grader name (as given by --grader or a task's ``grader`` field)."""
    if name in _SIMPLE or name in ("auto", "code"):
        return name
    if name.startswith("regex:"):
        make_regex_grader(name[len("regex:"):])
        return name
    raise InputError(f"unknown grader {name!r}; choose one of {', '.join(GRADERS)}")


def get_grader(name: str, gold: object = None) -> Callable[[str, object], Grade]:
    """The grading function called ``name`` (``auto`` resolved against ``gold``).

    ``code`` is not served here: it needs the task's tests and explicit
    permission, see :func:`inferplan.grading.sandbox.grade_code`.
    """
    name = check_grader_name(name)
    if name == "auto":
        name = auto_grader_name(gold)
    if name == "code":
        raise InputError("the code grader needs a task with tests (use grade_code)")
    if name.startswith("regex:"):
        return make_regex_grader(name[len("regex:"):])
    return _SIMPLE[name]


_READERS: dict[str, Callable[[str], str | None]] = {
    "numeric": read_numeric, "exact": read_exact, "choice": extract_choice, "math": read_math,
    # "auto" without a gold answer reads numbers, as most gold answers are; mixed and code
    # sets have no single answer format and are read generically.
    "auto": read_numeric, "mixed": extract_auto, "code": extract_auto,
}


def answer_reader(name: str) -> Callable[[str], str | None]:
    """text → vote key, read exactly as grader ``name`` reads it when grading.

    ``extract:NAME`` names an extractor of :mod:`inferplan.grading.extract` instead
    (``run -n`` without a profile). This is the one way answers are read: graders
    compare what these readers return with the gold answer.
    """
    if name.startswith("extract:"):
        from inferplan.grading.extract import get_extractor

        return get_extractor(name[len("extract:"):])
    if name.startswith("regex:"):
        return make_regex_reader(name[len("regex:"):])
    try:
        return _READERS[name]
    except KeyError:
        raise InputError(f"unknown grader {name!r}; choose one of {', '.join(GRADERS)}") from None
