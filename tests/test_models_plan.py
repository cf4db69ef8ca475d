"""Plans across models (issue 31): the cascade's replay against a direct simulation from its
definition, the planner finding the right model, the plan file, and one-line errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

import inferplan as ip
from inferplan.planner.models import ModelsSearch, stage_plan
from inferplan.planner.plan_file import Escalation, Plan, load_plan, save_plan
from inferplan.policy.cascade import Cascade, Stage, answer_stands
from inferplan.policy.stopping import make_rule
from inferplan.profiles.store import load_profile
from inferplan.replay.cascade import cascade_outcome, stage_outcome
from inferplan.replay.cost import CostModel
from inferplan.replay.traces import densify, evaluate, trace

ACTIVE = {"gpt-oss-20b": 3.6e9, "Phi-4-reasoning": 14.7e9, "NVIDIA-Nemotron-Nano-9B-v2": 9.0e9, "Qwen3-14B": 14.8e9}


def _direct_cascade(a, b, gold, n_first: int, share: float, rng: np.random.Generator, reps: int) -> float:
    """The MoT cascade simulated from its definition: draw n_first of A's answers without replacement;
    the majority stands if it holds ≥ share of them, else one of B's answers is the answer."""
    right = 0.0
    for ans_a, ans_b, g in zip(a, b, gold):
        for _ in range(reps):
            drawn = rng.choice(ans_a, size=n_first, replace=False)
            values, counts = np.unique([x for x in drawn if x is not None], return_counts=True)
            lead = counts.max() if len(counts) else 0
            if answer_stands(share, int(lead), n_first, True):
                tops = values[counts == lead]
                right += np.mean([t == g for t in tops])  # a tie is broken at random
            else:
                right += rng.choice(ans_b) == g
    return right / (len(gold) * reps)


@pytest.mark.data
def test_cascade_replay_matches_its_definition(shared_data, tmp_path) -> None:
    paths = {m: tmp_path / f"{m}.jsonl" for m in ("gpt-oss-20b", "Phi-4-reasoning")}
    for m, p in paths.items():
        ip.import_profile("boinf", shared_data / "boinf" / f"gpqa_diamond_{m}.jsonl", out=p)
    ta, tb = load_profile(paths["gpt-oss-20b"]), load_profile(paths["Phi-4-reasoning"])
    assert ta.problems == tb.problems
    first = stage_outcome(trace(densify(ta, CostModel("samples")), np.array([1.0]), 4, _vote(), reps=200, seed=1),
                          make_rule("fixed", (4,)), 0.75)
    last = evaluate(trace(densify(tb, CostModel("samples")), np.array([1.0]), 1, _vote(), reps=200, seed=2),
                    make_rule("fixed", (1,)))
    replayed = cascade_outcome(first, last)

    def answers(t):
        return [[t.answer_names[p][a] if a >= 0 else None for a in t.answer[t.problem == p]] for p in range(len(t.problems))]

    gold = [ta.header.raw["gold"][pid] for pid in ta.problems]
    direct = _direct_cascade(answers(ta), answers(tb), gold, 4, 0.75, np.random.default_rng(3), 60)
    assert abs(replayed.accuracy.mean() - direct) < 0.01
    # A query escalates exactly when the first stage's answer does not stand: cost adds up.
    assert np.allclose(replayed.samples, 4 + first.escalate)
    assert 0.0 < first.escalate.mean() < 0.5


def _vote():
    from inferplan.policy.aggregate import Aggregation

    return Aggregation("vote")


