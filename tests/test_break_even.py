"""Every plan states its break-even: what the profile cost and after how many queries
the plan's saving per query has repaid it (issue 16, point 3)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import inferplan as ip
from inferplan.profiles.header import ConfigSpec
from inferplan.profiles.store import ProfileWriter


def _profile(path: Path, p_right: float = 0.7, problems: int = 60, samples: int = 16) -> Path:
    rng = np.random.default_rng(11)
    pids = [f"p{i}" for i in range(problems)]
    with ProfileWriter(path, {"configs": [ConfigSpec("t0.7", 0.7).to_json()], "problem_ids": pids}) as w:
        for pid in pids:
            p = rng.beta(8 * p_right, 8 * (1 - p_right))
            right = rng.random(samples) < p
            w.write([{"problem": pid, "config": "t0.7", "index": i, "answer": "7" if ok else str(i % 3),
                      "correct": bool(ok), "completion_tokens": int(rng.integers(40, 80)), "prompt_tokens": 20}
                     for i, ok in enumerate(right)])
    return path


def test_break_even_is_the_profile_cost_over_the_saving(tmp_path: Path) -> None:
    path = _profile(tmp_path / "p.jsonl")
    result = ip.plan(path, budget=400, unit="tokens", seed=0)
    even = result.break_even
    assert even is not None and even.unit == "tokens"
    rows = [json.loads(line) for line in path.read_text().splitlines()[1:]]
    # Every completion token, plus each problem's shared prompt once (one configuration).
    assert even.profile_cost == pytest.approx(sum(r["completion_tokens"] for r in rows) + 20 * 60)
    assert even.saving_per_query == pytest.approx(even.baseline_cost - result.heldout.cost.point)
    if even.saving_per_query > 0:
        assert even.queries == pytest.approx(even.profile_cost / even.saving_per_query)
        assert f"{int(np.ceil(even.queries)):,} queries" in even.note
    assert even.baseline_accuracy >= result.heldout.accuracy.point or "fixed:" in even.baseline
    assert even.note in result.plan.notes  # printed by `plan` and kept in the plan file


def test_a_plan_that_saves_nothing_says_it_never_repays(tmp_path: Path) -> None:
    # Unanimous answers: one sample is as good as any plan, nothing to save.
    path = _profile(tmp_path / "easy.jsonl", p_right=0.999)
    result = ip.plan(path, budget=1, unit="samples", seed=0)
    even = result.break_even
    assert even is not None and even.queries is None and "never repays" in even.note


def test_the_fixed_n_baseline_is_never_a_round_that_stops_at_its_first_finishers(tmp_path: Path) -> None:
    from inferplan.planner.break_even import break_even
    from inferplan.planner.candidates import Candidate, Mix
    from inferplan.planner.rounds import RoundCandidate
    from inferplan.policy.stopping import make_rule
    from inferplan.profiles.store import load_profile
    from inferplan.replay.cost import cost_model_for
    from inferplan.stats.estimate import Estimate, PerQuery

    table = load_profile(_profile(tmp_path / "p.jsonl"))
    mix = Mix((1.0,), "t0.7")
    one = Candidate(mix, None, make_rule("fixed", (1,)), 0.5, 100.0, 1.0)
    first_of_4 = RoundCandidate(mix, None, make_rule("fixed", (1,)), 0.7, 250.0, 1.0, launch=4)  # same rule, fixed:1
    held = {id(one): PerQuery(Estimate(0.5, (0.4, 0.6), 60), Estimate(100.0, (90.0, 110.0), 60), 1.0),
            id(first_of_4): PerQuery(Estimate(0.7, (0.6, 0.8), 60), Estimate(250.0, (240.0, 260.0), 60), 1.0)}
    even = break_even(table, cost_model_for(table, "tokens"), [one, first_of_4], lambda c: held[id(c)],
                      held[id(first_of_4)])
    assert even.baseline_accuracy == 0.5 and even.baseline_cost == 100.0  # one sequential sample, not first@4
