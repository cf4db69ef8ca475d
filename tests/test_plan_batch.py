"""plan --batch (issue 33): the batch allocator's parameters chosen on training problems, predicted on held-out."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import inferplan as ip
from inferplan.errors import InputError
from inferplan.planner.batch_choice import pick
from inferplan.planner.batch_policy import BatchPolicy
from inferplan.planner.plan_file import load_plan
from test_plan_heldout_blind import _profile


def test_pick_keeps_the_default_unless_a_challenger_wins_by_a_paired_se():
    rng = np.random.default_rng(0)
    base = rng.random(200)
    noise = base + rng.normal(0, 0.2, 200)  # about the same mean, a paired SE of ~0.014
    assert pick([base, noise - noise.mean() + base.mean() + 0.005]) == 0
    assert pick([base, base + 0.05 + rng.normal(0, 0.01, 200)]) == 1
    assert pick([base + 0.1, base]) == 0


def test_plan_batch_on_gpqa_records_the_choice_and_a_heldout_prediction(cli, imported, tmp_path):
    prof = imported("boinf", "boinf/gpqa_diamond_gpt-oss-20b.jsonl")
    out = tmp_path / "plan.json"
    res = cli("plan", str(prof), "--budget", "13500", "--batch", "-o", str(out), "--json")
    assert res.code == 0, res.err
    b = res.json()["plan"]["batch_allocation"]
    assert b["allocator"] in ("within-rule", "plain", "hybrid") and b["warmup"] in (1, 2, 4)
    assert [t["candidate"] for t in b["train"]][0] == "within-rule/1" and len(b["train"]) == 7
    assert [t["candidate"] for t in b["train"]][-1] == "hybrid≤80/1"
    p = b["prediction"]
    assert p["problems"] == 99 and p["cost"] <= 13500  # the total is hard on the held-out replay too
    for key in ("accuracy", "self_consistency", "uniform_accuracy"):
        lo, hi = p[f"{key}_ci"]
        assert lo < p[key] < hi and hi - lo > 0.05  # 99 problems: never a point
    plan = load_plan(out)
    assert plan.batch_allocation is not None and plan.batch_allocation.to_json() == b
    text = cli("plan", str(prof), "--budget", "13500", "--batch")
    assert text.code == 0 and "one total" in text.out and "knowledge gradient" in text.out
    assert "uniform at the same total" in text.out


def test_the_choice_never_sees_the_heldout_problems(tmp_path: Path):
    first = ip.plan(_profile(tmp_path / "a.jsonl"), budget=400, unit="tokens", seed=0, batch=True)
    heldout = set(first.plan.heldout)
    second = ip.plan(_profile(tmp_path / "b.jsonl", heldout), budget=400, unit="tokens", seed=0, batch=True)
    a, b = first.plan.batch_allocation, second.plan.batch_allocation
    assert (a.allocator, a.warmup, a.max_samples, a.train) == (b.allocator, b.warmup, b.max_samples, b.train)
    assert a.prediction.accuracy.point != b.prediction.accuracy.point  # the rewrite reached the held-out replay


@pytest.mark.parametrize("args, text", [
    (["--target-accuracy", "0.6"], "--batch chooses an allocation of one total"),
    (["--budget", "400", "--unit", "flops"], "no total of it can be kept hard"),
    (["--budget", "0.001", "--unit", "usd", "--price-in", "0.1", "--price-out", "0.5"], "prompt tokens have a price"),
])
def test_plan_batch_refusals_are_one_line(cli, tmp_path, args, text):
    prof = _profile(tmp_path / "p.jsonl")
    res = cli("plan", str(prof), "--batch", *args)
    assert res.code == 3 and text in res.err, res.err
    assert len(res.err.strip().splitlines()) == 1


def test_batch_block_round_trips_and_bad_blocks_are_refused(tmp_path):
    plan = replace(ip.fixed_plan(3), batch_allocation=BatchPolicy("plain", 2, max_samples=5))
    path = ip.save_plan(plan, tmp_path / "p.json")
    assert load_plan(path).batch_allocation == plan.batch_allocation
    data = json.loads(path.read_text())
    data["batch_allocation"]["allocator"] = "greedy"
    path.write_text(json.dumps(data))
    with pytest.raises(InputError, match="batch_allocation"):
        load_plan(path)