@pytest.mark.data
def test_plan_across_models_finds_the_model_that_is_cheaper_and_better(shared_data, tmp_path) -> None:
    """On AIME 2025, gpt-oss-20b's fixed-16 costs 0.06× Qwen3-14B's FLOPs and scores higher: at
    Qwen3-14B's fixed-16 budget the plan must answer with gpt-oss-20b, cheaply."""
    profiles = []
    for m in ("Qwen3-14B", "gpt-oss-20b"):
        out = tmp_path / f"{m}.jsonl"
        ip.import_profile("boinf", shared_data / "boinf" / f"aime2025_{m}.jsonl", out=out)
        profiles.append(out)
    search = ModelsSearch([_model(p) for p in profiles], unit="flops", seed=0)
    qwen = next(s for s in search.searches if s.model.name == "Qwen3-14B")
    budget = next(c.cost for c in qwen.cands if c.rule.name == "fixed" and c.rule.max_samples == 16 and c.cap is None)
    r = search.plan(budget=budget)
    assert r.plan.model.label == "gpt-oss-20b" or (r.kind == "cascade" and r.cascade.cascade.stages[0].model == "gpt-oss-20b")
    assert r.heldout.cost.point < 0.5 * budget
    assert r.heldout.accuracy.interval[0] < r.heldout.accuracy.point < r.heldout.accuracy.interval[1]
    own = {s.model: s for s in r.singles}
    assert r.heldout.accuracy.point >= own["Qwen3-14B"].heldout.accuracy.point


def _model(path):
    from inferplan.planner.models import ModelProfile, model_name

    prof = ip.open_profile(path)
    name = model_name(prof)
    return ModelProfile(name, prof, CostModel("flops", parameters=ACTIVE[name]))


@pytest.mark.data
def test_a_cascade_plan_round_trips_and_reads_in_words(shared_data, tmp_path) -> None:
    paths = []
    for m in ("gpt-oss-20b", "Phi-4-reasoning"):
        out = tmp_path / f"{m}.jsonl"
        ip.import_profile("boinf", shared_data / "boinf" / f"gpqa_diamond_{m}.jsonl", out=out)
        paths.append(out)
    params = {m: ACTIVE[m] for m in ("gpt-oss-20b", "Phi-4-reasoning")}
    r = ip.plan_models(paths, budget=2e15, unit="flops", parameters=params, policy="cascade")
    assert r.kind == "cascade" and r.plan.escalate is not None and 0 < r.escalation < 1
    saved = save_plan(r.plan, tmp_path / "casc.json")
    back = load_plan(saved)
    assert back == r.plan
    assert [s.model.name for s in back.stages] == ["gpt-oss-20b", "Phi-4-reasoning"]
    assert [s.model.parameters for s in back.stages] == [3.6e9, 14.7e9]  # what evaluate charges a token with
    assert isinstance(back.cascade, Cascade) and "otherwise escalate" in back.cascade.describe()
    assert back.prediction.escalation == pytest.approx(r.escalation)
    # An imported set cannot be run: running the cascade says so in one line before any work.
    with pytest.raises(ip.InferplanError, match="published samples"):
        ip.run(back, ["What is 2 + 2?"])


def test_stage_accepts_by_its_share_and_only_when_its_rule_ended_the_query() -> None:
    s = Stage("a", "t0.7", make_rule("fixed", (4,)), 0.75)
    assert answer_stands(0.75, 3, 4, True) and not answer_stands(0.75, 2, 4, True)
    assert not answer_stands(0.75, 4, 4, False)  # the max guard ended it: escalate
    assert "75%" in s.describe()
    with pytest.raises(ip.InferplanError):
        Cascade((s,))
    with pytest.raises(ip.InferplanError):
        Stage("a", "t", make_rule("fixed", (1,)), 1.5)


@pytest.mark.data
def test_cli_plan_across_models_one_line_errors(cli, shared_data, tmp_path) -> None:
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    ip.import_profile("boinf", shared_data / "boinf" / "gpqa_diamond_gpt-oss-20b.jsonl", out=a)
    ip.import_profile("boinf", shared_data / "boinf" / "math500_Qwen3-14B.jsonl", out=b)
    r = cli("plan", str(a), str(b), "--budget", "1e15", "--unit", "flops", "--params", "gpt-oss-20b=3.6e9",
            "--params", "Qwen3-14B=14.8e9")
    assert r.code == 3 and "hold different problems" in r.err and len(r.err.strip().splitlines()) == 1
    r = cli("plan", str(a), str(a), "--budget", "5")
    assert r.code == 3 and "--same-token-cost" in r.err
    r = cli("plan", str(a), str(a), "--budget", "5", "--unit", "latency", "--same-token-cost")
    assert r.code == 3 and "not planned across models" in r.err and len(r.err.strip().splitlines()) == 1
    r = cli("plan", str(a), str(b), "--budget", "5", "--unit", "flops", "--params", "gpt-oss-20b")
    assert r.code == 3 and "--params" in r.err and "MODEL=N" in r.err


