"""`inferplan plan` and `inferplan simulate` through the real CLI on real recorded data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from inferplan.errors import ExitCode

pytestmark = pytest.mark.data


@pytest.fixture(scope="module")
def esc(imported) -> Path:
    return imported("esc", "esc/last_letters_gpt35.jsonl")


@pytest.fixture(scope="module")
def math500(imported) -> Path:
    return imported("boinf", "boinf/math500_NVIDIA-Nemotron-Nano-9B-v2.jsonl")


def test_plan_writes_a_plan_that_simulate_replays(cli, esc: Path, tmp_path: Path) -> None:
    plan_path = tmp_path / "p.json"
    r = cli("plan", esc, "--budget", "6.4", "--unit", "samples", "-o", plan_path, "--json")
    assert r.code == 0, r.err
    out = r.json()
    saved = json.loads(plan_path.read_text())
    assert saved["format"] == "inferplan.plan/1"
    assert saved["profile"]["path"] == str(esc) and len(saved["profile"]["sha256"]) == 64
    assert saved["objective"] == {"kind": "max-accuracy", "budget": 6.4, "target_accuracy": None, "unit": "samples"}
    assert saved["mix"] == {"t0.7": 1.0} and saved["aggregation"]["kind"] == "vote"
    assert saved["stopping"]["name"] in ("fixed", "beta", "esc", "ratio", "entropy", "sprt", "msprt", "bayes")
    assert len(saved["heldout_problems"]) == 250 and out["split"] == {"source": "seeded", "train": 250, "test": 250}
    pred = saved["prediction"]
    assert pred["accuracy_ci"][0] <= pred["accuracy"] <= pred["accuracy_ci"][1]
    assert 0.75 < pred["accuracy"] < 0.9 and pred["samples"] < 8
    names = [b["name"] for b in out["baselines"]]
    assert any(n.startswith("best fixed-N") for n in names) and any(n.startswith("one sample") for n in names)
    assert out["pareto"] and all("heldout" in p for p in out["pareto"])

    s = cli("simulate", esc, "--plan", plan_path, "--json")
    assert s.code == 0, s.err
    sim = s.json()
    # Replaying the plan on its held-out problems reproduces the prediction exactly (same orders).
    assert sim["plan"]["accuracy"] == pytest.approx(pred["accuracy"])
    assert sim["plan"]["samples_per_query"] == pytest.approx(pred["samples"])
    assert sim["problems"] == 250
    assert [b["name"] for b in sim["baselines"]] == [f"fixed-{n}" for n in (1, 2, 4, 8, 16, 32, 40)]
    for key in ("accuracy", "accuracy_ci", "cost_per_query", "samples_per_query"):
        assert key in sim["plan"] and key in sim["baselines"][0]


def test_simulate_rule_table_output(cli, esc: Path) -> None:
    r = cli("simulate", esc, "--rule", "beta:0.95", "--max-samples", "40", "--reps", "5")
    assert r.code == 0, r.err
    assert "beta:0.95,min=1,max=40" in r.out and "fixed-16" in r.out and "all problems" in r.out


def test_plan_in_tokens_beats_fixed16(cli, math500: Path) -> None:
    r = cli("plan", math500, "--budget", "60000", "--unit", "tokens", "--json")
    assert r.code == 0, r.err
    out = r.json()
    assert out["plan"]["cost_per_query"] < 0.4 * 16 * 11000  # well under fixed-16's ~180k tokens
    best_fixed = next(b for b in out["baselines"] if b["name"].startswith("best fixed-N"))
    assert out["plan"]["accuracy"] >= best_fixed["accuracy"] - 0.01


def test_target_accuracy_and_infeasible_messages(cli, esc: Path) -> None:
    r = cli("plan", esc, "--target-accuracy", "0.8", "--unit", "samples", "--json")
    assert r.code == 0, r.err
    assert r.json()["plan"]["objective"]["kind"] == "min-cost"
    r = cli("plan", esc, "--target-accuracy", "0.99", "--unit", "samples")
    assert r.code == ExitCode.INFEASIBLE and "best achievable" in r.err and "Traceback" not in r.err
    r = cli("plan", esc, "--budget", "0.5", "--unit", "samples")
    assert r.code == ExitCode.INFEASIBLE and "cheapest" in r.err


@pytest.mark.parametrize("args,needle", [
    (("simulate", "{p}", "--rule", "nope:3"), "unknown stopping rule"),
    (("simulate", "{p}", "--rule", "beta:abc"), "not a number"),
    (("simulate", "{p}"), "exactly one of --plan or --rule"),
    (("plan", "{p}", "--budget", "10", "--unit", "usd"), "--price-in"),
    (("plan", "{p}", "--budget", "10", "--aggregate", "logprob"), "logprob"),
    (("plan", "{p}", "--unit", "samples"), "exactly one of --budget or --target-accuracy"),
    (("plan", "{p}", "--budget", "10", "--holdout", "1.5"), "--holdout"),
    (("simulate", "{p}", "--plan", "/nonexistent/plan.json"), "no such plan"),
])
def test_bad_input_is_one_line_exit_3(cli, math500: Path, args: tuple, needle: str) -> None:
    r = cli(*[a.format(p=math500) for a in args])
    assert r.code == ExitCode.BAD_INPUT, (r.code, r.err)
    assert needle in r.err and len(r.err.strip().splitlines()) == 1


def test_malformed_plan_file(cli, esc: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"format": "inferplan.plan/9"}))
    r = cli("simulate", esc, "--plan", bad)
    assert r.code == ExitCode.BAD_INPUT and "version" in r.err
    bad.write_text(json.dumps({"format": "inferplan.plan/1", "mix": {}}))
    r = cli("simulate", esc, "--plan", bad)
    assert r.code == ExitCode.BAD_INPUT and "malformed plan" in r.err


def test_oracle_aggregation_plans_pass_at_k(cli, math500: Path) -> None:
    vote = cli("plan", math500, "--budget", "4", "--unit", "samples", "--json").json()
    oracle = cli("plan", math500, "--budget", "4", "--unit", "samples", "--aggregate", "oracle", "--json").json()
    assert oracle["plan"]["aggregation"]["kind"] == "oracle"
    assert oracle["plan"]["accuracy"] >= vote["plan"]["accuracy"]  # a perfect verifier never does worse
