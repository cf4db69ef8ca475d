"""Budgeted and adaptive profiling (issue 16): the budget, the allocation, the replayed
source, the planner's reading of unequal counts, and a real run of the embedded model."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

import inferplan as ip
from inferplan.errors import InvalidValue
from inferplan.profiles.header import ConfigSpec
from inferplan.profiles.store import ProfileWriter, iter_records, load_profile
from inferplan.profiling import adaptive_allocation as allocation
from inferplan.profiling.adaptive import run_adaptive, run_uniform
from inferplan.profiling.adaptive_allocation import Ledger
from inferplan.profiling.budget import ProfileBudget
from inferplan.profiling.recorded_source import RecordedSource
from inferplan.replay.cost import cost_model_for
from inferplan.replay.traces import densify, draw


@pytest.mark.parametrize("text, amount, unit", [
    ("20000", 20000, "tokens"), ("400k", 400_000, "tokens"), ("2M", 2_000_000, "tokens"),
    ("30m", 1800, "seconds"), ("2h", 7200, "seconds"), ("90s", 90, "seconds"), ("1.5h", 5400, "seconds")])
def test_budget_forms(text: str, amount: float, unit: str) -> None:
    assert ProfileBudget.parse(text) == ProfileBudget(amount, unit)


@pytest.mark.parametrize("text", ["", "x", "0", "-5", "3q", "10 kb"])
def test_bad_budgets_are_one_clear_error(text: str) -> None:
    with pytest.raises(InvalidValue, match="budget"):
        ProfileBudget.parse(text)


def test_time_budget_sums_each_runs_span() -> None:
    recs = [{"run": 1, "t": 3.0}, {"run": 1, "t": 10.0}, {"run": 2, "t": 4.5}]
    assert ProfileBudget(60, "seconds").spent(recs) == 14.5
    assert ProfileBudget(60, "tokens").spent([{"completion_tokens": 7}, {"completion_tokens": 5}]) == 12


def _ledger(votes: dict[tuple[int, int], list[str]], correct: str = "a", problems: int = 3, configs: int = 1) -> Ledger:
    led = Ledger(tuple(f"p{i}" for i in range(problems)), tuple(f"c{j}" for j in range(configs)))
    for (p, c), answers in votes.items():
        for i, a in enumerate(answers):
            led.add({"problem": f"p{p}", "config": f"c{c}", "index": i, "answer": a, "correct": a == correct,
                     "completion_tokens": 10})
    return led


def test_unanimous_problems_are_settled_and_split_ones_are_not() -> None:
    led = _ledger({(0, 0): list("aaaa"), (1, 0): list("abab"), (2, 0): list("bbbb")})
    score = allocation.unsettled(led)[:, 0]
    # 4 of 4 alike: P(leader is not the mode) = 0.5^5 = 1/32 < SETTLED; a 2–2 split is a coin flip.
    assert score[0] == pytest.approx(1 / 32) and score[0] < allocation.SETTLED
    assert score[1] == pytest.approx(0.5)
    assert score[2] == allocation.TAIL  # unanimous but never correct: the hard tail stays open
    chosen = allocation.next_round(led, 100, cap=16, rng=np.random.default_rng(0))
    assert set(chosen) == {(1, 0), (2, 0)} and all(k == allocation.STEP for k in chosen.values())
    assert allocation.next_round(led, 100, cap=4, rng=np.random.default_rng(0)) == {}  # all at the cap


def test_a_clearly_worse_configuration_gets_no_more_samples() -> None:
    votes = {}
    for p in range(30):
        votes[(p, 0)] = list("aaab") if p % 3 else list("aabb")
        votes[(p, 1)] = list("bbba")  # wrong leader everywhere, one correct sample
    led = _ledger(votes, problems=30, configs=2)
    assert allocation.dominated(led).tolist() == [False, True]
    chosen = allocation.next_round(led, 1000, cap=16, rng=np.random.default_rng(0))
    assert chosen and all(c == 0 for _, c in chosen)


def _recorded(path: Path, problems: int = 40, per: int = 40, seed: int = 3) -> Path:
    """A synthetic recorded set: problems of varied difficulty, a few wrong answers, lengths 50–150."""
    rng = np.random.default_rng(seed)
    pids = [f"q{i}" for i in range(problems)]
    with ProfileWriter(path, {"configs": [ConfigSpec("t0.8", 0.8).to_json()], "problem_ids": pids}) as w:
        for pid in pids:
            p = rng.beta(0.8, 0.6)
            recs = []
            for i in range(per):
                ok = rng.random() < p
                recs.append({"problem": pid, "config": "t0.8", "index": i, "answer": "7" if ok else str(rng.integers(3)),
                             "correct": bool(ok), "completion_tokens": int(rng.integers(50, 150)), "prompt_tokens": 20})
            w.write(recs)
    return path


def _draw(src: RecordedSource, strategy: str, budget: ProfileBudget, cap: int = 32):
    led = Ledger(src.problems, src.configs)
    records = []

    def sampler(wanted, over, more=None):
        for rec in src(wanted, over, more):
            records.append(rec)
            yield rec

    run = run_adaptive if strategy == "adaptive" else run_uniform
    return run(led, budget, sampler, cap=cap, spent=lambda: led.tokens), led, records


def test_adaptive_and_uniform_stop_at_their_token_budget(tmp_path: Path) -> None:
    src = RecordedSource(_recorded(tmp_path / "r.jsonl"), seed=0)
    budget = ProfileBudget(40 * 8 * 100, "tokens")  # about 8 samples per problem
    for strategy in ("uniform", "adaptive"):
        res, led, records = _draw(src, strategy, budget)
        assert res.stopped in ("budget", "settled")
        assert led.tokens <= budget.amount + 150  # at most the sample that crossed it
        if res.stopped == "budget":
            assert led.tokens >= 0.95 * budget.amount
        assert (led.n >= 1).all()  # no problem starved
        keys = Counter((r["problem"], r["index"]) for r in records)
        assert set(keys.values()) == {1}
    _, led, records = _draw(src, "adaptive", budget)
    assert len(set(led.n[:, 0])) > 1  # unequal by design …
    assert led.n.min() >= allocation.FIRST  # … after a uniform first pass
    assert {r["alloc"].split(":")[0] for r in records} == {"pilot", "uniform", "adaptive"}


def test_recorded_source_serves_one_seeded_order_and_nothing_past_it(tmp_path: Path) -> None:
    path = _recorded(tmp_path / "r.jsonl", problems=2, per=5)
    a, b = RecordedSource(path, seed=1), RecordedSource(path, seed=1)
    wanted = [(0, 0, i, "uniform") for i in range(7)]
    got = list(a(wanted, lambda: False))
    assert got == list(b(wanted, lambda: False)) and len(got) == 5
    assert [r["index"] for r in got] == list(range(5))


def _adaptive_profile(tmp_path: Path) -> Path:
    src = RecordedSource(_recorded(tmp_path / "r.jsonl", problems=60), seed=0)
    _, _, records = _draw(src, "adaptive", ProfileBudget(60 * 8 * 100, "tokens"))
    out = tmp_path / "adaptive.jsonl"
    with ProfileWriter(out, {k: v for k, v in src.header.items() if k != "format"}) as w:
        w.write(records)
    return out


def test_polya_urn_continues_short_problems_with_their_own_answers(tmp_path: Path) -> None:
    table = load_profile(_adaptive_profile(tmp_path))
    assert table.adaptive
    dense = densify(table, cost_model_for(table, "samples"))
    assert dense.extend and dense.reach(np.array([0]))[0] == dense.count.max()
    length = int(dense.count.max())
    d = draw(dense, np.array([1.0]), length, reps=4, rng=np.random.default_rng(0))
    assert d.valid.all()  # every row runs the whole length
    for row in range(0, len(d.problem), 7):
        p = d.problem[row]
        recorded = set(dense.answer[p, 0, :dense.count[p, 0]].tolist())
        assert set(d.answer[row].tolist()) <= recorded  # nothing the problem never answered
        n = dense.count[p, 0]
        assert Counter(d.answer[row, :n].tolist()) == Counter(dense.answer[p, 0, :n].tolist())  # its own first


def test_plan_on_an_adaptive_profile_replays_past_the_smallest_count_and_says_so(tmp_path: Path) -> None:
    prof = _adaptive_profile(tmp_path)
    result = ip.plan(prof, budget=6, unit="samples", seed=0)
    assert any("Pólya urn" in note for note in result.plan.notes)
    table = load_profile(prof)
    small = int(densify(table, cost_model_for(table, "samples")).count.min())
    assert any(not p.extrapolated and int(p.rule.split("max=")[1]) > small for p in result.pareto if "max=" in p.rule)
    sim = ip.simulate(prof, rule="fixed:12")
    assert sim.estimate.samples == pytest.approx(12) and any("Pólya urn" in w for w in sim.warnings)


def test_adaptive_needs_a_budget(tmp_path: Path) -> None:
    with pytest.raises(InvalidValue, match="needs --budget"):
        ip.profile(out=tmp_path / "p.jsonl", tasks="builtin:arith:4", strategy="adaptive")


@pytest.mark.slow
def test_real_adaptive_profile_stops_at_its_budget_and_resumes_after_kill_9(tmp_path: Path) -> None:
    """The embedded model under `profile --budget --strategy adaptive`, SIGKILLed mid-run, then rerun."""
    out = tmp_path / "a.jsonl"
    budget = 6000
    cmd = [sys.executable, "-m", "inferplan", "profile", "--tasks", "builtin:arith:24", "--temperatures", "0.5,1.0",
           "--samples", "12", "--max-tokens", "24", "--threads", "1", "--parallel", "8", "--budget", str(budget),
           "--strategy", "adaptive", "-o", str(out)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    deadline = time.monotonic() + 600
    while (not out.exists() or len(out.read_bytes().splitlines()) < 1 + 120) and proc.poll() is None \
            and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "profiling finished before it could be killed; make the run longer"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = subprocess.run(cmd + ["--json"], capture_output=True, text=True, env=env, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    recs = list(iter_records(out))
    keys = Counter((r["problem"], r["config"], r["index"]) for r in recs)
    assert set(keys.values()) == {1}  # nothing duplicated across the kill
    spent = sum(r["completion_tokens"] for r in recs)
    assert result["budgeted"]["stopped"] in ("budget", "settled")
    if result["budgeted"]["stopped"] == "budget":
        assert abs(spent - budget) <= 0.05 * budget
    assert spent <= budget + 24  # at most the sample that crossed it
    assert any(r.get("alloc", "").startswith("adaptive") for r in recs)
    table = load_profile(out)
    assert table.adaptive and len(set(np.bincount(table.problem * 2 + table.config))) > 1


@pytest.mark.parametrize("args, message", [
    (("--budget", "3q"), "unknown unit"),
    (("--strategy", "adaptive"), "needs --budget"),
    (("--budget", "10k", "--strategy", "greedy"), "uniform or adaptive"),
])
def test_bad_budget_flags_are_one_line_and_exit_3_before_loading(cli, tmp_path: Path, args, message) -> None:
    out = tmp_path / "p.jsonl"
    res = cli("profile", "--tasks", "builtin:arith:4", "-o", out, *args)
    assert res.code == 3 and message in res.err and len(res.err.strip().splitlines()) == 1
    assert not out.exists()  # refused before anything was written
