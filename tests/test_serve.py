"""`inferplan serve` with the official `openai` client: a real server, the embedded model, a real plan.

One small real profile is made per module and planned by the real planner; the
server runs the plan with its stopping rule replaced where a test needs many or
long samples (a client that gives up must find something still running).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from inferplan.planner.plan_file import load_plan
from inferplan.policy.stopping import parse_rule
from plan_server import PlanServer, ask_at_once
from servers import LlamaServer

openai = pytest.importorskip("openai")
pytestmark = pytest.mark.slow

KEY = "test-key-7f3a"
QUESTION = "What is 23 + 19?"


@pytest.fixture(scope="module")
def plan_file(tmp_path_factory) -> Path:
    from inferplan.cli.main import main

    root = tmp_path_factory.mktemp("serve")
    profile = root / "profile.jsonl"
    assert main(["profile", "--limit", "12", "--samples", "6", "--temperatures", "0.4,1.0", "-o", str(profile)]) == 0
    plan = root / "plan.json"
    assert main(["plan", str(profile), "--budget", "400", "--unit", "tokens", "-o", str(plan)]) == 0
    return plan


def _variant(plan_file: Path, name: str, rule: str, max_tokens: int | None = None) -> Path:
    data = load_plan(plan_file).to_json()
    r = parse_rule(rule)
    data["stopping"] = {**r.to_json(), "spec": r.spec}
    if max_tokens is not None:
        data["max_tokens"] = max_tokens
    out = plan_file.with_name(name)
    out.write_text(json.dumps(data))
    return out


@pytest.fixture(scope="module")
def server(plan_file: Path):
    # beta:0.9 stops early on agreement; max 12 samples of at most 24 tokens keeps requests short.
    plan = _variant(plan_file, "beta.json", "beta:0.9,max=12", max_tokens=24)
    s = PlanServer(plan, "--api-key-env", "SERVE_KEY", env={"SERVE_KEY": KEY}).start()
    yield s
    assert s.stop() in (0, 130), s.stderr


@pytest.fixture(scope="module")
def client(server: PlanServer):
    return openai.OpenAI(base_url=server.url, api_key=KEY, max_retries=0, timeout=60)


def _extra(reply) -> dict:
    return reply.model_extra["inferplan"]


def test_chat_reply_is_a_sample_of_the_winning_answer(client) -> None:
    reply = client.chat.completions.create(model="anything", messages=[{"role": "user", "content": QUESTION}],
                                           temperature=0.0, seed=5)
    extra = _extra(reply)
    assert reply.object == "chat.completion" and len(reply.choices) == 1
    assert 1 <= extra["samples"] <= 12 and sum(extra["votes"].values()) <= extra["samples"]
    if extra["answer"] is not None:
        assert extra["votes"][extra["answer"]] == max(extra["votes"].values())
        assert extra["answer"] in reply.choices[0].message.content
    assert extra["ignored"] == ["temperature", "model"]  # the plan chose the temperatures
    assert reply.usage.completion_tokens == extra["completion_tokens"] + extra["wasted_tokens"]
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens
    assert extra["rule"].startswith("beta:0.9") and extra["stop_reason"] in ("rule", "max-samples")
    again = client.chat.completions.create(model="x", messages=[{"role": "user", "content": QUESTION}], seed=5)
    assert _extra(again)["votes"] == extra["votes"]  # a request's own seed reproduces its samples


def test_completions_and_streaming(client) -> None:
    reply = client.completions.create(model="x", prompt="Question: What is 7 + 8?\nAnswer:", max_tokens=10, seed=3)
    assert reply.object == "text_completion" and reply.choices[0].text
    assert reply.usage.completion_tokens <= 10 * _extra(reply)["samples"] + _extra(reply)["wasted_tokens"]
    plain = client.chat.completions.create(model="x", messages=[{"role": "user", "content": QUESTION}], seed=9)
    chunks = list(client.chat.completions.create(model="x", messages=[{"role": "user", "content": QUESTION}],
                                                 seed=9, stream=True, stream_options={"include_usage": True}))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == plain.choices[0].message.content
    assert chunks[-1].usage.completion_tokens == plain.usage.completion_tokens
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] in ("stop", "length")


def test_as_profiled_asks_with_the_plans_template(client) -> None:
    sent = client.chat.completions.create(model="x", messages=[{"role": "user", "content": QUESTION}], seed=1,
                                          extra_body={"inferplan": {"prompts": "as-sent"}})
    profiled = client.chat.completions.create(model="x", messages=[{"role": "user", "content": QUESTION}], seed=1,
                                              extra_body={"inferplan": {"prompts": "as-profiled"}})
    assert profiled.usage.prompt_tokens > sent.usage.prompt_tokens + 20  # the built-in set's few-shot template
    # The plan's template is not chat, so by default the server asks as profiled, and the
    # reply's content is the winning sample, cut at the template's stop: the answer itself.
    default = client.chat.completions.create(model="x", messages=[{"role": "user", "content": QUESTION}], seed=1)
    assert default.usage.prompt_tokens == profiled.usage.prompt_tokens
    extra = _extra(default)
    assert extra["answer"] is not None and extra["answer"] in default.choices[0].message.content
    assert default.choices[0].finish_reason == "stop"
    with pytest.raises(openai.BadRequestError, match="exactly one user message"):
        client.chat.completions.create(model="x", extra_body={"inferplan": {"prompts": "as-profiled"}}, messages=[
            {"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"},
            {"role": "user", "content": QUESTION}])


def test_concurrent_requests_share_the_engine(client, server: PlanServer) -> None:
    before = server.health()
    replies = ask_at_once(client, [f"What is {i} + {2 * i}?" for i in range(8)], timeout=120)
    assert all(_extra(r)["samples"] >= 1 for r in replies)
    after = server.health()
    assert after["answered"] - before["answered"] == 8 and after["active"] == after["waiting"] == 0
    assert after["peak_active"] > 1  # requests from different clients were decoding in one batch


def test_bad_requests_get_openai_errors(client, server: PlanServer) -> None:
    with pytest.raises(openai.BadRequestError, match="n must be 1"):
        client.chat.completions.create(model="x", messages=[{"role": "user", "content": QUESTION}], n=2)
    with pytest.raises(openai.BadRequestError, match="max_tokens must be a positive integer"):
        client.chat.completions.create(model="x", messages=[{"role": "user", "content": QUESTION}], max_tokens=0)
    with pytest.raises(openai.BadRequestError, match="token-id prompts"):
        client.completions.create(model="x", prompt=[1, 2, 3])
    with pytest.raises(openai.BadRequestError, match="log-likelihood"):
        client.completions.create(model="x", prompt="a", echo=True, logprobs=1)
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=server.url, api_key="wrong", max_retries=0).models.list()
    raw = httpx.post(server.url + "/chat/completions", content=b"{not json",
                     headers={"Authorization": f"Bearer {KEY}"})
    assert raw.status_code == 400 and raw.json()["error"]["type"] == "invalid_request_error"
    assert httpx.get(server.url + "/nothing").status_code == 404
    assert [m.id for m in client.models.list().data] == ["smollm2"]


def test_a_client_that_leaves_cancels_its_samples(plan_file: Path) -> None:
    # 64 samples of up to 200 tokens: several seconds of work, so the client gives up first.
    plan = _variant(plan_file, "long.json", "fixed:64", max_tokens=200)
    server = PlanServer(plan, "--request-timeout", "60").start()
    try:
        impatient = openai.OpenAI(base_url=server.url, api_key="none", max_retries=0, timeout=1.0)
        with pytest.raises(openai.APITimeoutError):
            impatient.chat.completions.create(model="x", messages=[{"role": "user", "content": "Tell a long story."}])
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and server.health()["cancelled"] == 0:
            time.sleep(0.1)
        health = server.health()
        assert health["cancelled"] == 1 and health["active"] == 0 and health["answered"] == 0
        # the engine is free again: a short request is answered at once
        quick = openai.OpenAI(base_url=server.url, api_key="none", max_retries=0, timeout=60)
        reply = quick.chat.completions.create(model="x", messages=[{"role": "user", "content": QUESTION}],
                                              max_tokens=4)
        assert _extra(reply)["samples"] == 64 and reply.usage.completion_tokens <= 64 * 4
        # a streaming client that leaves is found out at the next keep-alive comment
        with httpx.stream("POST", server.url + "/chat/completions", timeout=30, json={
                "messages": [{"role": "user", "content": "Tell another long story."}], "stream": True}) as r:
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and server.health()["cancelled"] < 2:
            time.sleep(0.2)
        health = server.health()
        assert health["cancelled"] == 2 and health["active"] == 0
    finally:
        server.stop()


def test_a_request_past_its_timeout_is_cancelled_with_504(plan_file: Path) -> None:
    plan = _variant(plan_file, "slow.json", "fixed:64", max_tokens=200)
    server = PlanServer(plan, "--request-timeout", "0.5").start()
    try:
        client = openai.OpenAI(base_url=server.url, api_key="none", max_retries=0, timeout=60)
        with pytest.raises(openai.APIStatusError) as caught:
            client.chat.completions.create(model="x", messages=[{"role": "user", "content": "Tell a long story."}])
        assert caught.value.status_code == 504 and "did not finish within 0.5 s" in str(caught.value)
        deadline = time.monotonic() + 20  # the cancel reaches the engine's worker just after the reply
        while time.monotonic() < deadline and server.health()["cancelled"] == 0:
            time.sleep(0.1)
        assert server.health()["cancelled"] == 1
    finally:
        server.stop()


def test_serve_in_front_of_an_upstream_server(plan_file: Path, tmp_path: Path) -> None:
    """openai client → inferplan serve → a real llama-cpp-python server: the plan runs on the upstream."""
    from inferplan.backends.embedded import embedded_model_path

    upstream = LlamaServer(embedded_model_path(), log=tmp_path / "upstream.log").start()
    plan = _variant(plan_file, "upstream.json", "beta:0.9,max=6", max_tokens=16)
    refused = subprocess.run([sys.executable, "-m", "inferplan", "serve", "--plan", str(plan), "--port", "0",
                              "--model", upstream.url], capture_output=True, text=True, timeout=120)
    assert refused.returncode == 4 and "cannot check" in refused.stderr and "--model-mismatch ok" in refused.stderr
    # The same weights behind a server: the user vouches for them, and is warned.
    server = PlanServer(plan, "--model", upstream.url, "--model-mismatch", "ok", "--parallel", "4").start()
    assert "predictions do not apply" in server.log.read_text()
    try:
        client = openai.OpenAI(base_url=server.url, api_key="none", max_retries=0, timeout=120)
        reply = client.chat.completions.create(model="x", messages=[{"role": "user", "content": QUESTION}], seed=2)
        extra = _extra(reply)
        assert 1 <= extra["samples"] <= 6 and reply.choices[0].message.content
        assert server.health()["answered"] == 1
    finally:
        server.stop()
        upstream.stop()
