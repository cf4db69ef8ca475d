"""Thinking budgets applied by the server's own knob (issue 30): llama-server and vLLM.

Neither server can run in the tests, so a stdlib server plays each one and records the exact
request bodies: what the budget makes the backend send, and how the reply — shaped as build
11434 of llama-server sends it (checked for real, docs/thinking-budgets.md) and as vLLM's
reasoning parser splits it — is read into the fields the continuation fills. The continuation
itself is tested against a real llama-cpp-python server (test_forcing_openai.py,
test_serve_thinking.py); the knob against a real llama-server in test_llama_server_budget below
when a build is at hand, and for the note by benchmarks/llama_server_thinking.py.
"""

from __future__ import annotations

import pytest

from inferplan.backends import BackendSettings, SampleRequest
from inferplan.backends.openai.backend import OpenAIBackend
from inferplan.errors import BackendError
from scripted_http import ScriptedServer, completion_reply

FORCE = "\n\nTherefore, the final answer is"
QUESTION = ({"role": "user", "content": "What is 3 + 5?"},)
CUT = FORCE + "</think>"
# The forced text as the server's tokenizer splits it (llama-server's /tokenize): 10 tokens.
CUT_PIECES = ["\n\n", "Therefore", ",", " the", " final", " answer", " is", "</", "think", ">"]


def _request(**kw) -> SampleRequest:
    return SampleRequest(messages=QUESTION, n=kw.pop("n", 1), temperatures=(0.7,), seeds=(5,),
                         max_tokens=kw.pop("max_tokens", 4), force_answer=FORCE, answer_tokens=6, **kw)


def _llama_server(pieces: list[str], finish: str, template_opens: bool = True):
    """llama-server (build 11434) with a thinking template: its sample replies send ``pieces``
    back (the text whole, the generation prompt's ``<think>`` echoed first, as with
    ``reasoning_format: none``), with per-token logprobs."""

    def handler(path: str, body: dict | None):
        if path.endswith("/models"):
            return 200, {"data": [{"id": "m", "owned_by": "llamacpp"}]}, {}
        if path == "/apply-template":
            return 200, {"prompt": "<|im_start|>assistant\n" + ("<think>" if template_opens else "")}, {}
        if path == "/tokenize":
            return 200, {"tokens": list(range(len(CUT_PIECES)))}, {}
        if body.get("max_tokens") == 1:  # the n probe: one choice only, as llama-server
            return 200, completion_reply(body), {}
        logprobs = {"content": [{"token": p, "logprob": -0.5} for p in pieces]}
        message = {"role": "assistant", "content": "<think>" + "".join(pieces)}
        choice = {"index": 0, "message": message, "finish_reason": finish, "logprobs": logprobs}
        return 200, {"choices": [choice], "usage": {"prompt_tokens": 20, "completion_tokens": len(pieces)}}, {}

    return handler


def _sample(srv, request: SampleRequest) -> list:
    backend = OpenAIBackend(srv.url, BackendSettings(parallel=2, timeout=30.0))
    try:
        return list(backend.sample([request]))
    finally:
        backend.close()


def _samples_sent(srv) -> list[dict]:
    return [b for p, b, _ in srv.requests if p.endswith("/chat/completions") and b.get("max_tokens") != 1]


def test_llama_server_cuts_the_thinking_itself_and_the_reply_is_read_at_the_cut() -> None:
    thinking = ["Janet", " has", " 3", "."]  # the budget: 4 tokens
    answer = [" ", "8", ".\n", "Next", " line"]  # run on past its line break, up to max_tokens
    request = _request(n=2)
    with ScriptedServer(_llama_server(thinking + CUT_PIECES + answer, "length")) as srv:
        samples = _sample(srv, request)
    sent = _samples_sent(srv)
    assert len(sent) == 2  # one request a sample, each its own seed; and no continuation
    assert sorted(b["seed"] for b in sent) == [request.seed(0), request.seed(1)]
    body = sent[0]
    assert body["reasoning_budget_tokens"] == 4 and body["reasoning_budget_message"] == FORCE
    assert body["reasoning_format"] == "none" and body["messages"] == list(QUESTION)
    assert body["max_tokens"] == 4 + len(CUT_PIECES) + 6  # budget + forced text + answer tokens
    for c in samples:
        assert c.finish == "forced" and c.text == "Janet has 3." + CUT + " 8."
        assert c.thinking_tokens == 4 and c.completion_tokens == 4 + len(CUT_PIECES) + len(answer)
        assert c.forced.depth == 4 and c.forced.text == CUT + " 8." and c.forced.ended
        assert c.answer_text == CUT + " 8."


def test_a_thinking_that_ends_by_itself_is_a_plain_sample_and_one_cut_by_max_tokens_is_censored() -> None:
    natural = ["3", "+", "5", "</", "think", ">", " 8", "."]
    with ScriptedServer(_llama_server(natural, "stop")) as srv:
        [c] = _sample(srv, _request())
    assert c.finish == "stop" and c.forced is None and c.text == "3+5</think> 8."
    with ScriptedServer(_llama_server(natural[:-1], "length")) as srv:
        [c] = _sample(srv, _request())
    assert c.finish == "length" and c.forced is None  # censored: no vote, never scored wrong


