"""The one run engine, unit-tested on the suite's fake backend: fixed plans, stopping, order, cancel."""

from __future__ import annotations

from dataclasses import replace

import inferplan as ip
from inferplan.policy.stopping import parse_rule

QUESTIONS = [f"What is {a} + {a + 2}?" for a in range(1, 7)]


def test_a_fixed_plan_draws_n_samples_per_query_in_input_order(fake_backend) -> None:
    results = ip.run(ip.fixed_plan(5, temperatures=(0.0, 1.0)), QUESTIONS, model=fake_backend)
    assert [r.id for r in results] == list(range(1, 7))
    assert all(r.samples == 5 and r.stop_reason == "fixed" and r.rule is None for r in results)
    # Temperatures are cycled over the samples in the listed order.
    temps = [req.temperatures for req in fake_backend.requests]
    assert all(t == (0.0, 1.0, 0.0, 1.0, 0.0) for t in temps)
    # A fixed plan queues every query at once: one request each, all in the first submission.
    assert len(fake_backend.requests) == len(QUESTIONS)
    # Greedy samples of this backend are right: 2a + 2 wins the vote.
    assert [r.answer for r in results] == [str(2 * a + 2) for a in range(1, 7)]


def test_an_adaptive_plan_stops_early_and_says_why(fake_backend) -> None:
    plan = replace(ip.fixed_plan(1, temperatures=(0.0,)), objective="max-accuracy",
                   rule=parse_rule("beta:0.9", max_samples=16))
    results = ip.run(plan, QUESTIONS, model=fake_backend)
    # At T = 0 every sample agrees: beta:0.9 stops after the few samples its lookahead asks for.
    assert all(r.stop_reason == "rule" and r.rule == plan.rule.spec for r in results)
    assert all(1 < r.samples < 16 for r in results)
    assert all(len(set(r.answers)) == 1 for r in results)


def test_limits_only_tighten_the_plan(fake_backend) -> None:
    results = ip.run(ip.fixed_plan(8), QUESTIONS[:2], model=fake_backend, max_samples=3)
    assert all(r.samples == 3 for r in results)
