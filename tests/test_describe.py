"""Rules, rounds, fixed-N baselines and aggregations say themselves in words (issue 29)."""

from __future__ import annotations

import pytest

from inferplan.policy.aggregate import Aggregation
from inferplan.policy.describe import describe_batch, describe_family, describe_fixed, describe_policy, rule_legend
from inferplan.policy.stopping import RULES, make_rule, parse_rule


@pytest.mark.parametrize("name", RULES)
def test_every_rule_says_itself_with_its_numbers(name: str) -> None:
    rule = make_rule(name)
    words = rule.describe()
    assert words and ":" not in words.split("(")[0]  # words, not a spec
    if name != "fixed":
        assert words.endswith(f"at most {rule.max_samples} samples")
        assert describe_family(name).startswith(f"{name}:")


def test_words_carry_the_parameters_and_guards() -> None:
    assert "≥ 97%" in parse_rule("beta:0.97,max=16").describe()
    assert parse_rule("beta:0.97,min=2,max=16").describe().endswith("at least 2 and at most 16 samples")
    assert "last 4 answers agree" in parse_rule("esc:4").describe()
    assert "alike" in parse_rule("sprt:0.05,0.5001,0.949976").describe()
    assert "alike" not in parse_rule("sprt:0.05").describe()
    assert make_rule("fixed", (1,)).describe() == "always draw 1 sample"


def test_rounds_and_fixed_baselines_in_words() -> None:
    assert describe_policy("majority@8") == "launch 8 samples at once and wait for all of them"
    assert describe_policy("first@4") == "launch 4 samples at once and keep the first to finish"
    assert describe_policy("short-2@4") == "launch 4 samples at once and keep the first 2 to finish"
    assert describe_policy("beta:0.9@8").endswith("at most 8 samples")
    assert describe_policy("fixed-4") == "always draw 4 samples"
    assert describe_fixed(2.7) == "between always 2 and always 3 samples (2.7 on average, interpolated)"
    assert describe_policy("fixed-2.7 (interpolated)") == describe_fixed(2.7)
    assert describe_batch("parallel:6").startswith("launch 6 samples at once")
    assert "lookahead" in describe_batch("lookahead")


def test_the_legend_names_each_family_once_in_order_of_use() -> None:
    lines = rule_legend(["fixed:1,min=1,max=1", "beta:0.8,max=16", "beta:0.9", "short-2@4", "wshare:0.7@4"])
    assert [line.split()[0] for line in lines] == ["fixed:N", "beta:θ", "short-m@K", "RULE@K", "wshare:θ"]


def test_aggregations_in_words() -> None:
    assert Aggregation("vote").describe().startswith("majority vote")
    assert "90% most confident" in Aggregation("conf-vote", keep=0.9).describe()
    assert "5% of wrong ones" in Aggregation("oracle", false_positive=0.05).describe()
    assert Aggregation("logprob", penalty=1).describe().endswith("a wrong answer scores −1, abstaining 0")
