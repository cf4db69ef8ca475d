"""Graders: numbers with commas/units/fractions, strings, letters, regex, math-verify."""

from __future__ import annotations

import threading

import pytest

from inferplan.errors import InputError
from inferplan.grading.graders import (
    auto_grader_name,
    check_grader_name,
    get_grader,
    grade_choice,
    grade_exact,
    grade_numeric,
    make_regex_grader,
)


@pytest.mark.parametrize("text,gold,answer,ok", [
    ("The total is $1,250.", "1250", "1250", True),
    ("She has 42 apples left.", 42, "42", True),
    ("17 + 25 = 42", "42", "42", True),
    ("That is 3/4 of the cake", "0.75", "0.75", True),
    ("\\boxed{12} and later 13", "12", "12", True),
    ("The answer is 7. Then 8 more steps.", "7", "7", True),
    ("about 0.3333333 of it", "1/3", "0.333333", True),
    ("The answer is 41.", "42", "41", False),
    ("no digits here", "5", None, False),
    ("−3 degrees", "-3", "-3", True),
])
def test_numeric(text, gold, answer, ok):
    g = grade_numeric(text, gold)
    assert g.correct is ok and g.answer == answer


def test_numeric_tolerance_is_relative():
    assert grade_numeric("1000001", "1000000", rtol=1e-5).correct
    assert not grade_numeric("1000001", "1000000", rtol=1e-7).correct
    with pytest.raises(InputError):
        grade_numeric("5", "five")


def test_exact_choice_regex():
    assert grade_exact("The answer is  Paris .", "paris").correct
    assert not grade_exact("The answer is Lyon.", "Paris").correct
    assert grade_choice("I think the answer is (C).", "C").correct
    assert grade_choice("Option b", "(B)").correct
    assert not grade_choice("The answer is A", "B").correct
    g = make_regex_grader(r"####\s*(\S+)")("work... #### 72", "72")
    assert g.correct and g.answer == "72"
    assert make_regex_grader(r"####\s*(\S+)")("no marker", "72").answer is None
    with pytest.raises(InputError):
        make_regex_grader("(unclosed")


def test_names_and_auto():
    assert auto_grader_name("1,000") == "numeric" and auto_grader_name("B") == "choice"
    assert auto_grader_name("paris") == "exact"
    assert get_grader("auto", "12")("12 cats", "12").correct
    assert check_grader_name("regex:a(b)") == "regex:a(b)"
    with pytest.raises(InputError):
        check_grader_name("fuzzy")


def test_math_verify_gold_first_and_in_threads():
    pytest.importorskip("math_verify")
    math = get_grader("math")
    assert math("so the result is $\\frac{1}{2}$", "0.5").correct
    assert math("\\boxed{2\\sqrt{3}+1}", "1+2\\sqrt{3}").correct  # BoInf's tie: the same value
    assert not math("\\boxed{3}", "\\frac{\\pi}{2}").correct
    out = {}
    # signal.alarm only works in the main thread: from a thread the grader must not crash.
    t = threading.Thread(target=lambda: out.setdefault("g", math("\\boxed{\\frac{6}{4}}", "3/2")))
    t.start()
    t.join(30)
    assert out["g"].correct
