"""Mixes across models in one vote, run end to end on two real GGUFs in-process (issue 31).

The embedded model copied as small.gguf and big.gguf (two model files, the same weights, priced
10× apart in USD), each profiled on the same few built-in problems, planned as a mix
(``policy="mix"``), saved, and run through the CLI and the API: every query's answer is the one
vote over both models' samples, each model draws its own samples and is charged in its own cost.
A mix whose model is not there fails in one line before any work starts.
"""

from __future__ import annotations

import shutil
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

import inferplan as ip
from inferplan.backends import open_backend
from inferplan.backends.embedded import embedded_model_path
from inferplan.errors import InputError, ModelError
from inferplan.planner.plan_file import Plan, PlanModel, PoolMember, load_plan, save_plan
from inferplan.policy.stopping import make_rule
from inferplan.runner.mix_runner import run_mix
from inferplan.runner.queries import as_queries

pytestmark = pytest.mark.slow

TASKS = "builtin:arith:12"
QUESTIONS = ["What is 2 + 2?", "What is 17 + 25?", "What is 9 × 7?", "What is 81 - 39?"]
PRICES = {"small.gguf": (0.1, 1.0), "big.gguf": (1.0, 10.0)}  # USD per million prompt, completion tokens


def _fixed(plan: Plan, k: int) -> Plan:
    return replace(plan, rule=make_rule("fixed", (k,)))


