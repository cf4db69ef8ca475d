"""Answer extraction and normalisation: from a completion's text to a vote key.

Votes are only as good as their keys: "1,000", "1000" and "1000.0" must be one
answer, and an unparsable completion must abstain (``None``) rather than form a
bloc of its own (lm-evaluation-harness's ``[invalid]`` fallback can win votes).
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Callable

EXTRACTORS = ("auto", "number", "boxed", "answer-is", "choice", "text")

_NUMBER = re.compile(r"(?<![\w.])[-−]?\$?\s?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:\s*/\s*\d+)?(?![\w])")
_ANSWER_IS = re.compile(r"answer\s*(?:is|:)\s*:?\s*(.+?)(?:\.(?:\s|$)|\n|$)", re.IGNORECASE)
_CHOICE = re.compile(r"(?<![A-Za-z])\(?([A-E])\)?(?![A-Za-z])")
_CHOICE_AFTER = re.compile(r"(?:answer|option|choice)\s*(?:is|:)?\s*\(?([A-E])\)?(?![A-Za-z])", re.IGNORECASE)


def normalize_number(text: str) -> str | None:
    """Canonical string of a number written with commas, $, −, decimals or a/b."""
    s = text.strip().replace("−", "-").replace("$", "").replace(",", "").replace(" ", "")
    s = s.rstrip(".")
    if not s:
        return None
    try:
        value = Fraction(s)
    except (ValueError, ZeroDivisionError):
        return None
    if value.denominator == 1:
        return str(value.numerator)
    as_float = float(value)
    return f"{as_float:.6g}"


def _last_boxed(text: str) -> str | None:
    start = text.rfind("\\boxed")
    if start < 0:
        return None
    i = text.find("{", start)
    if i < 0:
        return None
    depth, j = 0, i
    while j < len(text):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return text[i + 1 : j].strip()
        j += 1
    return None


def normalize_text(text: str) -> str:
    """Lower-cased, whitespace-collapsed, surrounding quotes/punctuation removed."""
    s = " ".join(text.strip().split()).lower()
    return s.strip(" \"'`*.,;:!")


_FRAC = re.compile(r"\\[dt]?frac\s*\{([^{}]+)\}\s*\{([^{}]+)\}")
_TEXT_CMD = re.compile(r"\\(?:text|textbf|mathrm|mbox)\s*\{([^{}]*)\}")


def latex_to_plain(raw: str) -> str:
    """The LaTeX that wraps answers (\\frac, \\text, \\left, spacing, $, degrees) → plain text."""
    s = _TEXT_CMD.sub(r"\1", raw)
    s = _FRAC.sub(r"\1/\2", s)
    for token in ("\\left", "\\right", "\\!", "\\,", "\\;", "\\%", "^\\circ", "^{\\circ}", "\\$", "$"):
        s = s.replace(token, "")
    return s.strip()


def _normalize_any(raw: str) -> str:
    plain = latex_to_plain(raw) if "\\" in raw or "$" in raw else raw
    number = normalize_number(plain)
    return number if number is not None else normalize_text(plain)


_SUBTRACTED = re.compile(r"[\d)\]}%]\s*[-−]\s*$")  # what precedes a number subtracted: "12 - ", "(4+6)-"


def _numbers(text: str) -> list[str | None]:
    """The numbers written in ``text``, in order; None for one subtracted from what precedes it
    ("12 - 5 apples left"): its minus is no sign, and the number alone is not the result."""
    out: list[str | None] = []
    for m in _NUMBER.finditer(text):
        number = m.group()
        before = text[max(0, m.start() - 40):m.start()] + (number[0] if number[0] in "-−" else "")
        out.append(None if _SUBTRACTED.search(before) else number)
    return out


def extract_number(text: str) -> str | None:
    """The last number in ``text``; None when there is none, or when it is the right side of an
    unevaluated subtraction ("100 - 3" is neither -3 nor 3)."""
    for m in reversed(_numbers(text)):
        if m is None:
            return None
        value = normalize_number(m)
        if value is not None:
            return value
    return None


def extract_boxed(text: str) -> str | None:
    raw = _last_boxed(text)
    return None if raw is None else _normalize_any(raw)


def extract_answer_is(text: str) -> str | None:
    matches = _ANSWER_IS.findall(text)
    if not matches:
        return None
    raw = matches[-1].strip()
    value = _normalize_any(raw)
    return value or None


def extract_choice(text: str) -> str | None:
    after = _CHOICE_AFTER.findall(text)
    if after:
        return after[-1].upper()
    found = _CHOICE.findall(text)
    return found[-1].upper() if found else None


def extract_text(text: str) -> str | None:
    value = normalize_text(text)
    return value or None


def extract_auto(text: str) -> str | None:
    """\\boxed{…} if present, else "the answer is …" (as a number when it is one; as text when it is a
    few words, never a sentence), else the last number."""
    boxed = _last_boxed(text)
    if boxed is not None:
        return _normalize_any(boxed) or None
    matches = _ANSWER_IS.findall(text)
    if matches:
        raw = matches[-1]
        # The first number after "the answer is" is the answer ("12 apples, not 13"), after the
        # last equals sign when it is worked out there ("16 + 3 = 19").
        raw = raw.rsplit("=", 1)[-1] if "=" in raw and _NUMBER.search(raw.rsplit("=", 1)[-1]) else raw
        number = next((v for v in map(normalize_number, filter(None, _numbers(raw))) if v is not None), None)
        return number if number is not None else _short_text(raw)
    return extract_number(text)


FREE_TEXT_WORDS = 4  # "the answer is" followed by more words than this is a sentence, not an answer


def _short_text(raw: str) -> str | None:
    """A free-text answer ("Paris", "the pacific ocean") as its vote key; a sentence ("based on the
    concept of counting …") abstains: it is an explanation, and no two samples would word it alike."""
    value = normalize_text(raw)
    return value if value and len(value.split()) <= FREE_TEXT_WORDS else None


_BY_NAME: dict[str, Callable[[str], str | None]] = {
    "auto": extract_auto,
    "number": extract_number,
    "boxed": extract_boxed,
    "answer-is": extract_answer_is,
    "choice": extract_choice,
    "text": extract_text,
}


def get_extractor(name: str) -> Callable[[str], str | None]:
    """The extractor called ``name`` (one of :data:`EXTRACTORS`)."""
    from inferplan.errors import InputError

    try:
        return _BY_NAME[name]
    except KeyError:
        raise InputError(f"unknown extractor {name!r}; choose one of {', '.join(EXTRACTORS)}") from None
