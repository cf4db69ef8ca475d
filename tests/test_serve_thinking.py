"""A plan with a thinking budget through `inferplan serve` (issue 30): on the engine, and in
front of an upstream OpenAI-compatible server (a real llama-cpp-python server), where the
budget is applied by continuing the sample's text with the answer prompt on /completions.

The `openai` client asks; the reply's `inferplan.thinking` must show every sample stopped
thinking at the budget and the ones that reached it made to answer.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from inferplan.policy.stopping import parse_rule
from plan_server import PlanServer
from servers import LlamaServer

openai = pytest.importorskip("openai")
pytestmark = pytest.mark.slow

BUDGET = 10  # thinking tokens: far below what the embedded model writes for these questions
FORCE = "\n\nTherefore, the final answer is"
QUESTION = "A farmer has 23 cows and buys 19 more. How many cows does he have now? Let's think step by step."


@pytest.fixture(scope="module")
def thinking_plan(tmp_path_factory) -> Path:
    from inferplan.cli.main import main

    root = tmp_path_factory.mktemp("serve-thinking")
    profile, plan = root / "profile.jsonl", root / "plan.json"
    # A raw prompt (no few-shot stop): the model writes on past the budget, and on a server the
    # forced answer goes through /completions, which every OpenAI-compatible server has.
    assert main(["profile", "--limit", "6", "--samples", "3", "-t", "0.7", "--template", "raw", "--max-tokens", "24",
                 "-o", str(profile)]) == 0
    assert main(["plan", str(profile), "--budget", "200", "--unit", "tokens", "-o", str(plan)]) == 0
    doc = json.loads(plan.read_text())
    rule = parse_rule("fixed:8")  # eight samples: several write past the budget
    doc["stopping"] = {**rule.to_json(), "spec": rule.spec}
    doc["thinking"], doc["max_tokens"] = {"text": FORCE, "answer_tokens": 8}, BUDGET
    plan.write_text(json.dumps(doc))
    return plan


def _ask(server: PlanServer) -> dict:
    client = openai.OpenAI(base_url=server.url, api_key="none", max_retries=0, timeout=120)
    reply = client.chat.completions.create(model="x", messages=[{"role": "user", "content": QUESTION}], seed=4)
    assert reply.choices[0].message.content is not None
    return reply.model_extra["inferplan"]


def _check_budget_applied(extra: dict) -> None:
    thinking = extra["thinking"]
    assert extra["samples"] == 8 and len(thinking["thinking_tokens"]) == 8
    assert all(t <= BUDGET for t in thinking["thinking_tokens"])
    assert "length" not in thinking["finishes"]  # a sample at the budget is made to answer, never just cut
    assert thinking["forced"] == thinking["finishes"].count("forced") >= 1


def test_serve_runs_a_thinking_budget_plan_on_the_engine(thinking_plan: Path) -> None:
    server = PlanServer(thinking_plan).start()
    try:
        _check_budget_applied(_ask(server))
    finally:
        assert server.stop() in (0, 130), server.stderr


def test_serve_applies_the_budget_on_an_upstream_server_by_continuation(thinking_plan: Path, tmp_path: Path) -> None:
    from inferplan.backends.embedded import embedded_model_path

    upstream = LlamaServer(embedded_model_path(), log=tmp_path / "upstream.log").start()
    server = PlanServer(thinking_plan, "--model", upstream.url, "--model-mismatch", "ok", "--parallel", "4").start()
    try:
        _check_budget_applied(_ask(server))
    finally:
        server.stop()
        upstream.stop()