@pytest.fixture(scope="module")
def mix(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """small.gguf and big.gguf, each profiled on the same problems, and their mix plan: 3 samples of
    the small model and 2 of the big one (the planner's own mix, its counts set so both draw)."""
    work = tmp_path_factory.mktemp("mix")
    profiles = []
    for name in PRICES:
        shutil.copyfile(embedded_model_path(), work / name)
        out = work / f"{name}.jsonl"
        ip.profile(str(work / name), out=out, tasks=TASKS, temperatures=(0.7,), samples=4, max_tokens=48)
        profiles.append(out)
    r = ip.plan_models(profiles, prices=PRICES, policy="mix", unit="usd", budget=3e-3)
    assert r.kind == "mix" and r.plan.pool and r.plan.prediction is not None
    head, other = r.plan, r.plan.pool[0].plan
    plan = replace(_fixed(head, 3) if head.model.label == "small.gguf" else _fixed(head, 2),
                   pool=(PoolMember(2 if other.model.label == "big.gguf" else 3,
                                    _fixed(other, 2 if other.model.label == "big.gguf" else 3)),))
    return {"work": work, "plan": save_plan(plan, work / "mix.json"), "profiles": profiles}


def test_two_ggufs_in_one_vote_run_and_evaluate(cli, mix) -> None:
    plan = load_plan(mix["plan"])
    drawn = {p.model.label: p.max_samples for p in plan.members}
    assert drawn == {"small.gguf": 3, "big.gguf": 2}
    r = cli("run", "--plan", mix["plan"], *QUESTIONS, "--json", "--no-timing")
    assert r.code == 0, r.err
    lines = r.json_lines()
    assert len(lines) == len(QUESTIONS)
    for d in lines:
        pool = d["pool"]
        assert {p["model"]: p["samples"] for p in pool} == drawn
        pooled = Counter()
        for p in pool:
            pooled.update(p["votes"])
        assert d["votes"] == dict(pooled)  # one vote over every model's answers, by their text
        assert d["samples"] == 5 and d["completion_tokens"] == sum(p["completion_tokens"] for p in pool)
        if d["votes"]:
            assert d["votes"][d["answer"]] == max(d["votes"].values())  # the pooled leader, not one model's
        else:
            assert d["answer"] is None
        assert d["model"] == "small.gguf + big.gguf" or d["model"] == "big.gguf + small.gguf"
    # Same weights, own seeds: the two models do not repeat each other's draws (the texts differ somewhere).
    again = cli("run", "--plan", mix["plan"], *QUESTIONS, "--json", "--no-timing", "--show-samples")
    first = plan.members[0].max_samples
    texts = [(d["texts"][:first], d["texts"][first:]) for d in again.json_lines()]
    assert any(a[:2] != b[:2] for a, b in texts)
    assert [d["answer"] for d in again.json_lines()] == [d["answer"] for d in lines]  # seeded: reproducible

    r = cli("evaluate", "--plan", mix["plan"], "--limit", "4", "--json")
    assert r.code == 0, r.err
    d = r.json()
    assert [m["model"] for m in d["models"]] == [p.model.label for p in plan.members]
    assert sum(m["cost_per_query"] for m in d["models"]) == pytest.approx(d["realised"]["cost_per_query"])
    assert d["checks"]["accuracy_in_predicted_interval"] is not None and "escalation" not in d


def test_evaluate_charges_each_model_in_its_own_cost(mix) -> None:
    e = ip.evaluate(mix["plan"], limit=4)
    assert e.escalation is None and len(e.by_model) == 2
    for k, (name, cost) in enumerate(e.by_model):
        parts = [r.pool[k] for r in e.results]
        assert all(p.model == name for p in parts)
        # this model's own prices × its own tokens (the prompt once, or once per sample)
        p_in, p_out = PRICES[name]
        candidates = [sum(p.completion_tokens * p_out + p.prompt_tokens * p_in * (p.samples if per else 1)
                          for p in parts) / len(parts) / 1e6 for per in (False, True)]
        assert any(cost == pytest.approx(c) for c in candidates), (name, cost, candidates)
    assert e.realised.cost.point == pytest.approx(sum(c for _, c in e.by_model))


def test_a_mix_whose_model_is_not_there_fails_in_one_line_before_any_work(cli, mix, tmp_path) -> None:
    gone = tmp_path / "big.gguf"
    shutil.copyfile(mix["work"] / "big.gguf", gone)
    plan = load_plan(mix["plan"])
    members = [replace(m, plan=replace(m.plan, model=PlanModel(str(gone), m.plan.model.sha256)))
               if m.plan.model.label == "big.gguf" else m for m in plan.pool]
    head = plan if plan.model.label != "big.gguf" else replace(plan, model=PlanModel(str(gone), plan.model.sha256))
    moved = replace(head, pool=tuple(members))
    path = save_plan(moved, tmp_path / "moved.json")
    gone.unlink()
    start = time.monotonic()
    for verb in (("run", "--plan", path, *QUESTIONS, "--json"), ("evaluate", "--plan", path, "--json")):
        r = cli(*verb)
        assert r.code == 4 and r.out == "", r.err
        (line,) = [x for x in r.err.splitlines() if x.strip()]
        assert "big.gguf" in line and "Traceback" not in r.err
    assert time.monotonic() - start < 20  # nothing loaded, nothing sampled

    opened: list[str] = []  # through the API: the model that is there is not opened either
    with pytest.raises(ModelError, match="big.gguf"):
        run_mix(as_queries(QUESTIONS), moved, open_model=lambda spec, s: opened.append(spec) or open_backend(spec, s))
    assert opened == []

    other = tmp_path / "other.gguf"  # --model NAME=SPEC says where it lives now
    shutil.copyfile(mix["work"] / "small.gguf", other)
    r = cli("run", "--plan", path, QUESTIONS[0], "--model", f"big.gguf={other}", "--json", "--no-timing")
    assert r.code == 0, r.err
    (d,) = r.json_lines()
    assert {p["model"] for p in d["pool"]} == {"small.gguf", "other.gguf"}
    r = cli("run", "--plan", path, QUESTIONS[0], "--model", f"huge.gguf={other}")
    assert r.code == 3 and "huge.gguf" in r.err and r.out == ""


def test_a_pool_member_must_draw_what_it_says(mix, tmp_path) -> None:
    plan = load_plan(mix["plan"])
    broken = replace(plan, pool=(PoolMember(plan.pool[0].samples + 1, plan.pool[0].plan),))
    path = save_plan(broken, tmp_path / "broken.json")
    with pytest.raises(InputError, match="pool"):
        load_plan(Path(path))


def test_serve_answers_by_the_one_vote_of_both_models(mix) -> None:
    """`inferplan serve` of a mix: each request draws on both models at once and one vote decides."""
    openai = pytest.importorskip("openai")
    from plan_server import PlanServer

    server = PlanServer(mix["plan"]).start()
    try:
        client = openai.OpenAI(base_url=server.url, api_key="none", max_retries=0, timeout=120)
        reply = client.chat.completions.create(model="x", messages=[{"role": "user", "content": QUESTIONS[1]}], seed=3)
        d = reply.model_extra["inferplan"]
        drawn = {p["model"]: p["samples"] for p in d["pool"]}
        assert drawn == {"small.gguf": 3, "big.gguf": 2} and d["samples"] == 5
        assert sum(d["votes"].values()) <= 5
        if d["answer"] is not None:
            assert d["votes"][d["answer"]] == max(d["votes"].values())
        assert server.health()["answered"] == 1
    finally:
        assert server.stop() in (0, 130), server.stderr


def test_a_gguf_in_process_and_a_server_in_one_vote(cli, mix, tmp_path: Path) -> None:
    """A mix of small.gguf (in-process) and a llama-cpp-python server this test starts: both draw,
    one vote over their answers."""
    from servers import LlamaServer

    work = mix["work"]
    with LlamaServer(embedded_model_path(), log=tmp_path / "server.log") as server:
        remote = work / "server.jsonl"
        ip.profile(server.url, out=remote, tasks=TASKS, temperatures=(0.7,), samples=4, max_tokens=48)
        small = next(p for p in mix["profiles"] if p.name.startswith("small"))
        r = ip.plan_models([small, remote], prices={"small.gguf": PRICES["small.gguf"], server.url: (1.0, 10.0)},
                           policy="mix", unit="usd", budget=3e-3)
        assert r.kind == "mix"
        head, other = r.plan, r.plan.pool[0].plan
        plan = replace(_fixed(head, 2), pool=(PoolMember(2, _fixed(other, 2)),))
        path = save_plan(plan, work / "mix-server.json")
        out = cli("run", "--plan", path, *QUESTIONS[:2], "--json", "--no-timing")
        assert out.code == 0, out.err
        for d in out.json_lines():
            assert {p["model"] for p in d["pool"]} == {"small.gguf", server.url} and d["samples"] == 4
            pooled = Counter()
            for p in d["pool"]:
                pooled.update(p["votes"])
            assert d["votes"] == dict(pooled)
