"""lm-evaluation-harness, for real: it evaluates a local task through `inferplan serve`, and its
``--log_samples`` output becomes a profile.

The task is a YAML over a local JSONL (``dataset_path: json``), so nothing is downloaded.
``FIXTURE`` is a committed samples file made by a real lm-eval run with genuine sampling
(see ``tests/fixtures/lmeval/README.md`` for the command).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lmeval_task import write_task
from plan_server import PlanServer

pytest.importorskip("lm_eval")

FIXTURE = Path(__file__).parent / "fixtures" / "lmeval"


def _task_dir(root: Path, repeats: int) -> Path:
    from inferplan.tasks.builtin import builtin_set

    return write_task(root, "inferplan_arith", builtin_set("arith").tasks[:20], repeats=repeats)


def _lm_eval(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1", "OPENAI_API_KEY": "unused"}
    return subprocess.run([sys.executable, "-m", "lm_eval", *args], capture_output=True, text=True, env=env,
                          timeout=600)


@pytest.mark.slow
def test_lm_eval_evaluates_through_inferplan_serve_and_its_samples_import(cli, tmp_path: Path) -> None:
    profile = tmp_path / "profile.jsonl"
    assert cli("profile", "--limit", "12", "--samples", "6", "--temperatures", "0.4,1.0", "-o", str(profile)).code == 0
    plan = tmp_path / "plan.json"
    assert cli("plan", str(profile), "--budget", "300", "--unit", "tokens", "-o", str(plan)).code == 0
    tasks = _task_dir(tmp_path / "task", repeats=2)
    server = PlanServer(plan).start()
    try:
        run = _lm_eval("--model", "local-chat-completions",
                       "--model_args", f"base_url={server.url}/chat/completions,model=smollm2,num_concurrent=4",
                       "--tasks", "inferplan_arith", "--include_path", str(tasks), "--limit", "6",
                       "--apply_chat_template", "--log_samples", "--output_path", str(tmp_path / "out"))
        health = server.health()
    finally:
        server.stop()
    assert run.returncode == 0, run.stderr[-3000:]
    assert health["answered"] == 12 and health["failed"] == 0  # 6 documents × 2 repeats, each one planned query
    samples = next((tmp_path / "out").rglob("samples_inferplan_arith_*.jsonl"))
    imported = tmp_path / "imported.jsonl"
    result = cli("import", "lm-eval", str(samples), "-o", str(imported), "--model", "smollm2", "--json")
    assert result.code == 0, result.err
    summary = result.json()
    assert summary["problems"] == 6 and summary["records"] == 12
    # lm-eval sends every repeat with seed 1234; the server honours it, so the repeats are one sample twice
    assert any("identical repeats" in n for n in summary["notes"])


def test_import_of_a_real_sampled_run_matches_lm_evals_own_grades(cli, tmp_path: Path) -> None:
    samples = next(FIXTURE.glob("samples_*.jsonl"))
    rows = [json.loads(line) for line in samples.read_text().splitlines()]
    out = tmp_path / "p.jsonl"
    result = cli("import", "lm-eval", str(samples), "-o", str(out), "--json")
    assert result.code == 0, result.err
    records = [json.loads(line) for line in out.read_text().splitlines()[1:]]
    first = [r for r in rows if r["filter"] == "first-number"]
    assert result.json()["records"] == sum(len(r["resps"][0]) for r in first) == len(records)
    by_problem = {}
    for rec in records:
        by_problem.setdefault(rec["problem"], []).append(rec)
    for row in first:  # repeat 0 is what lm-eval graded: same answer, same verdict
        rec0 = by_problem[row["doc"]["id"]][0]
        shown = row["filtered_resps"][0]
        assert rec0["answer"] == (None if shown == "[invalid]" else shown)
        assert float(rec0["correct"]) == row["exact_match"]
    assert any(r["correct"] for r in records[1:]) and records[0]["completion_tokens"] is None
    vote = cli("import", "lm-eval", str(samples), "-o", str(tmp_path / "v.jsonl"), "--filter", "last-number-vote",
               "--model", "smollm2", "--json")
    assert vote.code == 0, vote.err
    tokens = [json.loads(line)["completion_tokens"] for line in (tmp_path / "v.jsonl").read_text().splitlines()[1:]]
    assert all(isinstance(t, int) and t >= 0 for t in tokens) and max(tokens) > 1
    fitted = cli("fit", str(out), "--json")
    assert fitted.code == 0, fitted.err


def test_import_refuses_what_it_cannot_reproduce(cli, tmp_path: Path) -> None:
    samples = next(FIXTURE.glob("samples_*.jsonl"))
    bad = tmp_path / samples.name
    rows = [json.loads(line) for line in samples.read_text().splitlines()]
    rows[0]["filtered_resps"] = ["not what the filter gives"]
    bad.write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = cli("import", "lm-eval", str(bad), "-o", str(tmp_path / "p.jsonl"))
    assert result.code == 3 and "the results_" in result.err  # no results file beside the copy
    results = next(FIXTURE.glob("results_*.json"))
    (tmp_path / results.name).write_text(results.read_text())
    result = cli("import", "lm-eval", str(bad), "-o", str(tmp_path / "p.jsonl"))
    assert result.code == 3 and "the filter re-applied gives" in result.err
    assert not (tmp_path / "p.jsonl").exists()
    wrong = cli("import", "lm-eval", str(samples), "-o", str(tmp_path / "q.jsonl"), "--filter", "nope")
    assert wrong.code == 3 and "no filter 'nope'" in wrong.err