@pytest.mark.data
def test_cli_plan_across_models_json(cli, shared_data, tmp_path) -> None:
    paths = []
    for m in ("gpt-oss-20b", "Phi-4-reasoning", "NVIDIA-Nemotron-Nano-9B-v2"):
        out = tmp_path / f"{m}.jsonl"
        ip.import_profile("boinf", shared_data / "boinf" / f"gpqa_diamond_{m}.jsonl", out=out)
        paths.append(str(out))
    params = [x for m, n in ACTIVE.items() if m != "Qwen3-14B" for x in ("--params", f"{m}={n}")]
    r = cli("plan", *paths, "--budget", "1e15", "--unit", "flops", *params, "--json", "-o", str(tmp_path / "p.json"))
    assert r.code == 0, r.err
    d = json.loads(r.out)
    assert {m["model"] for m in d["models"]} == {"gpt-oss-20b", "Phi-4-reasoning", "NVIDIA-Nemotron-Nano-9B-v2"}
    lo, hi = d["heldout"]["accuracy_ci"]
    assert lo < d["heldout"]["accuracy"] < hi
    assert Plan.from_json(json.loads((tmp_path / "p.json").read_text())).prediction.accuracy.point == d["heldout"]["accuracy"]
    # Each model's held-out frontier, cheapest first, for the picture: as --json, as a terminal chart and a PNG.
    fronts = {f["model"]: f["points"] for f in d["frontiers"]}
    assert set(fronts) == {m["model"] for m in d["models"]}
    for points in fronts.values():
        costs = [q["heldout"]["cost"] for q in points]
        assert len(points) >= 2 and costs[0] < costs[-1]
    shown = cli("plan", *paths, "--budget", "1e15", "--unit", "flops", *params, "--plot", str(tmp_path / "f.png"))
    assert shown.code == 0, shown.err
    assert "Accuracy against flops/query" in shown.out and "* chosen" in shown.out
    assert (tmp_path / "f.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    one = cli("plan", paths[0], "--budget", "1e15", "--unit", "flops", "--plot", str(tmp_path / "g.png"))
    assert one.code == 3 and "--plot draws a plan across models" in one.err and not (tmp_path / "g.png").exists()


def test_stage_plans_chain_into_one_file(tmp_path) -> None:
    """The escalate block nests a whole plan: each stage keeps its own model, prompt and rule."""
    from inferplan.planner.plan_file import PlanModel
    from inferplan.policy.aggregate import Aggregation

    def one(name: str, rule: str, n: int, escalate=None) -> Plan:
        return Plan(profile=f"/x/{name}.jsonl", profile_sha256="0" * 64, objective="max-accuracy", budget=1.0,
                    target_accuracy=None, unit="seconds", mix={"t0.7": 1.0}, configs={}, aggregation=Aggregation("vote"),
                    rule=make_rule(rule, (n,)), model=PlanModel(f"/m/{name}.gguf", "ab" * 32), escalate=escalate)

    plan = one("small", "fixed", 2, Escalation(0.75, one("big", "fixed", 1)))
    back = Plan.from_json(json.loads(json.dumps(plan.to_json())))
    assert back == plan and [s.model.label for s in back.stages] == ["small.gguf", "big.gguf"]
    assert back.cascade.spec == "small.gguf (fixed:2, stands at 75%) → big.gguf (fixed:1)"
    assert stage_plan  # the planner builds each stage the same way (planner/models.py)
