"""A sample cut off at the token cap can count as an abstention (issue 14, point 6): its
last number is usually a reasoning step, not the answer. The default for the free-form
chat template; profile, plan and run --plan all read it the same way."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from inferplan.errors import InputError
from inferplan.tasks.prompt_spec import PromptSpec
from inferplan.tasks.task_grader import TaskGrader
from inferplan.tasks.taskset import load_tasks


def test_grader_and_prompt_spec_agree_on_cut_off_samples() -> None:
    tasks = load_tasks("builtin:arith:3")
    task = tasks.tasks[0]
    text = f"Let me add step by step: first {task.answer}"  # cut before the real answer
    assert TaskGrader(tasks).grade(task, text, "length").answer is not None  # grade: the text's number
    cut = TaskGrader(tasks, truncated="abstain").grade(task, text, "length")
    assert cut.answer is None and not cut.correct
    assert TaskGrader(tasks, truncated="abstain").grade(task, text, "stop").answer is not None
    spec = PromptSpec(grader="numeric", truncated="abstain")
    assert spec.read_answer(text, "length") is None and spec.read_answer(text, "stop") is not None
    assert PromptSpec.from_json(spec.to_json()) == spec  # kept in the plan file
    assert "truncated" not in PromptSpec(grader="numeric").to_json()  # older plans read unchanged
    with pytest.raises(InputError):
        TaskGrader(tasks, truncated="maybe")
    with pytest.raises(InputError):
        PromptSpec(grader="numeric", truncated="maybe")


@pytest.mark.slow
def test_profile_then_plan_then_run_abstain_on_cut_samples(cli, tmp_path: Path) -> None:
    out = tmp_path / "p.jsonl"
    r = cli("profile", "--tasks", "builtin:arith:6", "--template", "chat", "-t", "0.8", "-n", "4",
            "--max-tokens", "24", "--threads", "1", "-o", out)
    assert r.code == 0, r.err
    lines = out.read_text().splitlines()
    header, records = json.loads(lines[0]), [json.loads(x) for x in lines[1:]]
    assert header["grader"]["truncated"] == "abstain"  # the chat template's default
    cut = [x for x in records if x["finish"] == "length"]
    assert cut and all(x["answer"] is None and not x["correct"] for x in cut)
    shown = cli("profile", "show", out)
    assert shown.code == 0 and "counted as abstentions" in shown.err
    plan = tmp_path / "plan.json"
    assert cli("plan", out, "--budget", "2", "--unit", "samples", "--holdout", "0", "-o", plan).code == 0
    assert json.loads(plan.read_text())["prompt"]["truncated"] == "abstain"
    # Two tokens (a tightening of the plan's cap) cut a chat answer for sure, whatever it samples.
    r = cli("run", "What is 12 + 30?", "--plan", plan, "--json", "--show-samples", "--threads", "1",
            "--max-tokens", "2")
    assert r.code == 0, r.err
    details = json.loads(r.out.splitlines()[0])["sample_details"]
    assert any(d["finish"] == "length" for d in details)
    assert all(d["answer"] is None for d in details if d["finish"] == "length")
