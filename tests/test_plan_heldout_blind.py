"""Every choice `plan` makes depends on the training problems only (issue 17, point 1).

Rewriting every held-out record — correctness and lengths — must leave the chosen
plan unchanged; only its held-out prediction may move.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

import inferplan as ip
from inferplan.profiles.header import ConfigSpec
from inferplan.profiles.store import ProfileWriter


def _profile(path: Path, heldout: set[str] | None = None) -> Path:
    rng = np.random.default_rng(3)
    pids = [f"p{i}" for i in range(80)]
    p_right = rng.beta(2, 2, len(pids))
    with ProfileWriter(path, {"configs": [ConfigSpec("t0.7", 0.7).to_json()], "problem_ids": pids}) as w:
        for pid, p in zip(pids, p_right):
            rows = []
            for i in range(16):
                rambles = rng.random() < 0.15  # a long, usually wrong completion: what a token cap cuts
                right = bool(rng.random() < (0.1 if rambles else p))
                tokens = int(rng.integers(1200, 1800) if rambles else rng.integers(60, 140))
                if heldout is not None and pid in heldout:  # the rewrite: wrong answers, three times longer
                    right, tokens = not right, 3 * tokens
                rows.append({"problem": pid, "config": "t0.7", "index": i, "answer": "42" if right else str(i % 3),
                             "correct": right, "completion_tokens": tokens, "prompt_tokens": 30})
            w.write(rows)
    return path


def _choice(plan) -> tuple:
    return (plan.mix, plan.rule.spec, plan.max_tokens, plan.aggregation)


def test_rewriting_the_heldout_problems_does_not_change_the_plan(tmp_path: Path) -> None:
    first = ip.plan(_profile(tmp_path / "a.jsonl"), budget=400, unit="tokens", seed=0)
    heldout = set(first.plan.heldout)
    second = ip.plan(_profile(tmp_path / "b.jsonl", heldout), budget=400, unit="tokens", seed=0)
    assert set(second.plan.heldout) == heldout
    assert first.plan.max_tokens is not None, "the scenario must make a token cap worth choosing"
    assert _choice(second.plan) == _choice(first.plan)
    assert second.heldout.accuracy.point != first.heldout.accuracy.point  # the rewrite did reach the held-out half
    assert json.dumps(first.plan.mix) == json.dumps(second.plan.mix)


def test_missing_token_counts_are_filled_within_their_problem() -> None:
    """A sample without a token count costs its own problem's mean, so what other (held-out)
    problems' samples cost never changes a training problem's cost."""
    import numpy as np

    from inferplan.replay.cost import _fill_missing

    problem = np.array([0, 0, 0, 1, 1, 2])
    tokens = np.array([10.0, np.nan, 30.0, 100.0, 300.0, np.nan])
    filled = _fill_missing(tokens, problem)
    assert filled[1] == 20.0  # problem 0's own mean
    other = tokens.copy()
    other[3:5] *= 7  # rewrite another problem's lengths
    assert _fill_missing(other, problem)[1] == 20.0
    assert filled[5] == np.nanmean(tokens)  # no length recorded for problem 2 at all: the overall mean


def _uneven_profile(path: Path) -> Path:
    """50 problems: half with 32 samples, half with 16 (the audit's case)."""
    rng = np.random.default_rng(5)
    pids = [f"p{i}" for i in range(50)]
    with ProfileWriter(path, {"configs": [ConfigSpec("t0.7", 0.7).to_json()], "problem_ids": pids}) as w:
        for j, pid in enumerate(pids):
            p = rng.beta(2, 1.5)
            right = rng.random(32 if j % 2 else 16) < p
            w.write([{"problem": pid, "config": "t0.7", "index": i, "answer": "42" if ok else str(i % 4),
                      "correct": bool(ok), "completion_tokens": 50, "prompt_tokens": 10} for i, ok in enumerate(right)])
    return path


def test_unequal_sample_counts_are_never_replayed_short(tmp_path: Path) -> None:
    """A replayed candidate never needs more samples than the shortest problem holds, so no
    problem is stopped early and charged less; beyond that the plan is marked extrapolated."""
    result = ip.plan(_uneven_profile(tmp_path / "u.jsonl"), budget=24, unit="samples", seed=0)
    for point in result.pareto:
        if not point.extrapolated:
            assert int(point.rule.split("max=")[1]) <= 16
    fixed = [b for b in result.baselines if "fixed:" in b.name]
    assert fixed and all(b.samples == int(re.search(r"fixed:(\d+)", b.name).group(1)) for b in fixed)  # N each
    assert any("unequal sample counts" in note for note in result.plan.notes)
