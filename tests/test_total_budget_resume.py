"""run --total-budget resumes (issue 33): the record of every sample, a fake interruption, and a REAL kill -9."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

import inferplan as ip
from fakes import FakeBackend
from inferplan.errors import ConflictError, InvalidValue
from inferplan.planner.total_units import sample_cap, sample_cost, total_cost_model
from inferplan.runner.live_query import PlanOverrides
from inferplan.runner.queries import Query
from inferplan.runner.total_budget import run_total_budget
from inferplan.runner.total_journal import TotalJournal, journal_header
from inferplan.tasks.builtin import builtin_set
from kill9 import kill_once_written

CAP = 8  # max_tokens of the fake runs (the fake writes 5 tokens a sample)


def arith(n: int) -> list[Query]:
    """Sums the fake answers (right or one off, by the seed)."""
    return [Query(f"q{i}", prompt=f"What is {i} + {2 * i + 1}?") for i in range(n)]


def _run(path: Path, total: float, backend=None, *, seed: int = 0, unit: str = "tokens", queries=None,
         force: bool = False):
    queries = queries or arith(30)
    plan = ip.fixed_plan(5, temperatures=(1.0,), max_tokens=CAP)
    cap = CAP if unit == "tokens" else 1
    journal = TotalJournal(path, journal_header(plan, queries, unit=unit, cap=cap, seed=seed, max_samples=5,
                                                system=None), force=force)
    try:
        return run_total_budget(queries, backend or FakeBackend(), plan, total, unit=unit, journal=journal,
                                overrides=PlanOverrides(seed=seed))
    finally:
        journal.close()


def _records(path: Path) -> tuple[list[tuple[int, int]], list[dict]]:
    lines = [json.loads(x) for x in path.read_text().splitlines()[1:]]
    return [tuple(x["start"]) for x in lines if "start" in x], [x for x in lines if "sample" in x]


def _check_record(path: Path, total: float, cap: float) -> tuple[int, float]:
    """No sample started twice or finished twice; the spend charged (orphans at the cap) within the total."""
    starts, samples = _records(path)
    assert len(starts) == len(set(starts))
    keys = [tuple(s["sample"]) for s in samples]
    assert len(keys) == len(set(keys)) and set(keys) <= set(starts)
    orphans = len(set(starts) - set(keys))
    spend = sum(s["cost"] for s in samples) + cap * orphans
    assert spend <= total
    return orphans, spend


def test_an_interrupted_run_resumes_without_repeating_or_losing_a_sample(tmp_path):
    path, total = tmp_path / "run.jsonl", 300
    with pytest.raises(KeyboardInterrupt):
        _run(path, total, FakeBackend(fail_after=17))
    orphans, spend = _check_record(path, total, CAP)
    assert orphans > 0  # samples were in flight when it stopped
    kept = [tuple(s["sample"]) for s in _records(path)[1]]
    assert len(kept) == 17
    again = FakeBackend()
    run = _run(path, total, again)
    assert run.resumed == 17 and run.orphans == orphans
    asked = [(q.first_index, q.prompt or q.messages[-1]["content"]) for q in again.requests]
    assert len(asked) == len(set(asked))
    _, final = _check_record(path, total, CAP)
    assert run.spent == final <= total and final > total - CAP * 5  # kept full until nothing more fit
    assert sum(a.samples for a in run.answers) == len(_records(path)[1])  # every finished sample counts
    assert sum(a.completion_tokens for a in run.answers) == run.spent
    # Nothing left to spend: a third run reads the record and draws nothing.
    third = FakeBackend()
    assert _run(path, total, third).spent == run.spent and third.requests == []


def test_a_larger_total_spends_only_the_difference(tmp_path):
    path = tmp_path / "run.jsonl"
    first = _run(path, 100)
    more = _run(path, 200)
    assert first.spent <= 100 < more.spent <= 200
    assert more.resumed == sum(a.samples for a in first.answers)


def test_a_torn_last_line_is_dropped(tmp_path):
    path = tmp_path / "run.jsonl"
    with pytest.raises(KeyboardInterrupt):
        _run(path, 300, FakeBackend(fail_after=9))
    with path.open("ab") as f:
        f.write(b'{"sample":[3,')
    run = _run(path, 300)
    assert run.resumed == 9 and path.read_bytes().endswith(b"\n")
    for line in path.read_text().splitlines():
        json.loads(line)
    _check_record(path, 300, CAP)


def test_another_run_is_refused_unless_forced(tmp_path):
    path = tmp_path / "run.jsonl"
    _run(path, 100)
    with pytest.raises(ConflictError, match="seed"):
        _run(path, 100, seed=1)
    with pytest.raises(ConflictError, match="queries"):
        _run(path, 100, queries=arith(31))
    assert _run(path, 100, seed=1, force=True).resumed == 0
    other = tmp_path / "notes.jsonl"
    other.write_text('{"mine": 1}\n')
    with pytest.raises(ConflictError, match="not an inferplan"):
        _run(other, 100)


def test_a_total_of_samples(tmp_path):
    run = _run(tmp_path / "s.jsonl", 20, unit="samples")
    assert run.spent == sum(a.samples for a in run.answers) == 20 and run.unit == "samples"


def test_units_a_total_cannot_hold_are_refused():
    plan = ip.fixed_plan(4)
    unit = lambda p, u=None: total_cost_model(p, u).unit  # noqa: E731
    assert unit(plan) == "tokens" and unit(replace(plan, objective="min-cost")) == "samples"
    planned = replace(plan, objective="max-accuracy")
    refused = {"flops": "no total of it can be kept hard", "latency": "no total of it can be kept hard",
               "usd": "needs a price per completion token", "seconds": "measured seconds per token"}
    for u, text in refused.items():
        with pytest.raises(InvalidValue, match=text):
            total_cost_model(replace(planned, unit=u))
    with pytest.raises(InvalidValue, match="cannot be kept hard where prompt tokens have a price"):
        total_cost_model(replace(planned, unit="usd", price_in=0.1, price_out=0.6))


def test_usd_and_seconds_are_prices_of_the_tokens_generated():
    plan = replace(ip.fixed_plan(4), objective="max-accuracy")
    usd = total_cost_model(replace(plan, unit="usd", price_out=0.6))
    assert sample_cap(usd, 500) == pytest.approx(500 * 0.6 / 1e6) and sample_cost(usd, 20) == pytest.approx(1.2e-5)
    secs = total_cost_model(replace(plan, unit="seconds", seconds_per_token=0.02))
    assert sample_cap(secs, 500) == pytest.approx(10.0) and sample_cost(secs, 20) == pytest.approx(0.4)
    assert total_cost_model(replace(plan, unit="seconds"), seconds_per_token=0.5).seconds_per_token == 0.5


def test_cli_bad_values_are_one_line_and_exit_3(cli, tmp_path):
    q = tmp_path / "q.jsonl"
    q.write_text('{"id": 1, "prompt": "What is 2 + 2?"}\n')
    for args, text in ((["--total-budget", "0"], "--total-budget must be a positive number of tokens"),
                       (["--total-budget", "-5"], "--total-budget must be a positive"),
                       (["-o", str(tmp_path / "r.jsonl")], "-o/--out goes with --total-budget"),
                       (["--total-budget", "100", "--show-samples"], "--show-samples does not go")):
        res = cli("run", "--input", str(q), *args)
        assert res.code == 3, (args, res.err)
        assert text in res.err and len(res.err.strip().splitlines()) == 1
    assert cli("run", "--input", str(q), "--total-budget", "lots").code == 2


@pytest.mark.slow
def test_kill_9_mid_run_then_rerun_spends_within_the_total(tmp_path):
    """Really SIGKILL `inferplan run --total-budget` on the embedded model, then rerun it to the end."""
    questions, record, total, cap = tmp_path / "q.jsonl", tmp_path / "run.jsonl", 2_500, 24
    questions.write_text("".join(json.dumps({"id": t.id, "prompt": t.text}) + "\n"
                                 for t in builtin_set("arith:200").tasks))
    cmd = [sys.executable, "-m", "inferplan", "run", "--input", str(questions), "-n", "6", "-t", "0.8",
           "--max-tokens", str(cap), "--total-budget", str(total), "--threads", "1", "--parallel", "4",
           "--ctx", "1024", "-o", str(record), "--json"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    kill_once_written(cmd, record, 1 + 60, env, poll=0.02)
    killed = len(_records(record)[1])
    assert killed >= 20
    _check_record(record, total, cap)
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    out = [json.loads(x) for x in done.stdout.splitlines()]
    rows, summary = out[:-1], out[-1]["summary"]
    assert [r["id"] for r in rows] == [t.id for t in builtin_set("arith:200").tasks]  # each once, none lost
    orphans, spend = _check_record(record, total, cap)
    assert summary["resumed_samples"] == killed and summary["unrecorded_samples"] == orphans
    assert summary["spent"] == spend <= total and spend > total - cap * 5
    assert summary["samples"] == sum(r["samples"] for r in rows) == len(_records(record)[1])
    assert sum(r["completion_tokens"] for r in rows) == spend  # every token, the unrecorded ones at the cap
    assert summary["unsettled"] == sum(not r["settled"] for r in rows) > 0