def test_a_forced_answer_that_runs_out_of_answer_tokens_is_marked_unended() -> None:
    with ScriptedServer(_llama_server(["a", "b", "c", "d"] + CUT_PIECES + [" the", " sum", " of"], "length")) as srv:
        [c] = _sample(srv, _request())
    assert c.finish == "forced" and not c.forced.ended and c.forced.text == CUT + " the sum of"


def test_a_template_that_opens_no_thinking_block_keeps_the_continuation() -> None:
    with ScriptedServer(_llama_server(["I", " think"], "length", template_opens=False)) as srv:
        backend = OpenAIBackend(srv.url, BackendSettings(parallel=1, timeout=30.0))
        try:
            stream = backend.sample([_request()])
            assert backend.knobs == {FORCE: None}
            stream.cancel_all()
        finally:
            backend.close()
    assert not any("reasoning_budget_tokens" in b for b in _samples_sent(srv))


def test_thinking_cut_client_keeps_the_continuation_on_a_server_with_the_knob() -> None:
    """--thinking-cut client: the forcing the in-process engine does, even where the server could cut."""
    with ScriptedServer(_llama_server(["I", " think"], "length")) as srv:
        backend = OpenAIBackend(srv.url, BackendSettings(parallel=1, timeout=30.0, thinking_cut="client"))
        try:
            stream = backend.sample([_request()])
            assert backend.knobs == {}  # never asked: no /apply-template probe either
            stream.cancel_all()
        finally:
            backend.close()
    assert not any("reasoning_budget_tokens" in b for b in _samples_sent(srv))
    assert not any(p == "/apply-template" for p, _, _ in srv.requests)


def test_a_budget_the_server_did_not_apply_is_one_clear_line() -> None:
    with ScriptedServer(_llama_server(["x"] * 20, "length")) as srv, pytest.raises(BackendError, match="did not apply"):
        _sample(srv, _request())


def _vllm(reasoning_tokens: int | None, reasoning: str, content: str, finish: str):
    """vLLM behind a reasoning parser: the thinking in ``reasoning``, the answer in ``content``."""

    def handler(path: str, body: dict | None):
        if path.endswith("/models"):
            return 200, {"data": [{"id": "m", "owned_by": "vllm"}]}, {}
        if body.get("max_tokens") == 1:  # the n probe: vLLM honours n
            return 200, completion_reply(body, honour_n=True), {}
        usage = {"prompt_tokens": 20, "completion_tokens": 30}
        if reasoning_tokens is not None:
            usage["completion_tokens_details"] = {"reasoning_tokens": reasoning_tokens}
        message = {"role": "assistant", "reasoning": reasoning, "content": content}
        return 200, {"choices": [{"index": 0, "message": message, "finish_reason": finish}], "usage": usage}, {}

    return handler


def test_vllm_gets_its_thinking_token_budget_once_a_probe_shows_a_reasoning_parser() -> None:
    with ScriptedServer(_vllm(24, "Janet has 3", "\n\n8.\nmore", "stop")) as srv:
        [c] = _sample(srv, _request(max_tokens=24))
    probe, body = _samples_sent(srv)
    assert probe["thinking_token_budget"] == 1 and probe["temperature"] == 0.0
    assert body["thinking_token_budget"] == 24 and body["max_tokens"] == 24 + 16 + 6
    assert "reasoning_budget_message" not in body  # vLLM forces the end string it was started with
    assert c.finish == "forced" and c.thinking_tokens == 24 and c.completion_tokens == 30
    assert c.text == "Janet has 3</think>\n\n8." and c.forced.text == "</think>\n\n8."


def test_vllm_thinking_under_the_budget_is_a_plain_sample() -> None:
    with ScriptedServer(_vllm(10, "3+5", " 8.", "stop")) as srv:
        [c] = _sample(srv, _request(max_tokens=24))
    assert c.finish == "stop" and c.forced is None and c.text == "3+5</think> 8."


@pytest.mark.slow
def test_llama_server_budget(tmp_path) -> None:
    """The knob for real, where llama.cpp's llama-server is built (benchmarks/llama_server.py):
    the embedded model (ChatML, like Qwen) under a template that opens a thinking block."""
    import sys
    from pathlib import Path

    from inferplan.backends.embedded import embedded_model_path

    benchmarks = Path(__file__).resolve().parent.parent / "benchmarks"
    sys.path.insert(0, str(benchmarks))
    from llama_server import LlamaCppServer, find_llama_server

    binary = find_llama_server()
    if binary is None or not binary.exists():
        pytest.skip("no llama-server build (python benchmarks/llama_server.py --build)")
    server = LlamaCppServer(binary, embedded_model_path(), slots=1, ctx=512, threads=1,
                            extra=("--chat-template-file", str(benchmarks / "qwen_think.jinja")))
    try:
        backend = OpenAIBackend(server.url + "/v1", BackendSettings(parallel=1, timeout=120.0))
        try:
            samples = list(backend.sample([_request(n=3, max_tokens=8)]))
            assert backend.knobs[FORCE].kind == "llamacpp"
        finally:
            backend.close()
    finally:
        server.stop()
    forced = [c for c in samples if c.finish == "forced"]
    assert forced  # eight tokens are far below what the model writes
    for c in forced:  # the server's sampler cut at the budget: its message, then the end tag
        assert c.thinking_tokens == 8 and c.forced.text.startswith(CUT)
        assert c.completion_tokens <= 8 + backend.knobs[FORCE].forced_tokens + 6
