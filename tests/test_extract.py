"""Answer extraction and normalisation: the vote keys behind every majority vote."""

from __future__ import annotations

import numpy as np
import pytest

from inferplan.errors import InputError
from inferplan.grading.extract import (
    extract_answer_is,
    extract_auto,
    extract_boxed,
    extract_choice,
    extract_number,
    extract_text,
    get_extractor,
    latex_to_plain,
    normalize_number,
)
from inferplan.policy.vote import majority, vote_counts


@pytest.mark.parametrize("raw, key", [
    ("1,000", "1000"), ("1000.0", "1000"), ("$1,234.00", "1234"), ("−7", "-7"), ("3/4", "0.75"),
    ("0.50", "0.5"), ("42.", "42"), ("abc", None), ("", None), ("1/0", None),
])
def test_normalize_number(raw, key):
    assert normalize_number(raw) == key


def test_number_takes_the_last_number():
    assert extract_number("17 + 25 = 42.") == "42"
    assert extract_number("First 3 apples, then 1,500 pears") == "1500"
    assert extract_number("x2 and v3 are names, not numbers") is None
    assert extract_number("no digits") is None


def test_boxed_nested_and_latex():
    assert extract_boxed(r"so \boxed{\frac{1}{2}}") == "0.5"
    assert extract_boxed(r"\boxed{1} then \boxed{\dfrac{3}{4}}") == "0.75"
    assert extract_boxed(r"\boxed{90^\circ}") == "90"
    assert extract_boxed(r"\boxed{x^{2}+1}") == "x^{2}+1"
    assert extract_boxed(r"\boxed{unclosed") is None and extract_boxed("none") is None
    assert latex_to_plain(r"\text{ dollars } \$5") == "dollars  5"


def test_answer_is_and_choice():
    assert extract_answer_is("So the answer is 1,000. Done") == "1000"
    assert extract_answer_is("Answer: Paris\nbecause") == "paris"
    assert extract_answer_is("nothing here") is None
    assert extract_choice("I pick (B). Actually the answer is C") == "C"
    assert extract_choice("Option d seems right") == "D"
    assert extract_choice("none of these") is None


def test_auto_prefers_boxed_then_answer_is_then_last_number():
    assert extract_auto(r"2 + 2 = 4, so \boxed{4} and 5") == "4"
    assert extract_auto("The answer is 12 apples, not 13") == "12"
    assert extract_auto("It costs 3 then 7") == "7"
    assert extract_auto("The answer is Paris.") == "paris"
    assert extract_auto("I do not know") is None  # abstains rather than voting "i do not know"


def test_text_and_lookup():
    assert extract_text('  "Hello   World." ') == "hello world"
    assert extract_text("   ") is None
    assert get_extractor("number") is extract_number
    with pytest.raises(InputError, match="unknown extractor"):
        get_extractor("nope")


def test_votes_equivalent_forms_merge_and_abstentions_drop():
    texts = ["= 1,000", "The answer is 1000.", r"\boxed{1000.0}", "no idea", "It is 999"]
    answers = [extract_auto(t) for t in texts]
    assert vote_counts(answers) == {"1000": 3, "999": 1}
    assert majority(answers, np.random.default_rng(0)) == "1000"
    # Ties are broken at random, reproducibly by seed, and both leaders can win.
    winners = {majority(["a", "b"], np.random.default_rng(s)) for s in range(20)}
    assert winners == {"a", "b"}
    assert majority([None, None], np.random.default_rng(0)) is None


def test_the_minus_of_a_subtraction_is_no_sign():
    """Issue 28: "100 - 3" was read as the answer -3. An unevaluated subtraction is no answer at all
    (neither -3 nor 3): "12 - 5 apples left" abstains rather than voting 5 or -5."""
    for text in ("100 - 3", "100-3", "so there are 12 - 5 apples left.", "(4 + 6) -3", "12 − 5"):
        assert extract_number(text) is None and extract_auto(text) is None, text
    assert extract_auto("so 100 - 3 = 97") == "97"
    assert extract_auto("The answer is -3") == "-3"
    assert extract_auto("The answer is 100 - 3 = 97") != "-3"
    assert extract_number("it fell from 5 to -3") == "-3"
    assert extract_number("x = −3") == "-3"
    assert extract_number("readings: 5, -3") == "-3"


def test_a_sentence_after_answer_is_abstains_under_auto():
    """Issue 28: the vote table showed "based on the concept of counting…":1 — a sentence is no vote."""
    from inferplan.grading.graders import answer_reader

    text = "The answer is based on the concept of counting the apples in each basket."
    assert extract_auto(text) is None
    assert answer_reader("extract:auto")(text) is None and answer_reader("auto")(text) is None
    assert extract_auto("The answer is the Pacific Ocean.") == "the pacific ocean"
    assert extract_auto("Answer: yes") == "yes"
    assert vote_counts([extract_auto(text), extract_auto("The answer is 4.")]) == {"4": 1}
