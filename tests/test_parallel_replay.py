"""Parallel rounds read in finish order (replay/parallel.py), the latency planner and run --plan."""

from __future__ import annotations

import numpy as np
import pytest

from inferplan.policy.aggregate import Aggregation
from inferplan.policy.stopping import make_rule
from inferplan.replay.parallel import evaluate_parallel, parallel_trace
from inferplan.replay.traces import Dense


def one_problem(lengths, answers, correct_answer=0) -> Dense:
    """A Dense of one problem, one configuration, with the given sample lengths and answers."""
    n = len(lengths)
    ans = np.array(answers, dtype=np.int32)[None, None, :]
    K = int(ans.max()) + 1
    ok = np.zeros((1, K), bool)
    ok[0, correct_answer] = True
    tokens = np.array(lengths, float)[None, None, :]
    return Dense(np.array([0]), ans, ok[0][ans], tokens.copy(), tokens, np.full((1, 1, n), np.nan),
                 np.array([[n]]), ok, np.zeros(1))


def test_short_m_reads_the_first_finishers_and_cancels_the_rest():
    # Lengths 10, 20, …, 60; the two shortest answer 0 (right), the rest 1 (wrong).
    d = one_problem([30, 10, 50, 20, 60, 40], [1, 0, 1, 0, 1, 1])
    pt = parallel_trace(d, np.array([1.0]), 6, Aggregation("vote"), reps=8, seed=3)
    short2 = evaluate_parallel(pt, make_rule("fixed", (2,)))
    assert short2.accuracy[0] == 1.0  # the two first finishers both say 0
    assert short2.latency[0] == 20  # the second finisher's length
    assert short2.cost[0] == 10 + 20 + 4 * 20  # the four cut at 20 tokens each
    everyone = evaluate_parallel(pt, make_rule("fixed", (6,)))  # majority@6: 1 wins 4–2
    assert everyone.accuracy[0] == 0.0
    assert everyone.latency[0] == 60 and everyone.cost[0] == 210
    first = evaluate_parallel(pt, make_rule("fixed", (1,)))  # first finish search
    assert first.latency[0] == 10 and first.cost[0] == 60 and first.accuracy[0] == 1.0


def test_an_adaptive_rule_stops_on_the_finishers():
    # beta:0.9 holds at 3 votes to none (1 − 0.5⁴ = 0.94): the three shortest agree, so it stops
    # at the 3rd finisher, cutting the other five at 7 tokens.
    d = one_problem([5, 6, 7, 8, 100, 100, 100, 100], [2, 2, 2, 2, 0, 0, 0, 0], correct_answer=0)
    pt = parallel_trace(d, np.array([1.0]), 8, Aggregation("vote"), reps=4, seed=0)
    o = evaluate_parallel(pt, make_rule("beta", (0.9,), max_samples=8))
    assert o.samples[0] == 3 and o.latency[0] == 7 and o.accuracy[0] == 0.0
    assert o.cost[0] == 5 + 6 + 7 + 5 * 7


def test_a_round_draws_k_of_the_recorded_samples_at_random():
    rng = np.random.default_rng(0)
    lengths = rng.integers(10, 1000, 40)
    d = one_problem(lengths, [0] * 40)
    pt = parallel_trace(d, np.array([1.0]), 4, Aggregation("vote"), reps=4000, seed=1)
    lat = evaluate_parallel(pt, make_rule("fixed", (4,))).latency[0]
    # E[max of 4 drawn without replacement from the 40 lengths], by enumeration over the order statistics.
    s = np.sort(lengths)
    from math import comb
    exact = sum(s[i] * comb(i, 3) for i in range(3, 40)) / comb(40, 4)
    assert lat == pytest.approx(exact, rel=0.02)


@pytest.mark.data
def test_latency_plan_on_a_published_set_and_its_replay(tmp_path, shared_data):
    import inferplan as ip

    prof = ip.import_profile("boinf", shared_data / "boinf" / "math500_Qwen3-14B.jsonl", out=tmp_path / "m.jsonl")
    sim16 = ip.simulate(prof.path, rule="fixed:16", parallel=16, unit="latency", holdout=0.5)
    result = ip.plan(prof.path, budget=0.5 * sim16.estimate.cost.point, unit="latency")
    p = result.plan
    assert p.parallel is not None and p.batch == f"parallel:{p.parallel}"
    assert result.heldout.cost.point <= 0.55 * sim16.estimate.cost.point
    assert result.heldout.accuracy.point >= sim16.estimate.accuracy.point - 0.01
    # simulate --plan replays the same round on the same held-out problems
    again = ip.simulate(prof.path, plan=p)
    assert again.estimate.accuracy.point == pytest.approx(result.heldout.accuracy.point)
    assert again.estimate.cost.point == pytest.approx(result.heldout.cost.point)
    with pytest.raises(ip.InferplanError, match="latency"):
        ip.simulate(prof.path, rule="fixed:3", unit="latency")


def _overthinking_set(path, problems: int = 120, samples: int = 16, seed: int = 0):
    """A Best-of-∞-format file where a problem's relatively short chains are the right ones
    (each problem has its own length scale, so no global token cap can pick them)."""
    import json

    rng = np.random.default_rng(seed)
    with open(path, "w") as f:
        for i in range(problems):
            scale = rng.uniform(300, 3000)
            rel = rng.uniform(0.5, 1.5, samples)
            right = rng.random(samples) < np.where(rel < 1.0, 0.85, 0.15)
            answers = [["7" if ok else str(rng.integers(100, 999)), int(scale * r)] for ok, r in zip(right, rel)]
            f.write(json.dumps({"problem_num": i, "gold_answer": "7", "all_answers": answers}) + "\n")
    return path


def test_token_plan_takes_a_parallel_round_where_the_first_finishers_are_right(tmp_path):
    import inferplan as ip

    src = _overthinking_set(tmp_path / "over.jsonl")
    prof = ip.import_profile("boinf", src, out=tmp_path / "over.profile.jsonl")
    f16 = ip.simulate(prof.path, rule="fixed:16", unit="tokens", holdout=0.5)
    budget = 0.15 * f16.estimate.cost.point
    with_rounds = ip.plan(prof.path, budget=budget, unit="tokens")
    sequential = ip.plan(prof.path, budget=budget, unit="tokens", parallel=1)
    p = with_rounds.plan
    assert p.parallel is not None and p.batch == f"parallel:{p.parallel}"
    assert sequential.plan.parallel is None and sequential.plan.batch == "lookahead"
    assert with_rounds.heldout.accuracy.point > sequential.heldout.accuracy.point + 0.05
    assert with_rounds.heldout.cost.point <= 1.15 * budget  # cancelled samples' tokens are charged
    assert any("parallel round" in n for n in p.notes)
    again = ip.simulate(prof.path, plan=p)  # replayed the same way, with the usual fixed-N baselines
    assert again.estimate.accuracy.point == pytest.approx(with_rounds.heldout.accuracy.point)
    assert again.estimate.cost.point == pytest.approx(with_rounds.heldout.cost.point)
    assert any(b.name == "fixed-16" for b in again.baselines)
